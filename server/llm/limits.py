"""A time limit on a model's answer, whatever the backend: the call runs in a daemon thread and the caller waits at
most the limit. A call that overruns is abandoned, not stopped (a blocking HTTP read cannot be interrupted from
outside); its client's own request timeout ends it soon after, and whatever it returns then is dropped, so nothing
is stored from it. The call's thread can read its deadline (`time_left`), so that a client ends its own requests
there rather than after its own, longer timeout.

Whether the call was in time is judged by when it ended, not by when the caller's thread got to look: a request cut
at the deadline ends a moment after it, and on a loaded machine the caller's thread, its wait over, often ran only
after that, and took the call's "timed out" error (or a result, stored though too late) for the call's own outcome."""

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


_deadline = threading.local()


class TooLate(Exception):
    """The call did not finish within its limit."""


def time_left() -> float | None:
    """Seconds left before the deadline of the `within` call running in this thread, or None outside one."""
    at: float | None = getattr(_deadline, "at", None)
    return None if at is None else at - time.monotonic()


def within(seconds: float, call: Callable[[], T]) -> T:
    """`call()`'s result or exception, or TooLate after `seconds`."""
    result: list[T] = []
    error: list[BaseException] = []
    ended: list[float] = []
    done = threading.Event()
    at = time.monotonic() + seconds

    def run() -> None:
        _deadline.at = at
        try:
            result.append(call())
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread as is
            error.append(e)
        finally:
            ended.append(time.monotonic())
            done.set()

    threading.Thread(target=run, name="model-call", daemon=True).start()
    if not done.wait(max(0.0, at - time.monotonic())) or ended[0] >= at:
        raise TooLate
    if error:
        raise error[0]
    return result[0]
