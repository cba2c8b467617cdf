"""A process with many recorders (one per agent instance, request or task): one exit hook flushes them all, one local
service serves them, and idle workers end. The first test runs such an agent as its own process."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent_postmortem.config import Settings
from agent_postmortem.sdk import process, recorder
from agent_postmortem.sdk.recorder import Recorder
from agent_postmortem.service.runtime import build_service
from tests.factories import make_service
from tests.processes import run_agent_script

MANY_RECORDERS = r"""
from agent_postmortem import Recorder


class Quick:  # a store that answers at once: the test is about the hooks, not the store
    def capture_incident(self, data):
        return type("Stored", (), {"id": "INC-0"})()


for n in range(3000):  # a recorder per request, as agent code may make them
    Recorder(agent=f"worker-{n}", service=Quick).capture(RuntimeError("upstream 503"), tool="fares.search")

crash = Recorder(agent="refund-bot", wait_on_error=0)


@crash.watch(tool="payments.refund")
def refund():
    raise RuntimeError("payments.refund returned 502 Bad Gateway")


refund()
"""


FORKING_AGENT = r"""
import multiprocessing, os, sys
from agent_postmortem import Recorder

recorder = Recorder(agent="pre-fork")


@recorder.watch(tool="fares.search")
def search(worker):
    raise RuntimeError(f"fares.search failed in worker {worker}")


def work(worker):
    try:
        search(worker)
    except RuntimeError:
        return worker


work("parent")  # the parent captures first: its writer thread, its store and the model's threads exist at the fork
assert recorder.flush(120)
children = []
for n in range(2):  # a pre-fork server's workers; they end without exit hooks, as multiprocessing's children do
    pid = os.fork()
    if pid == 0:
        work(f"forked-{n}")
        os._exit(0 if recorder.flush(60) else 3)
    children.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
with multiprocessing.get_context("fork").Pool(2) as pool:
    pool.map(work, ["pool-0", "pool-1"])
sys.exit(max(codes))
"""


@pytest.mark.slow
def test_failures_in_forked_workers_of_a_recorder_that_already_captured_are_stored(tmp_path: Path) -> None:
    """The child inherited the parent's writer (a thread it does not have), its service and the search's thread
    pools: the child's capture waited for ever on a pool without threads, and freeing the parent's model session
    hung the child at the fork; a pool's worker ended before it, so the failure was lost without a word."""
    done = run_agent_script(tmp_path, FORKING_AGENT, timeout=240, POSTMORTEM_HOME=str(tmp_path / "home"))
    assert done.returncode == 0, done.stderr[-1500:]
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none"}
    service = build_service(Settings.from_env(env))
    stored = [service.get_incident(i.id) for i in service.list_incidents(limit=50).incidents]
    assert sum(i.occurrences for i in stored) == 5, [(i.title, i.error_message) for i in stored]


@pytest.mark.slow
def test_a_crash_after_thousands_of_recorders_is_stored_and_its_traceback_printed_once(tmp_path: Path) -> None:
    done = run_agent_script(tmp_path, MANY_RECORDERS, timeout=300, POSTMORTEM_HOME=str(tmp_path / "home"))
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none"}
    assert done.returncode == 1
    assert "RecursionError" not in done.stderr and "Error in sys.excepthook" not in done.stderr, done.stderr[-1500:]
    assert done.stderr.count("RuntimeError: payments.refund returned 502 Bad Gateway") == 1
    service = build_service(Settings.from_env(env))
    [stored] = service.list_incidents().incidents
    assert service.get_incident(stored.id).tool == "payments.refund"


def test_recorders_on_one_local_store_share_one_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(process, "_services", {})
    monkeypatch.setattr("agent_postmortem.service.runtime.build_service", lambda settings: make_service(tmp_path))
    first, second = Recorder(agent="crm-bot"), Recorder(agent="crm-bot")
    first.capture(TimeoutError("crm.update timed out after 30 s"), tool="crm.update")
    assert first.flush(30)
    second.capture(TimeoutError("crm.update timed out after 30 s"), tool="crm.update")
    assert second.flush(30)
    assert first._service is second._service and len(process._services) == 1
    assert first.captured_ids == second.captured_ids  # one incident, two occurrences


def test_an_idle_worker_ends_and_the_next_capture_starts_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder, "IDLE_SECONDS", 0.1)
    service = make_service(tmp_path)
    watched = Recorder(service=lambda: service)
    before = threading.active_count()
    watched.capture(TimeoutError("crm.update timed out after 30 s"), tool="crm.update")
    assert watched.flush(30)
    deadline = time.monotonic() + 10
    while watched._worker is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watched._worker is None and threading.active_count() <= before
    watched.capture(LookupError("kb.search returned 0 results"), tool="kb.search")
    assert watched.flush(30) and len(set(watched.captured_ids)) == 2


ENDING_AGENT = r"""
import os, signal, sys, time
from agent_postmortem import Recorder

Recorder(agent="crm-sync").capture(RuntimeError("crm.update answered 500"), tool="crm.update")  # then it ends:
how = sys.argv[1]
if how == "sigterm":  # an orchestrator stops it (the default action: nothing else handles SIGTERM)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
elif how == "sys.exit":
    sys.exit(3)
"""


@pytest.mark.parametrize(("how", "code"), [("end", 0), ("sys.exit", 3), ("sigterm", -15)])
def test_a_capture_queued_just_before_the_agent_ends_is_stored(tmp_path: Path, how: str, code: int) -> None:
    """A script that captured and then ended (normally or by sys.exit) lost the capture: the exit hook ran after
    threading had shut down, and the writer's first capture could not import its store ("can't register atexit after
    shutdown"); SIGTERM ended the process at once. Each now waits (boundedly) for the queue, and ends as it would."""
    script = tmp_path / "agent.py"
    script.write_text(ENDING_AGENT, encoding="utf-8")
    chosen = {**os.environ, "POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none"}
    done = subprocess.run(
        [sys.executable, str(script), how], env=chosen, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == code and "Traceback" not in done.stderr, done.stderr[-2000:]
    service = build_service(Settings.from_env(chosen))
    [stored] = service.list_incidents().incidents
    assert service.get_incident(stored.id).tool == "crm.update"


THREADED_AGENT = r"""
import os, signal, sys, threading, time
from agent_postmortem import Recorder

class Store:  # a slow store: the captures are still queued when SIGTERM comes
    def capture_incident(self, data):
        time.sleep(0.3)
        with open(sys.argv[1], "a") as out:
            out.write(data.title + "\n")
        return type("Stored", (), {"id": "INC-1"})()

recorder = Recorder(agent="crm-sync", service=Store, wait_on_error=0)

def tool(n):  # every tool runs in a worker thread: no capture is ever made in the main thread
    recorder.capture(RuntimeError(f"crm.update answered 500 ({n})"), tool=f"crm.update{n}")

workers = [threading.Thread(target=tool, args=(n,)) for n in range(3)]
[w.start() for w in workers]
[w.join() for w in workers]
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(30)
"""


def test_sigterm_stores_the_queue_of_an_agent_whose_failures_are_all_in_worker_threads(tmp_path: Path) -> None:
    """The SIGTERM hook was set by the first capture, and only from the main thread: an agent whose tools all run in
    a thread pool never had it, and SIGTERM (an orchestrator stopping it) lost every capture still queued."""
    script, out = tmp_path / "agent.py", tmp_path / "stored.txt"
    script.write_text(THREADED_AGENT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == -signal.SIGTERM, done.stderr[-2000:]
    assert out.exists() and len(out.read_text().splitlines()) == 3


FORK_DURING_FIRST_CAPTURE = r"""
import multiprocessing
from agent_postmortem import Recorder

recorder = Recorder(agent="pool-parent", wait_on_error=0)


def fail(worker):
    try:
        with recorder.watching(tool="fares.search"):
            raise RuntimeError(f"fares.search failed in {worker}")
    except RuntimeError:
        pass


def work(worker):
    fail(worker)
    return recorder.flush(60) and recorder.failed == 0


fail("parent")  # not flushed: the parent's writer is importing the store as the pool forks
with multiprocessing.get_context("fork").Pool(2) as pool:
    assert all(pool.map(work, ["pool-0", "pool-1"])), "a worker's capture failed"
assert recorder.flush(60)
"""


@pytest.mark.slow
def test_a_pool_forked_while_the_parent_still_captures_stores_the_workers_failures(tmp_path: Path) -> None:
    """The fork came while the parent's writer was importing the store: the workers had its modules half made, and
    each of their captures failed with "cannot import name 'Settings' from partially initialized module"."""
    done = run_agent_script(tmp_path, FORK_DURING_FIRST_CAPTURE, timeout=240, POSTMORTEM_HOME=str(tmp_path / "home"))
    assert done.returncode == 0 and "partially initialized" not in done.stderr, done.stderr[-1500:]
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none"}
    service = build_service(Settings.from_env(env))
    assert sum(i.occurrences for i in service.list_incidents(limit=50).incidents) == 3


MISCONFIGURED_AGENT = r"""
from agent_postmortem import Recorder

recorder = Recorder(agent="misconfigured-bot", wait_on_error=0)
for n in range(3):
    recorder.capture(ValueError(f"failure {n}"), tool="crm.update")
recorder.flush()
print(recorder.failed)
"""


@pytest.mark.parametrize(
    ("setting", "rule"),
    [
        ({"POSTMORTEM_LLM": "bogus"}, "POSTMORTEM_LLM must be one of"),
        ({"POSTMORTEM_JUDGE_TIMEOUT": "ten"}, "POSTMORTEM_JUDGE_TIMEOUT must be a number of seconds"),
        ({"OPENAI_BASE_URL": "llm.internal:8000/v1-secretpart"}, "OPENAI_BASE_URL must be a URL"),
    ],
)
def test_a_wrong_setting_in_the_agents_environment_is_one_line_per_capture_not_a_traceback(
    tmp_path: Path, setting: dict[str, str], rule: str
) -> None:
    """Each capture printed the store's 20-line traceback into the agent's log, as for an unexpected error, where
    the setting's rule says all there is to fix."""
    done = run_agent_script(tmp_path, MISCONFIGURED_AGENT, POSTMORTEM_HOME=str(tmp_path / "home"), **setting)
    assert done.returncode == 0 and done.stdout.split() == ["3"], done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert len(lines) == 3 and all(line.startswith("postmortem: a capture was not stored: ") for line in lines), lines
    assert rule in lines[0] and "Traceback" not in done.stderr and "secretpart" not in done.stderr


STUCK_AT_EXIT = r"""
import threading
from agent_postmortem import Recorder


class Stuck:  # a store that does not answer: the exit waits for it
    def capture_incident(self, data):
        threading.Event().wait(120)


recorder = Recorder(agent="refund-bot", service=Stuck, exit_timeout=90)
recorder.capture(RuntimeError("payments.refund returned 502"), tool="payments.refund")
print("ending", flush=True)
"""


@pytest.mark.parametrize("how", ["exit", "crash"])
def test_ctrl_c_while_the_exit_waits_for_captures_stops_it_with_one_line(tmp_path: Path, how: str) -> None:
    """Ctrl-C while the exit waited for the queue printed a traceback of the recorder's internals ("Exception ignored
    in: <module 'threading'>", KeyboardInterrupt in _wait_for) and the captures were lost without a word; after a
    crash, the exit then waited again. It now stops waiting at once and says what was not stored."""
    script = tmp_path / "agent.py"
    script.write_text(STUCK_AT_EXIT + ("raise SystemExit(4)\n" if how == "exit" else "1 / 0\n"), encoding="utf-8")
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none"}
    agent = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert agent.stdout is not None and agent.stdout.readline() == b"ending\n"
    time.sleep(1)  # in the exit's wait
    started = time.monotonic()
    agent.send_signal(signal.SIGINT)
    _, stderr = agent.communicate(timeout=60)
    text = stderr.decode()
    assert time.monotonic() - started < 10, text
    assert "Exception ignored" not in text and "KeyboardInterrupt" not in text and "_wait_for" not in text, text
    assert text.count("postmortem: interrupted before exit: stopped waiting for 1 capture(s), not stored") == 1, text
    assert agent.returncode == (4 if how == "exit" else 1)


def test_a_crash_waits_for_the_queue_once_not_again_at_the_interpreters_shutdown(tmp_path: Path) -> None:
    """After an uncaught exception the exit waited `exit_timeout` twice (the crash's hook, then the thread-shutdown
    hook with a deadline of its own): 30 s where 15 s are documented, and two "not stored" lines for one capture."""
    script = tmp_path / "agent.py"
    script.write_text(STUCK_AT_EXIT.replace("exit_timeout=90", "exit_timeout=2") + "1 / 0\n", encoding="utf-8")
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "ZeroDivisionError" in done.stderr, done.stderr[-2000:]
    assert done.stderr.count("not stored before exit") == 1, done.stderr[-2000:]
