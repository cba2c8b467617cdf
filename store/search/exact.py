"""Exact dense search over every stored vector, in memory: the default below `EXACT_LIMIT` incidents.

At 100k incidents a matrix product over the 384-d vectors (150 MB) took 7.8 ms with recall 1.0, where
chromadb's HNSW took 9.9 ms with recall@10 of 0.97 (`postmortem bench perf`). The matrix is a cache of
the record store, loaded by primary key like the BM25 index, so every process sees every committed
capture on its next search without sharing chromadb's files. chromadb stays the persisted ANN index,
used above the limit.
"""

import threading
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from agent_postmortem.store.errors import IndexLoading
from agent_postmortem.store.records.cursor import LOAD_WAIT, KeyCursor

EXACT_LIMIT = 250_000
FRESH_FOR = 0.25  # seconds a refresh is trusted: rows other processes write show up within this


class ExactIndex:
    def __init__(
        self, load: Callable[[int, Sequence[tuple[int, int]]], Iterable[tuple[int, np.ndarray]]], dimension: int
    ) -> None:
        """`load(after_pk, gaps)` yields (pk, vector) for incidents above `after_pk` or inside one of the (first,
        last) key ranges `gaps`, in key order (see `agent_postmortem.store.records.cursor`)."""
        self._load = load
        self._dimension = dimension
        self._lock = threading.Lock()
        self._cursor = KeyCursor()
        self._pks = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, dimension), dtype=np.float32)
        self._size = 0
        self._checked = 0.0

    def refresh(self, *, force: bool = False) -> None:
        """Load rows added since the last load (at most every FRESH_FOR seconds unless forced). A search that finds
        another thread loading (the server's warm-up) waits for it rather than searching without those rows."""
        if not force and time.monotonic() - self._checked < FRESH_FOR:
            return
        if not self._lock.acquire(timeout=LOAD_WAIT):
            raise IndexLoading(LOAD_WAIT)
        try:
            if force or time.monotonic() - self._checked >= FRESH_FOR:  # else another thread has just loaded
                self._load_added()
                self._checked = time.monotonic()  # only a finished load counts as fresh
        finally:
            self._lock.release()

    def _load_added(self) -> None:
        added = list(self._load(self._cursor.newest, self._cursor.gaps()))
        if not added:
            return
        late = added[0][0] <= self._cursor.newest  # a row committed after a newer one was loaded
        self._cursor.advance(pk for pk, _ in added)
        needed = self._size + len(added)
        if needed > len(self._pks):  # grow by doubling: appends stay cheap
            capacity = max(needed, 2 * len(self._pks), 1024)
            self._pks = np.resize(self._pks, capacity)
            matrix = np.zeros((capacity, self._dimension), dtype=np.float32)
            matrix[: self._size] = self._matrix[: self._size]
            self._matrix = matrix
        self._pks[self._size : needed] = [pk for pk, _ in added]
        self._matrix[self._size : needed] = np.vstack([v for _, v in added])
        self._size = needed
        if late:  # keys stay sorted: `cosines` looks them up by bisection
            order = np.argsort(self._pks[:needed], kind="stable")
            self._pks[:needed] = self._pks[order]
            self._matrix[:needed] = self._matrix[order]

    def reset(self) -> None:
        with self._lock:
            self._pks = np.zeros(0, dtype=np.int64)
            self._matrix = np.zeros((0, self._dimension), dtype=np.float32)
            self._size = 0
            self._checked = 0.0
            self._cursor.reset()

    def count(self) -> int:
        self.refresh()
        return self._size

    def query(self, vector: np.ndarray, *, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(pk, cosine) best first; `allowed` (primary keys) restricts the search when filters apply."""
        self.refresh()
        pks, matrix = self._pks[: self._size], self._matrix[: self._size]
        scores = matrix @ vector.astype(np.float32)
        if allowed is not None:
            scores = np.where(np.isin(pks, allowed), scores, -np.inf)
        n = min(n, int(np.isfinite(scores).sum()))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(pks[i]), float(scores[i])) for i in top]

    def cosines(self, vector: np.ndarray, pks: list[int]) -> dict[int, float]:
        """Exact cosine of the given incidents (those in the index) to `vector`."""
        have = self._pks[: self._size]
        if not pks or not self._size:
            return {}
        where = np.clip(np.searchsorted(have, pks), 0, self._size - 1)
        found = have[where] == np.asarray(pks)
        scores = self._matrix[where[found]] @ vector.astype(np.float32)
        return {int(pk): float(s) for pk, s in zip(np.asarray(pks)[found], scores, strict=True)}
