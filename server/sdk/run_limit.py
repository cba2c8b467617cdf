"""One run of an agent under a time limit, stopped when it overruns: an async agent's coroutine is cancelled
(`asyncio.wait_for`); a synchronous agent, called in the main thread, is interrupted by a timer signal (SIGALRM, as
pytest-timeout's signal method does), which raises RunTimeLimit where it is waiting. RunTimeLimit is no `Exception`,
so an agent's own `except Exception` does not swallow it. Where no timer signal can be set (another thread, Windows)
a synchronous agent runs without a limit."""

import asyncio
import signal
import threading
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

RUN_TIME_LIMIT = 300.0  # seconds a run may take before it is stopped


class RunTimeLimit(BaseException):
    """The run did not finish within its time limit and was stopped."""


def stopped(limit: float) -> RunTimeLimit:
    return RunTimeLimit(f"did not finish within {limit:g} s: stopped")


async def awaited(answer: Awaitable[Any], limit: float | None) -> Any:
    """The awaitable's result; RunTimeLimit past `limit` seconds, the coroutine cancelled."""
    if limit is None:
        return await answer
    try:
        return await asyncio.wait_for(answer, limit)
    except TimeoutError:
        raise stopped(limit) from None


@contextmanager
def alarm(limit: float | None) -> Iterator[None]:
    """RunTimeLimit raised in the main thread after `limit` seconds; the previous handler and timer put back."""
    if limit is None or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def overrun(signum: int, frame: FrameType | None) -> None:
        raise stopped(limit)

    pending = signal.getitimer(signal.ITIMER_REAL)[0]  # the caller's own timer (a test runner's timeout)
    if 0 < pending <= limit:  # it fires first: it governs
        yield
        return
    start = time.monotonic()
    previous = signal.signal(signal.SIGALRM, overrun)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if pending:
            signal.setitimer(signal.ITIMER_REAL, max(pending - (time.monotonic() - start), 1e-3))
