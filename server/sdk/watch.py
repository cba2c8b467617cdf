"""Watching agent code: a context manager (`with` and `async with`) and a decorator for every kind of function.

A watched exception is queued, then waits briefly for its own capture (the process may end right after it,
without the exit hooks). That wait must never hold an event loop: under `async with` (and so for decorated async
functions and async generators) it runs in a worker thread while the loop serves other tasks; a plain `with` inside
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
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, Protocol, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Queues(Protocol):
    wait_on_error: float

    def _enqueue(self, error: BaseException, context: dict[str, Any]) -> int: ...

    def _wait_for(self, number: int, timeout: float) -> bool: ...


# the watches the running code is inside, outermost first (per thread and per asyncio task, which copies its creator's)
_AROUND: contextvars.ContextVar[tuple["Watching", ...]] = contextvars.ContextVar("postmortem_watching", default=())
RECORDED_BY = "_postmortem_recorded_by"  # on an exception: the recorders (their marks) that have queued it


def recorded_by(error: BaseException) -> frozenset[str]:
    """The marks of the recorders that have queued this exception (set by `mark_recorded`)."""
    try:
        found = error.__dict__.get(RECORDED_BY)
    except Exception:  # an exception class of the agent's whose attributes cannot be read
        return frozenset()
    return found if isinstance(found, frozenset) else frozenset()


def mark_recorded(error: BaseException, mark: str) -> None:
    try:
        error.__dict__[RECORDED_BY] = recorded_by(error) | {mark}
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

    def _queued(self, error: BaseException | None) -> int:
        if not isinstance(error, Exception):
            return 0
        context: dict[str, Any] = {}
        functions = [self._function]
        for around in _AROUND.get():
            if around._recorder is self._recorder and around is not self:
                context.update(around._context)
                functions.insert(1, around._function)  # innermost first, after this watch's own
        context.update(self._context)
        if not context.get("tool"):
            context["tool"] = next((name for name in functions if name), None)
        return self._recorder._enqueue(error, context)

    def _enter(self) -> None:
        if self._nests:
            _AROUND.set((*_AROUND.get(), self))

    def _leave(self) -> None:
        if self._nests:
            _AROUND.set(tuple(w for w in _AROUND.get() if w is not self))

    def __enter__(self) -> None:
        self._enter()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> Literal[False]:
        self._leave()
        number = self._queued(error)
        if number and self._recorder.wait_on_error > 0 and not _loop_running():
            self._recorder._wait_for(number, self._recorder.wait_on_error)
        return False

    async def __aenter__(self) -> None:
        self._enter()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> Literal[False]:
        self._leave()
        number = self._queued(error)
        if number and self._recorder.wait_on_error > 0:
            import anyio  # asyncio or trio alike; imported only when a watched coroutine fails
            import anyio.to_thread

            try:
                await anyio.to_thread.run_sync(self._recorder._wait_for, number, self._recorder.wait_on_error)
            except anyio.get_cancelled_exc_class():
                # cancelled while waiting for the capture (a deadline around the call passed meanwhile): the task is
                # ending anyway, with the agent's own exception, which must not become a cancellation or a timeout
                pass
        return False


def watched(recorder: Queues, func: F, context: dict[str, Any]) -> F:
    """`func` with its exceptions recorded: sync or async, generators and async generators while iterated."""
    name = _function_name(func)
    if inspect.isasyncgenfunction(func):

        @functools.wraps(func)
        async def run_async_gen(*args: Any, **kwargs: Any) -> Any:
            async with Watching(recorder, context, nests=False, function=name):
                async for item in func(*args, **kwargs):
                    yield item

        return run_async_gen  # type: ignore[return-value]
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
            return func(*args, **kwargs)

    return run  # type: ignore[return-value]


def _function_name(func: Callable[..., Any]) -> str | None:
    """`Planner.book`, `search` (not `main.<locals>.search`); None for a callable without a usable name."""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if not isinstance(name, str) or not name or name == "<lambda>":
        return None
    return name.rsplit("<locals>.", 1)[-1]
