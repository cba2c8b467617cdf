"""A team server known to be down: after a connection to it failed, a watched failure does not wait for its own
capture (the worker is busy retrying, and would make it wait its whole `wait_on_error`), so an agent's retry loop
against a dead server gained a second per attempt. The captures still queue and are told at exit as before; a
capture that reaches the server, or the window passing, ends the outage."""

import threading
import time
from collections.abc import Callable

DOWN_WINDOW = 30.0  # seconds after the last failed connection during which the server counts as down


class Outage:
    def __init__(self, *, window: float = DOWN_WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._since: float | None = None
        self._lock = threading.Lock()

    def failed(self) -> None:
        """A connection to the server failed (refused, timed out, reset)."""
        with self._lock:
            self._since = self._clock()

    def recovered(self) -> None:
        """The server answered."""
        with self._lock:
            self._since = None

    @property
    def down(self) -> bool:
        with self._lock:
            return self._since is not None and self._clock() - self._since < self.window
