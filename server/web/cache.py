"""Slow reads kept per team for a minute: recurring patterns, fix effectiveness and the dashboard's figures group
every incident's vector (about 4 s each at 10,000 incidents on a 2-core machine), and several pages want them.

An expired value is still served while a background thread computes the new one (one at a time per value), so a
view rarely waits; but only up to twice `ttl` after it was computed: an older one (nobody looked for a while) was
served as it was, once 20 minutes old ("out of 2 incidents" beside 50), so the view waits for a new one. A page for
which the value is a side note (an incident's pattern) `peek`s instead, and shows it once a background thread has
computed it. A form in the web view that changes something clears its team's values; a change through MCP or the CLI
shows on these pages within twice `ttl` seconds (within `ttl` and a refresh while they are viewed)."""

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
TTL = 60.0
logger = logging.getLogger(__name__)


class Memo:
    def __init__(self, *, ttl: float = TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._values: dict[tuple[str, Hashable], tuple[float, Any]] = {}
        self._refreshing: dict[tuple[str, Hashable], threading.Event] = {}  # set when the computation ends
        self._generation: dict[str, int] = {}  # bumped by clear(): a value computed before it is not kept
        self._lock = threading.Lock()

    def get(self, team: str, key: Hashable, compute: Callable[[], T]) -> T:
        slot = (team, key)
        with self._lock:
            found = self._kept(slot)
            stale = found is not None and self.clock() - found[0] > self.ttl
            refresh = stale and slot not in self._refreshing
            if refresh:
                self._refreshing[slot] = threading.Event()
            running = self._refreshing.get(slot) if found is None else None
        if found is None:
            return self._first(slot, compute, running)
        if refresh:
            threading.Thread(target=self._refresh, args=(slot, compute), name="web-memo", daemon=True).start()
        value: T = found[1]
        return value

    def peek(self, team: str, key: Hashable, compute: Callable[[], T]) -> T | None:
        """As `get`, but never waits: without a value yet, one is computed in the background and None returned."""
        slot = (team, key)
        with self._lock:
            found = self._kept(slot)
            start = found is None and slot not in self._refreshing
            if start:
                self._refreshing[slot] = threading.Event()
        if found is not None:
            return self.get(team, key, compute)
        if start:
            threading.Thread(target=self._refresh, args=(slot, compute), name="web-memo", daemon=True).start()
        return None

    def _kept(self, slot: tuple[str, Hashable]) -> tuple[float, Any] | None:
        """The value kept for `slot`, unless computed more than twice `ttl` ago: too old to serve while refreshing."""
        found = self._values.get(slot)
        return found if found is not None and self.clock() - found[0] <= 2 * self.ttl else None

    def _first(self, slot: tuple[str, Hashable], compute: Callable[[], T], running: threading.Event | None) -> T:
        """No value yet: wait for the computation a `peek` started, if any, rather than run a second one."""
        if running is not None and running.wait(self.ttl):
            with self._lock:
                found = self._values.get(slot)
            if found is not None:
                value: T = found[1]
                return value
        return self._store(slot, compute)

    def _store(self, slot: tuple[str, Hashable], compute: Callable[[], T]) -> T:
        with self._lock:
            generation = self._generation.get(slot[0], 0)
        at, value = self.clock(), compute()
        with self._lock:
            if self._generation.get(slot[0], 0) == generation:
                self._values[slot] = (at, value)
        return value

    def _refresh(self, slot: tuple[str, Hashable], compute: Callable[[], Any]) -> None:
        try:
            self._store(slot, compute)
        except Exception:  # the expired value stays; the next view tries again
            logger.exception("refreshing a web view value failed")
        finally:
            with self._lock:
                done = self._refreshing.pop(slot, None)
            if done is not None:
                done.set()

    def clear(self, team: str) -> None:
        with self._lock:
            self._generation[team] = self._generation.get(team, 0) + 1
            for slot in [s for s in self._values if s[0] == team]:
                del self._values[slot]
