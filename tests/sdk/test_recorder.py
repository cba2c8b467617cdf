"""The agent SDK: failures are recorded through the capture path, with the context of every watch they pass through
(a store or a model endpoint that fails it: test_recorder_failures.py)."""

import asyncio
from pathlib import Path

import pytest

from agent_postmortem.sdk.recorder import Recorder
from agent_postmortem.service.facade import PostmortemService
from tests.factories import make_service


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
