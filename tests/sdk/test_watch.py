"""Watching async agent code: a failing coroutine waits for its capture without holding the event loop, so the
agent's other tasks keep running while captures are stored."""

import asyncio
import concurrent.futures
import pickle
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from agent_postmortem.sdk.recorder import Recorder
from tests.factories import make_service


class SlowStore:
    """A store that takes 0.2 s per capture, as a first local capture or a remote one can."""

    def capture_incident(self, data: Any) -> Any:
        time.sleep(0.2)
        return type("Stored", (), {"id": "INC-1"})()


async def _worst_stall(work: Any) -> float:
    lags: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        while not done.is_set():
            started = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - started - 0.01)

    beat = asyncio.create_task(heartbeat())
    await work()
    done.set()
    await beat
    return max(lags)


@pytest.mark.anyio
async def test_failing_coroutines_wait_for_their_captures_without_stalling_the_loop() -> None:
    recorder = Recorder(service=SlowStore, wait_on_error=1.0)

    @recorder.watch(tool="fares.search")
    async def search(n: int) -> None:
        await asyncio.sleep(0.01)
        raise TimeoutError(f"fares.search timed out (request {n})")

    async def one(n: int) -> None:
        with pytest.raises(TimeoutError):
            await search(n)

    async def burst() -> None:
        await asyncio.gather(*(one(n) for n in range(10)))

    assert await _worst_stall(burst) < 0.15  # it was the captures' whole time: about 1 s here
    assert recorder.flush(30) and recorder.captured_ids == ["INC-1"] * 10


@pytest.mark.anyio
async def test_a_plain_with_inside_a_running_loop_does_not_wait() -> None:
    recorder = Recorder(service=SlowStore, wait_on_error=1.0)
    started = time.monotonic()
    with pytest.raises(LookupError), recorder.watching(tool="kb.search"):
        raise LookupError("kb.search returned 0 results")
    assert time.monotonic() - started < 0.15
    async with recorder.watching(tool="kb.search"):
        pass  # nothing raised: nothing recorded
    assert recorder.flush(30) and recorder.captured_ids == ["INC-1"]


@pytest.mark.anyio
async def test_a_deadline_that_passes_while_the_capture_is_awaited_leaves_the_agents_own_exception() -> None:
    """A step that raised within its deadline was reported as TimeoutError: the wait for its capture (up to
    wait_on_error) ran past the deadline, and the cancellation replaced the agent's exception."""
    recorder = Recorder(service=SlowStore, wait_on_error=1.0)
    own = ValueError("the booking API refused the card")

    @recorder.watch(tool="payments.charge")
    async def charge() -> None:
        await asyncio.sleep(0.05)
        raise own

    with pytest.raises(ValueError) as seen:
        await asyncio.wait_for(charge(), timeout=0.1)  # the capture takes 0.2 s: the deadline passes meanwhile
    assert seen.value is own
    assert recorder.flush(5) and recorder.captured_ids == ["INC-1"]


def test_an_exception_object_raised_again_is_one_occurrence_per_raise(tmp_path: Path) -> None:
    """A circuit breaker re-raises the error it keeps, and a failed future raises its stored exception to each
    caller: the recorder marked the object itself as recorded, so the second and third raise were not captured at
    all (one occurrence for three failed calls). One raise passing through nested watches is still one capture."""
    service = make_service(tmp_path)
    recorder = Recorder(agent="billing", service=lambda: service)
    broken = ConnectionError("payments API unavailable: circuit open")

    @recorder.watch(tool="payments.charge")
    def charge() -> None:
        raise broken

    failed = concurrent.futures.Future[None]()
    failed.set_exception(TimeoutError("ledger sync timed out after 30 s"))
    for _ in range(3):
        with pytest.raises(ConnectionError), recorder.watching(tool="checkout"):
            charge()
        with pytest.raises(TimeoutError), recorder.watching(tool="ledger.sync"):
            failed.result()
    assert recorder.flush(timeout=60)
    incidents = {i: service.get_incident(i) for i in set(recorder.captured_ids)}
    assert sorted((i.title, i.occurrences) for i in incidents.values()) == [
        ("ConnectionError in payments.charge", 3),
        ("TimeoutError in ledger.sync", 3),
    ]
    assert pickle.loads(pickle.dumps(broken)).args == broken.args  # what the recorder notes on it still pickles


@pytest.mark.anyio
async def test_a_watched_task_in_a_task_group_under_a_watch_is_one_capture(tmp_path: Path) -> None:
    """The group the TaskGroup raises is a new exception around the one the task's watch recorded: the watch around
    the group recorded it again, one failure as two incidents."""
    service = make_service(tmp_path)
    recorder = Recorder(agent="trip-planner", service=lambda: service)

    @recorder.watch(tool="flights.search")
    async def search() -> None:
        raise TimeoutError("flights.search read timed out after 30 s")

    @recorder.watch(tool="plan")
    async def plan() -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(search())

    with pytest.raises(ExceptionGroup):
        await plan()
    assert recorder.flush(timeout=60)
    assert [service.get_incident(i).title for i in recorder.captured_ids] == ["TimeoutError in flights.search"]


@pytest.mark.anyio
async def test_a_watched_callable_that_returns_a_coroutine_is_watched_while_it_is_awaited(tmp_path: Path) -> None:
    """A tool object with an async `__call__`, or an async function under a decorator whose wrapper is a plain
    function: the watch saw a plain function return, and the failure, raised when the coroutine was awaited, was
    not recorded at all."""
    service = make_service(tmp_path)
    recorder = Recorder(agent="trip-planner", service=lambda: service)

    class HotelTool:
        async def __call__(self, city: str) -> None:
            raise ConnectionError(f"hotels API reset the connection for {city}")

    def logged(func: Any) -> Any:
        def wrapper(*args: Any) -> Any:
            return func(*args)

        return wrapper

    @recorder.watch(tool="flights.search")
    @logged
    async def search(route: str) -> None:
        raise TimeoutError(f"flights.search timed out for {route}")

    hotels = recorder.watch(tool="hotels.book")(HotelTool())
    with pytest.raises(ConnectionError):
        await hotels("Lisbon")
    with pytest.raises(TimeoutError):
        await search("CPH-LIS")
    assert recorder.flush(timeout=60)
    titles = [service.get_incident(i).title for i in recorder.captured_ids]
    assert titles == ["ConnectionError in hotels.book", "TimeoutError in flights.search"]


def test_a_watched_recursion_that_hits_the_limit_keeps_the_agents_own_error(tmp_path: Path) -> None:
    """A recursive planner under `@recorder.watch` that passes Python's recursion limit: each watch's exit ran the
    capture with no stack left, raised RecursionError from the recorder's own code (logging, isinstance checks) and
    replaced the agent's error with it, a chain of them, and the incident's stack trace was the recorder's. The agent's
    own RecursionError goes on now, captured once by a watch with room on the stack."""
    service = make_service(tmp_path)
    recorder = Recorder(agent="planner", service=lambda: service)

    @recorder.watch(tool="plan.expand")
    def expand(depth: int) -> int:
        return expand(depth + 1)

    with pytest.raises(RecursionError) as seen:
        expand(0)
    assert seen.value.__context__ is None  # nothing was raised while it was handled
    assert recorder.flush(timeout=60) and recorder.failed == 0
    [incident_id] = recorder.captured_ids
    trace = service.get_incident(incident_id).stack_trace or ""
    assert "in expand" in trace and "logging" not in trace
    with pytest.raises(KeyError), recorder.watching():  # no watch of the recursion is left entered around it
        raise KeyError("plan has no step 'book'")
    assert recorder.flush(timeout=60)
    assert service.get_incident(recorder.captured_ids[-1]).title == "KeyError in planner"


@pytest.mark.anyio
async def test_a_watched_async_recursion_that_hits_the_limit_is_one_capture_of_the_agents_error(tmp_path: Path) -> None:
    """The same in async code: the wait for the capture (importing anyio, a worker thread) had no stack left either,
    so each watch on the way out raised a new RecursionError, which the next watch recorded: one runaway recursion
    was 17 incidents, and the agent saw an error raised inside importlib."""
    service = make_service(tmp_path)
    recorder = Recorder(agent="planner", service=lambda: service)

    @recorder.watch(tool="plan.expand")
    async def expand(depth: int) -> int:
        return await expand(depth + 1)

    with pytest.raises(RecursionError) as seen:
        await expand(0)
    assert seen.value.__context__ is None
    assert recorder.flush(timeout=60) and recorder.failed == 0
    [incident_id] = recorder.captured_ids
    assert "in expand" in (service.get_incident(incident_id).stack_trace or "")


@pytest.mark.anyio
async def test_failing_coroutines_leave_the_apps_worker_threads_to_the_app() -> None:
    """Each failing watched coroutine waited for its capture in one of anyio's worker threads, the 40 the app's own
    `to_thread` work shares (a web framework's sync endpoints and file reads): with 60 failures at once, the app's
    next call to a thread waited a whole second behind them."""
    recorder = Recorder(service=SlowStore, wait_on_error=1.0)

    @recorder.watch(tool="orders.read")
    async def read(n: int) -> None:
        raise LookupError(f"order {n} not found")

    async def one(n: int) -> None:
        with pytest.raises(LookupError):
            await read(n)

    failing = [asyncio.create_task(one(n)) for n in range(60)]
    await asyncio.sleep(0.05)  # every one of them waiting for its capture
    started = time.monotonic()
    await anyio.to_thread.run_sync(lambda: None)
    assert time.monotonic() - started < 0.3
    await asyncio.gather(*failing)


def test_a_watched_async_generator_passes_on_what_its_caller_sends_throws_and_closes() -> None:
    """`@asynccontextmanager` over a watched async generator throws the body's error into it (`athrow`), and
    `aclosing` closes it (`aclose`): the watch's `async for` kept both from the agent's generator, whose rollback never
    saw the error and whose `finally` (a stream's connection) ran only when it was collected; `asend` values were lost.
    A sync generator (`yield from`) passed them on already."""
    import contextlib

    store = SlowStore()
    recorder = Recorder(agent="bot", service=lambda: store, wait_on_error=0)
    seen: list[Any] = []

    @recorder.watch(tool="db.session")
    async def session() -> Any:
        try:
            yield "conn"
        except ValueError as e:
            seen.append(f"rollback after {e}")
            raise
        finally:
            seen.append("closed")

    @recorder.watch(tool="llm.stream")
    async def stream() -> Any:
        try:
            reply = yield 1
            seen.append(f"sent {reply}")
            yield 2
            yield 3
        finally:
            seen.append("stream closed")

    async def main() -> None:
        with contextlib.suppress(ValueError):
            async with contextlib.asynccontextmanager(session)() as conn:
                raise ValueError(f"bad row on {conn}")
        async with contextlib.aclosing(stream()) as chunks:
            assert await chunks.__anext__() == 1
            assert await chunks.asend("ok") == 2
        seen.append("after the stream")

    asyncio.run(main())
    assert seen == ["rollback after bad row on conn", "closed", "sent ok", "stream closed", "after the stream"]
