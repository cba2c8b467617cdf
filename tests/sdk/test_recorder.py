"""The agent SDK: failures are recorded through the capture path without ever blocking or breaking the agent."""

import asyncio
import os
import threading
import time
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


class Flights:
    def __init__(self) -> None:
        self.calls = 0

    def search(self, query: str) -> list[str]:
        self.calls += 1
        raise TimeoutError(f"flights.search read timed out after 30 s (request {self.calls})")


@pytest.fixture
def service(tmp_path: Path) -> PostmortemService:
    return make_service(tmp_path)


def test_the_decorator_records_the_failure_and_reraises_it_unchanged(service: PostmortemService) -> None:
    recorder = Recorder(agent="trip-planner", model="gpt-4.1-mini", service=lambda: service)
    flights = Flights()
    search = recorder.watch(tool="flights.search", prompt="Find me a flight to Lisbon")(flights.search)
    for _ in range(2):
        with pytest.raises(TimeoutError, match="timed out"):
            search("LIS")
    assert recorder.flush(timeout=30)
    [incident_id] = set(recorder.captured_ids)  # the same failure twice: one incident, two occurrences
    stored = service.get_incident(incident_id)
    assert (stored.agent, stored.tool, stored.model, stored.error_type) == (
        "trip-planner",
        "flights.search",
        "gpt-4.1-mini",
        "TimeoutError",
    )
    assert stored.category == "timeout" and stored.occurrences == 2
    assert stored.prompt_excerpt == "Find me a flight to Lisbon"
    assert stored.stack_trace is not None and "in search" in stored.stack_trace


@pytest.mark.anyio
async def test_async_functions_and_the_context_manager_are_watched(service: PostmortemService) -> None:
    recorder = Recorder(agent="support-bot", service=lambda: service)

    @recorder.watch(tool="kb.search")
    async def lookup() -> None:
        raise LookupError("kb.search returned 0 results")

    with pytest.raises(LookupError):
        await lookup()
    with pytest.raises(ValueError), recorder.watching(tool="refunds.issue", session="s-42", user_facing=True):
        raise ValueError("refund amount exceeds the order total")
    assert recorder.flush(timeout=30)
    tools = {service.get_incident(i).tool for i in recorder.captured_ids}
    assert tools == {"kb.search", "refunds.issue"}
    refund = next(
        service.get_incident(i) for i in recorder.captured_ids if service.get_incident(i).tool == "refunds.issue"
    )
    assert refund.user_facing and refund.description.startswith("session s-42")


def test_secrets_in_an_exception_are_redacted_before_storage(service: PostmortemService) -> None:
    recorder = Recorder(service=lambda: service)
    recorder.capture(PermissionError("401 for token ghp_" + "S" * 36), tool="gh.api")
    assert recorder.flush(timeout=30)
    stored = service.get_incident(recorder.captured_ids[0])
    assert "ghp_" not in stored.model_dump_json() and stored.redactions["github_token"] >= 1


def test_a_capture_of_something_that_is_no_failure_is_dropped_saying_what_it_was(
    service: PostmortemService, caplog: pytest.LogCaptureFixture
) -> None:
    """capture(None) (sys.exc_info()[1] outside an except) stored an incident titled "None", and capture(42) was
    dropped naming a field the author could not map to anything; with a title given, either is a capture. capture()
    with nothing given raised TypeError in the agent's code: in an except block it records the exception handled."""
    recorder = Recorder(service=lambda: service)
    with caplog.at_level("WARNING", logger="agent_postmortem.sdk.recorder"):
        recorder.capture(None)
        recorder.capture(42)  # type: ignore[arg-type]
        recorder.capture(None, title="Refund agent stopped answering")
        try:
            raise TimeoutError("crm.update timed out after 30 s")
        except TimeoutError:
            recorder.capture(tool="crm.update")
    assert recorder.flush(timeout=30) and recorder.failed == 2
    said = [r.getMessage() for r in caplog.records]
    assert (
        "postmortem: capture dropped: capture() with nothing given records the exception being handled, and none "
        "was: call it in an except block, or give it the exception or a description" in said
    ), said
    assert "postmortem: capture dropped: capture() takes an exception or a description, not int" in said, said
    titles = [service.get_incident(i).title for i in recorder.captured_ids]
    assert titles == ["Refund agent stopped answering", "TimeoutError in crm.update"], titles


def test_the_agent_never_waits_for_a_slow_store_nor_sees_its_errors(tmp_path: Path) -> None:
    gate = threading.Event()

    def slow_then_broken() -> PostmortemService:
        gate.wait(timeout=30)
        raise RuntimeError("the store is down")

    recorder = Recorder(service=slow_then_broken, queue_size=3)
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

    def stuck() -> PostmortemService:
        gate.wait(timeout=30)
        raise RuntimeError("the store is down")

    recorder = Recorder(service=stuck, wait_on_error=0.2)
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


def test_a_failure_through_nested_watches_is_one_incident_with_the_context_of_each(
    service: PostmortemService,
) -> None:
    """An agent step watched around a watched tool: the one exception was stored as two incidents ("... in
    payments.refund" and "... in stripe.refunds"), and the inner one lacked the step's reach and prompt."""
    recorder = Recorder(agent="support-bot", service=lambda: service)

    @recorder.watch(tool="stripe.refunds")
    def refund() -> None:
        raise ConnectionError("stripe.refunds: connection reset by peer")

    def step() -> None:
        with recorder.watching(tool="payments.refund", prompt="Refund order 1042", user_facing=True):
            try:
                refund()
            except ConnectionError as e:
                recorder.capture(e)  # recorded by hand as well, then re-raised
                raise

    with pytest.raises(ConnectionError), recorder.watching(session="s-7"):
        step()
    assert recorder.flush(timeout=30)
    [incident_id] = recorder.captured_ids
    stored = service.get_incident(incident_id)
    assert (stored.tool, stored.title) == ("stripe.refunds", "ConnectionError in stripe.refunds")  # the innermost
    assert stored.user_facing and stored.prompt_excerpt == "Refund order 1042"  # from the watches around it
    assert stored.description.startswith("session s-7.")


@pytest.mark.anyio
async def test_nested_async_watches_record_the_failure_once(service: PostmortemService) -> None:
    recorder = Recorder(agent="support-bot", service=lambda: service)

    @recorder.watch(tool="kb.search")
    async def lookup() -> None:
        raise TimeoutError("kb.search timed out")

    @recorder.watch(user_facing=True)
    async def answer() -> None:
        await asyncio.gather(lookup())

    with pytest.raises(TimeoutError):
        await answer()
    assert recorder.flush(timeout=30)
    [incident_id] = recorder.captured_ids
    stored = service.get_incident(incident_id)
    assert stored.tool == "kb.search" and stored.user_facing


def test_a_function_watched_without_a_tool_is_named_by_its_function(service: PostmortemService) -> None:
    """`@recorder.watch()` (or bare `@recorder.watch`) with no tool stored "ValueError in trip-planner" with no tool:
    every watched function's failure had the agent's name for a title, nothing saying which function failed. A
    tool given by a watch around still wins over the function's name."""
    recorder = Recorder(agent="trip-planner", service=lambda: service)

    class Planner:
        @recorder.watch
        def book(self) -> None:
            raise ValueError("no seat left on LIS-OPO")

    @recorder.watch()
    def helper() -> None:
        raise KeyError("fare class")

    with pytest.raises(ValueError):
        Planner().book()
    with pytest.raises(KeyError), recorder.watching(tool="fares.lookup"):
        helper()
    assert recorder.flush(timeout=30)
    first, second = (service.get_incident(i) for i in recorder.captured_ids)
    assert (first.tool, first.title) == ("Planner.book", "ValueError in Planner.book")
    assert (second.tool, second.title) == ("fares.lookup", "KeyError in fares.lookup")


def test_a_tool_named_as_the_watchs_first_argument_is_its_tool(service: PostmortemService) -> None:
    """`@recorder.watch("flights.search")`, as route decorators take their path: the string was taken for the function,
    so decorating called it ("'str' object is not callable" raised where the agent's module was imported) and stored
    that TypeError as an incident of the agent."""
    recorder = Recorder(agent="trip-planner", service=lambda: service)

    @recorder.watch("flights.search")
    def search(query: str) -> None:
        raise TimeoutError(f"flights.search gave no answer in 30 s for {query}")

    with pytest.raises(TimeoutError):
        search("LHR to JFK")
    assert recorder.flush(timeout=30) and recorder.failed == 0
    [stored] = (service.get_incident(i) for i in recorder.captured_ids)
    assert (stored.tool, stored.title) == ("flights.search", "TimeoutError in flights.search")


@pytest.mark.anyio
async def test_a_failure_inside_a_task_group_is_stored_as_the_exception_it_groups(service: PostmortemService) -> None:
    """An async agent's tool calls run in an `asyncio.TaskGroup`: its failure reached the watch as an ExceptionGroup,
    stored as "ExceptionGroup in flights.search" with the message "unhandled errors in a TaskGroup (1
    sub-exception)", classified from those words, not from the timeout it held."""
    recorder = Recorder(agent="trip-planner", service=lambda: service)

    async def search() -> None:
        raise TimeoutError("flights.search read timed out after 30 s")

    async def rank() -> None:
        raise ValueError("no fares to rank")

    @recorder.watch(tool="flights.search")
    async def plan() -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(search())
            tasks.create_task(rank())

    with pytest.raises(ExceptionGroup):
        await plan()
    assert recorder.flush(timeout=30)
    [incident_id] = recorder.captured_ids
    stored = service.get_incident(incident_id)
    assert (stored.title, stored.error_type) == ("TimeoutError in flights.search", "TimeoutError")
    assert stored.error_message == "flights.search read timed out after 30 s (and 1 more: ValueError: no fares to rank)"
    assert stored.category == "timeout"
    assert stored.stack_trace is not None and "ExceptionGroup" in stored.stack_trace
