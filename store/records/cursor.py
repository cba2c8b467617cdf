"""How far an in-memory cache of the record store has read: the newest primary key loaded, and the gaps below it.

The exact and lexical indexes load the rows added since their last look by primary key. On SQLite writers are
serialised, so keys become visible in order. On PostgreSQL a transaction takes its key from a sequence when it
inserts and may commit after a later key has been read: reading only `pk > newest` would skip that row forever.
So the keys skipped below the newest are kept as gaps, and every look also reads the rows inside them; a gap
closes when its row shows up, and is forgotten after `LINGER` seconds (a rolled-back insert, a row without a
vector of the model, which never shows up).
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

LINGER = 600.0  # seconds: far longer than any write transaction of a capture or an import batch
MAX_GAPS = 256  # the newest gaps kept, should something leave many
LOAD_WAIT = 300.0  # seconds a search waits for another thread's load of a cache (the first build of a large home)


@dataclass
class _Gap:
    first: int
    last: int
    since: float


@dataclass
class KeyCursor:
    clock: Callable[[], float] = time.monotonic
    newest: int = 0
    _gaps: list[_Gap] = field(default_factory=list)

    def gaps(self) -> list[tuple[int, int]]:
        """The (first, last) key ranges, inclusive, skipped below `newest` and not seen since."""
        now = self.clock()
        self._gaps = [g for g in self._gaps if now - g.since < LINGER][-MAX_GAPS:]
        return [(g.first, g.last) for g in self._gaps]

    def advance(self, pks: Iterable[int]) -> None:
        """Record the keys just loaded (those above `newest` or inside a gap)."""
        for pk in sorted(pks):
            if pk > self.newest:
                if pk > self.newest + 1:
                    self._gaps.append(_Gap(self.newest + 1, pk - 1, self.clock()))
                self.newest = pk
            else:
                self._fill(pk)

    def _fill(self, pk: int) -> None:
        for i, gap in enumerate(self._gaps):
            if gap.first <= pk <= gap.last:
                parts = [_Gap(gap.first, pk - 1, gap.since), _Gap(pk + 1, gap.last, gap.since)]
                self._gaps[i : i + 1] = [p for p in parts if p.first <= p.last]
                return

    def restore(self, newest: int, gaps: Iterable[tuple[int, int]]) -> None:
        """Resume from a saved position (a persisted cache): its gaps linger LINGER seconds from now."""
        now = self.clock()
        self.newest, self._gaps = newest, [_Gap(first, last, now) for first, last in gaps]

    def reset(self) -> None:
        self.newest, self._gaps = 0, []
