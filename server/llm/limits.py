"""A time limit on a model's answer, whatever the backend: the call runs in a daemon thread and the caller waits at
most the limit. A call that overruns is abandoned, not stopped (a blocking HTTP read cannot be interrupted from
outside); its client's own request timeout ends it soon after, and whatever it returns then is dropped, so nothing
is stored from it."""

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TooLate(Exception):
    """The call did not finish within its limit."""


def within(seconds: float, call: Callable[[], T]) -> T:
    """`call()`'s result or exception, or TooLate after `seconds`."""
    result: list[T] = []
    error: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            result.append(call())
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread as is
            error.append(e)
        finally:
            done.set()

    threading.Thread(target=run, name="model-call", daemon=True).start()
    if not done.wait(seconds):
        raise TooLate
    if error:
        raise error[0]
    return result[0]
