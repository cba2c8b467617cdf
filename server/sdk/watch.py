"""Watching agent code: a context manager (`with` and `async with`) and a decorator for every kind of function.

A watched exception is queued, then waits briefly for its own capture (the process may end right after it,
without the exit hooks). That wait must never hold an event loop: under `async with` (and so for decorated async
functions and async generators) it sleeps between looks while the loop serves other tasks; a plain `with` inside
a running asyncio loop does not wait at all (the exit hooks still flush). Blocking there stalled every task of an
async agent for as long as the failures' captures took (1.3 s for 40 failing calls at once).

Watches nest (an agent step watched around a watched tool): the exception is recorded once, by the innermost watch,
with the context of the watches around it (theirs filling what it does not say). Each watch recorded it on its way
out, so one failure was as many incidents as there were watches, the inner one without the step's reach or prompt.
"""

import asyncio
import contextvars
import functools
import inspect
import itertools
import os
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Literal, NamedTuple, Protocol, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Queues(Protocol):
    wait_on_error: float

    def _enqueue(self, error: BaseException, context: dict[str, Any], entry: int | None = None) -> int: ...

    def _wait_for(self, number: int, timeout: float) -> bool: ...


# the watches the running code is inside, outermost first (per thread and per asyncio task, which copies its creator's),
# each with the number of its entry: a watch entered again (a loop over one `with`) is another entry
_AROUND: contextvars.ContextVar[tuple[tuple["Watching", int], ...]] = contextvars.ContextVar(
    "postmortem_watching", default=()
)
_entries = itertools.count(1)
POLL_S = 0.01  # how often a failing coroutine looks whether its capture is stored
RECORDED_BY = "_postmortem_recorded_by"  # on an exception: per recorder (its mark), the raise it queued (see Raise)


class Raise(NamedTuple):
    """Which raise of an exception a recorder queued. The same exception object is raised again by agent code that
    keeps it (a circuit breaker's last error, a cached failure): each such raise is a failure of its own, while one
    raise passing through nested watches, or captured by hand before it is re-raised, is one. Plain values, so that
    the exception still pickles (a multiprocessing worker's failure is sent to its parent)."""

    pid: int
    thread: int
    point: int | None  # id of the traceback entry where this raise began (see raise_point); None: never raised
    around: frozenset[int]  # the watch entries it was queued inside


def raise_point(error: BaseException) -> int | None:
    """The traceback entry where the exception's latest raise began. Python adds to an exception's traceback each
    time the same object is raised (its new frames in front of the old ones), so the latest raise is the run of
    entries from the front in which each frame called the next (or is the same frame, re-raising): it ends at the
    frame that raised. Passing further out adds callers in front and keeps that end."""
    entry = error.__traceback__
    if entry is None:
        return None
    while entry.tb_next is not None:
        inner = entry.tb_next.tb_frame
        if inner is not entry.tb_frame and inner.f_back is not entry.tb_frame and not _suspendable(inner):
            break
        entry = entry.tb_next
    return id(entry)


def _suspendable(frame: FrameType) -> bool:
    """A finished generator's or coroutine's frame, which no longer says who called it: taken as called by the entry
    before it (so a cached exception re-raised inside async code may still be taken for the raise before it)."""
    return frame.f_back is None and bool(frame.f_code.co_flags & _RESUMABLE)


_RESUMABLE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE


def watches_around() -> frozenset[int]:
    return frozenset(number for _, number in _AROUND.get())


def already_recorded(error: BaseException, mark: str, entry: int | None = None) -> bool:
    """Whether this raise of `error` was queued by the recorder of `mark` already: by a watch inside the one of
    `entry`, by hand before it was re-raised, or in another thread or process (a worker's failure handed on by a
    future or a pool is the same failure)."""
    if isinstance(error, BaseExceptionGroup) and error.exceptions:  # stored as the first exception it holds
        if already_recorded(error.exceptions[0], mark, entry):
            return True
    try:
        found = error.__dict__.get(RECORDED_BY)
    except Exception:  # an exception class of the agent's whose attributes cannot be read
        return False
    queued = found.get(mark) if isinstance(found, dict) else None
    if not isinstance(queued, Raise):
        return False
    if (queued.pid, queued.thread) != (os.getpid(), threading.get_ident()) or queued.point is None:
        return True
    return queued.point == raise_point(error) or (entry is not None and entry in queued.around)


def mark_recorded(error: BaseException, mark: str) -> None:
    try:
        found = error.__dict__.get(RECORDED_BY)
        marks = dict(found) if isinstance(found, dict) else {}
        marks[mark] = Raise(os.getpid(), threading.get_ident(), raise_point(error), watches_around())
        error.__dict__[RECORDED_BY] = marks
    except Exception:  # not markable: it would be recorded again by a watch around, as before
        pass


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class Watching:
    """Records an exception raised inside (`Exception`, not cancellation or exit), then lets it go on unchanged."""

    def __init__(
        self, recorder: Queues, context: dict[str, Any], *, nests: bool = True, function: str | None = None
    ) -> None:
        """`nests`: watches entered inside see this one's context. Not for a generator's watch, which stays entered
        while the generator is suspended, its caller running code of its own. `function`: the watched function's
        name, the tool when no watch says one (a decorator without `tool=` titled the failure by the agent alone)."""
        self._recorder = recorder
        self._context = context
        self._nests = nests
        self._function = function

    def _queued(self, error: BaseException | None, entry: int | None) -> int:
        if not isinstance(error, Exception):
            return 0
        context: dict[str, Any] = {}
        functions = [self._function]
        for around, _ in _AROUND.get():
            if around._recorder is self._recorder and around is not self:
                context.update(around._context)
                functions.insert(1, around._function)  # innermost first, after this watch's own
        context.update(self._context)
        if not context.get("tool"):
            context["tool"] = next((name for name in functions if name), None)
        return self._recorder._enqueue(error, context, entry)

    def _enter(self) -> None:
        if self._nests:
            _AROUND.set((*_AROUND.get(), (self, next(_entries))))

    def _leave(self) -> int | None:
        """Leave the innermost entry of this watch; its number (None for a watch that does not nest)."""
        around = _AROUND.get()
        for n in range(len(around) - 1, -1, -1):  # no call of its own: it must run even with no stack left
            if around[n][0] is self:
                _AROUND.set(around[:n] + around[n + 1 :])
                return around[n][1]
        return None

    def _exited(self, error: BaseException | None) -> int:
        """Leave, and queue `error`'s capture: its number, 0 when there is none. Deep in a runaway recursion the
        capture has no stack to run on and raised RecursionError from the recorder's own code, in place of the
        agent's error: the watches further out, with room, record it instead."""
        try:
            return self._queued(error, self._leave())
        except RecursionError:
            return 0

    def __enter__(self) -> None:
        self._enter()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> Literal[False]:
        number = self._exited(error)
        if number and self._recorder.wait_on_error > 0 and not _loop_running():
            try:
                self._recorder._wait_for(number, self._recorder.wait_on_error)
            except RecursionError:  # no stack left to wait with: the capture is queued, the exit hooks store it
                pass
        return False

    async def __aenter__(self) -> None:
        self._enter()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> Literal[False]:
        number = self._exited(error)
        if number and self._recorder.wait_on_error > 0:
            try:
                import anyio  # asyncio or trio alike; imported only when a watched coroutine fails

                await _captured(self._recorder, number, anyio.sleep)
            except RecursionError:  # no stack left to wait with: the capture is queued, the exit hooks store it
                pass
            except anyio.get_cancelled_exc_class():
                # cancelled while waiting for the capture (a deadline around the call passed meanwhile): the task is
                # ending anyway, with the agent's own exception, which must not become a cancellation or a timeout
                pass
        return False


async def _captured(recorder: Queues, number: int, sleep: Callable[[float], Any]) -> None:
    """Wait up to `wait_on_error` for capture `number`, looking every few milliseconds: a wait in one of anyio's worker
    threads took one of the 40 the app's own `to_thread` work shares, and a burst of failures held them all."""
    deadline = time.monotonic() + recorder.wait_on_error
    while not recorder._wait_for(number, 0) and time.monotonic() < deadline:
        await sleep(POLL_S)


def watched(recorder: Queues, func: F, context: dict[str, Any]) -> F:
    """`func` with its exceptions recorded: sync or async, generators and async generators while iterated."""
    name = _function_name(func)
    if inspect.isasyncgenfunction(func):
        return _async_generator(recorder, func, context, name)
    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def run_gen(*args: Any, **kwargs: Any) -> Any:
            with Watching(recorder, context, nests=False, function=name):
                return (yield from func(*args, **kwargs))

        return run_gen  # type: ignore[return-value]
    if asyncio.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            async with Watching(recorder, context, function=name):
                return await func(*args, **kwargs)

        return run_async  # type: ignore[return-value]

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        with Watching(recorder, context, function=name):
            result = func(*args, **kwargs)
        if inspect.iscoroutine(result):  # async, though not an `async def`: an instance's async __call__, a wrapper
            return _awaited(Watching(recorder, context, function=name), result)
        return result

    return run  # type: ignore[return-value]


def _async_generator(recorder: Queues, func: F, context: dict[str, Any], name: str | None) -> F:
    """An async generator function watched while iterated."""

    @functools.wraps(func)
    async def run_async_gen(*args: Any, **kwargs: Any) -> Any:
        # by hand what `yield from` does for a sync generator: what the caller sends, throws (an
        # `@asynccontextmanager`'s body error) and closes (`aclosing`) reaches the agent's generator
        async with Watching(recorder, context, nests=False, function=name):
            inner = func(*args, **kwargs)
            step = inner.__anext__
            while True:
                try:
                    item = await step()
                except StopAsyncIteration:
                    return
                try:
                    sent = yield item
                except GeneratorExit:
                    await inner.aclose()
                    raise
                except BaseException as e:
                    step = functools.partial(inner.athrow, e)
                else:
                    step = functools.partial(inner.asend, sent)

    return run_async_gen  # type: ignore[return-value]


async def _awaited(watch: Watching, coroutine: Any) -> Any:
    """The coroutine a watched callable returned, watched while it runs: a callable object with an async `__call__`,
    or a coroutine function under a decorator that returns its coroutine from a plain function, failed when awaited,
    after the watch had ended: its failures were not recorded at all."""
    async with watch:
        return await coroutine


def _function_name(func: Callable[..., Any]) -> str | None:
    """`Planner.book`, `search` (not `main.<locals>.search`); None for a callable without a usable name."""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if not isinstance(name, str) or not name or name == "<lambda>":
        return None
    return name.rsplit("<locals>.", 1)[-1]
