"""The agent SDK when what it records to fails: a slow, damaged or unwritable store and a hung or down model
endpoint never block or break the agent, and a failure that ends the process is still stored."""

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agent_postmortem.config import Settings
from agent_postmortem.evals.replicas import free_port
from agent_postmortem.sdk.recorder import Recorder
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.runtime import build_service
from tests.factories import make_service
from tests.fake_openai import FakeOpenAI
from tests.processes import run_agent_script, run_crashing_agent


def _down_once_opened(gate: threading.Event) -> Callable[[], PostmortemService]:
    """A store that takes until `gate` is set to open, then fails."""

    def open_store() -> PostmortemService:
        gate.wait(timeout=30)
        raise RuntimeError("the store is down")

    return open_store


def test_the_agent_never_waits_for_a_slow_store_nor_sees_its_errors(tmp_path: Path) -> None:
    gate = threading.Event()
    recorder = Recorder(service=_down_once_opened(gate), queue_size=3)
    for n in range(10):
        recorder.capture(RuntimeError(f"failure {n}"))  # returns at once while the worker is stuck
    assert recorder.dropped >= 6  # 3 queued (+1 taken by the worker), the rest dropped, none blocked
    recorder.capture("x", title="ab")  # an invalid capture (title too short) is dropped, not raised
    gate.set()
    assert recorder.flush(timeout=30)
    assert recorder.failed >= 4 and recorder.captured_ids == []


def test_a_watched_exception_that_ends_the_process_is_in_the_store(tmp_path: Path, embedder: object) -> None:
    # `embedder`: the model is exported into the session's cache once, as a machine's first capture would have done
    done = run_crashing_agent(tmp_path, POSTMORTEM_HOME=str(tmp_path / "home"))
    assert done.returncode == 1 and "RuntimeError: payments.refund returned 502" in done.stderr  # as without it
    service = make_service(tmp_path / "home")
    [listed] = service.list_incidents().incidents
    stored = service.get_incident(listed.id)
    assert (stored.agent, stored.tool, stored.error_type) == ("refund-bot", "payments.refund", "RuntimeError")


def test_a_handled_watched_exception_waits_only_briefly_for_its_capture(tmp_path: Path) -> None:
    gate = threading.Event()
    recorder = Recorder(service=_down_once_opened(gate), wait_on_error=0.2)
    started = time.monotonic()
    with pytest.raises(TimeoutError), recorder.watching(tool="flights.search"):
        raise TimeoutError("flights.search timed out")
    assert time.monotonic() - started < 5
    gate.set()
    assert recorder.flush(timeout=30)


@pytest.mark.parametrize("damage", ["home under a file", "damaged database"])
def test_a_home_that_cannot_store_is_one_line_on_the_agents_stderr_not_a_traceback(tmp_path: Path, damage: str) -> None:
    """A read-only or full disk, a damaged database: the recorder logged the store's whole traceback (58 to 114 lines
    in the agent's log) around the reason the store had already put in one line."""
    home = tmp_path / "home"
    if damage == "home under a file":
        tmp_path.joinpath("file").write_text("not a folder")
        home = tmp_path / "file" / "home"
    else:
        home.mkdir()
        home.joinpath("postmortem.db").write_bytes(b"this is not an SQLite database" * 100)
    done = run_crashing_agent(tmp_path, POSTMORTEM_HOME=str(home))
    assert done.returncode == 1 and "RuntimeError: payments.refund returned 502" in done.stderr  # the agent's own
    assert done.stderr.count("Traceback") == 1, done.stderr[-3000:]  # the agent's, none of the store's
    [line] = [x for x in done.stderr.splitlines() if x.startswith("postmortem:")]
    assert line.startswith("postmortem: a capture was not stored: ")
    assert ("Not a directory" if damage == "home under a file" else "damaged") in line


FAILING_AGENT = r"""
from agent_postmortem import Recorder

recorder = Recorder(agent="slow-judge-bot", wait_on_error=0, exit_timeout=120)  # a loaded machine may be slow
for n in range(4):
    try:
        with recorder.watching(tool=f"tool-{n}"):
            raise ValueError(f"distinct failure {n} of tool-{n}")
    except ValueError:
        pass
"""


@pytest.mark.parametrize("down", ["hung", "closed"])
def test_a_hung_or_down_model_endpoint_costs_one_judgement_and_no_capture(tmp_path: Path, down: str) -> None:
    """With OPENAI_BASE_URL set and the endpoint hanging, each capture waited the whole POSTMORTEM_JUDGE_TIMEOUT
    for its category: an agent with four failures then ended with "3 capture(s) not stored before exit (waited
    15 s)"; with the endpoint down, each capture spent the client's retries (1.5 s, past the watched call's wait)
    and logged a warning. After one failed judgement the model rests for a minute and the learned classifier
    decides."""
    home = tmp_path / "home"
    with FakeOpenAI() as hung:
        for _ in range(12):
            hung.enqueue('{"category": "tool_failure", "reason": "late"}', delay=60)
        url = hung.base_url if down == "hung" else f"http://127.0.0.1:{free_port()}/v1"
        env = {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "k", "POSTMORTEM_JUDGE_TIMEOUT": "4"}
        started = time.monotonic()
        done = run_agent_script(tmp_path, FAILING_AGENT, POSTMORTEM_HOME=str(home), POSTMORTEM_LLM="auto", **env)
        took = time.monotonic() - started
    started = time.monotonic()  # the same agent with no model configured: the reference, on this machine, now
    alone = run_agent_script(tmp_path, FAILING_AGENT, POSTMORTEM_HOME=str(tmp_path / "ref"), POSTMORTEM_LLM="none")
    reference = time.monotonic() - started
    assert alone.returncode == 0, alone.stderr[-2000:]
    assert done.returncode == 0 and "not stored" not in done.stderr, done.stderr[-2000:]
    service = build_service(Settings.from_env({**os.environ, "POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none"}))
    stored = [service.get_incident(s.id) for s in service.list_incidents().incidents]
    assert sorted(i.tool or "" for i in stored) == [f"tool-{n}" for n in range(4)]
    signals = sorted(i.category_signals[0] for i in stored)
    failed = "did not answer within 4 s" if down == "hung" else "gave no usable answer (LLMFailed)"
    assert sum(failed in s for s in signals) == 1, signals
    assert sum("failed a judgement less than a minute ago, so it was not asked" in s for s in signals) == 3, signals
    assert took - reference < 3 * 4, (took, reference)  # one time limit (4 s) spent, not one per capture (16 s)
    assert done.stderr.count("no usable category") <= 1, done.stderr  # one warning, not one per capture
