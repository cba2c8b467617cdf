"""Exact dense search over every stored vector, in memory: the default below `EXACT_LIMIT` incidents.

Vectors are held once, compactly: int8 with a scale per row (a quarter of float32: 38 MB at 100k incidents). A query
scores every row from those codes (converted to float32 a chunk at a time, on two threads), takes the best
RERANK × n, and orders those by their exact cosine from the stored float32 vectors (`vectors(pks)`: the record
store), so the answer is the float32 top n: int8's error (about 5e-4 of a cosine) only decides which rows are
re-ranked.

The codes are a cache of the record store, loaded by primary key like the BM25 index, so every process sees every
committed capture on its next search without sharing chromadb's files; with a `PersistedCache` they are saved next to
the database, and a new process reads only the rows added since. Without `vectors` (tests, small in-memory stores)
the float32 rows are kept in memory as well and re-ranking reads them there.
"""

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from agent_postmortem.store.errors import IndexLoading
from agent_postmortem.store.records.cursor import LOAD_WAIT, KeyCursor
from agent_postmortem.store.search.arrays import Blocks, Growable
from agent_postmortem.store.search.persisted import SAVE_AFTER, PersistedCache, Snapshot

logger = logging.getLogger(__name__)

EXACT_LIMIT = 2_000_000
FRESH_FOR = 0.25  # seconds a refresh is trusted: rows other processes write show up within this
CHUNK = 2048  # rows converted to float32 at a time (3 MB: stays in cache)
PARALLEL_FROM = 32_768  # rows from which the scan is split over two threads
RERANK = 2  # re-rank this many times n candidates exactly
LOAD_BATCH = 16_384
FORMAT = 1
_SCAN = ThreadPoolExecutor(max_workers=2, thread_name_prefix="exact-scan")
_SCANNING = threading.Lock()


@functools.cache
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


Loader = Callable[[int, Sequence[tuple[int, int]]], Iterable[tuple[int, np.ndarray]]]
Vectors = Callable[[Sequence[int]], dict[int, np.ndarray]]


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and the scale of each row: row ≈ scale * codes."""
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127
    codes = np.rint(vectors / scales[:, None]).astype(np.int8)
    return codes, scales.astype(np.float32)


def signature(model_id: str, dimension: int) -> dict[str, object]:
    return {"kind": "int8 vectors", "format": FORMAT, "model": model_id, "dimension": dimension}


class ExactIndex:
    def __init__(
        self, load: Loader, dimension: int, *, vectors: Vectors | None = None, cache: PersistedCache | None = None
    ) -> None:
        """`load(after_pk, gaps)` yields (pk, vector) for incidents above `after_pk` or inside one of the (first,
        last) key ranges `gaps`, in key order (see `agent_postmortem.store.records.cursor`); `vectors(pks)`: their
        stored float32 vectors. `cache`: where the codes are saved and loaded from (None: kept in memory only)."""
        self._load = load
        self._dimension = dimension
        self._vectors = vectors
        self.cache = cache
        self._lock = threading.Lock()
        self._checked = 0.0
        self._start()

    def _start(self, codes: np.ndarray | None = None, scales: np.ndarray | None = None) -> None:
        self._cursor = KeyCursor()
        self._pks = Growable(np.int64)
        self._order: np.ndarray | None = None  # rows by key, when a late row broke the order
        self._scales = Growable(np.float32, scales)
        self._codes = Blocks(self._dimension, np.int8, codes)
        self._floats = Blocks(self._dimension, np.float32)  # only without `vectors`
        self._opened = False
        self._unsaved = 0

    # --- loading ------------------------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> None:
        """Load rows added since the last load (at most every FRESH_FOR seconds unless forced). A search that finds
        another thread loading (the server's warm-up) waits for it rather than searching without those rows."""
        if not force and time.monotonic() - self._checked < FRESH_FOR:
            return
        saving = None
        if not self._lock.acquire(timeout=LOAD_WAIT):
            raise IndexLoading(LOAD_WAIT)
        try:
            if force or time.monotonic() - self._checked >= FRESH_FOR:  # else another thread has just loaded
                self._load_added()
                self._checked = time.monotonic()  # only a finished load counts as fresh
                saving = self._snapshot() if self._unsaved >= max(SAVE_AFTER, self._pks.size // 50) else None
        finally:
            self._lock.release()
        if saving is not None:
            self._save(saving)

    def _load_added(self) -> None:
        if not self._opened:
            self._opened = True
            self._open_saved()
        loaded: list[int] = []
        batch: list[tuple[int, np.ndarray]] = []
        for row in self._load(self._cursor.newest, self._cursor.gaps()):
            batch.append(row)
            if len(batch) >= LOAD_BATCH:
                loaded += self._append(batch)
                batch = []
        if batch:
            loaded += self._append(batch)
        if loaded:
            self._cursor.advance(loaded)
            self._unsaved += len(loaded)

    def _append(self, rows: list[tuple[int, np.ndarray]]) -> list[int]:
        pks = [pk for pk, _ in rows]
        matrix = np.vstack([v for _, v in rows]).astype(np.float32)
        before = self._pks.size
        if before and (pks[0] <= self._pks.view[-1] or self._order is not None):  # a row committed late
            order = self._order if self._order is not None else np.arange(before)
            where = np.searchsorted(self._pks.view[order], pks)
            self._order = np.insert(order, where, np.arange(before, before + len(pks)))
        self._pks.extend(pks)
        codes, scales = quantize(matrix)
        self._scales.extend(scales)
        self._codes.append(codes)
        if self._vectors is None:
            self._floats.append(matrix)
        return pks

    def _open_saved(self) -> None:
        saved = self.cache.load() if self.cache is not None and self._vectors is not None else None
        if saved is None:
            return
        self._start(saved.arrays["codes"], saved.arrays["scales"])
        self._opened = True
        self._pks.extend(saved.arrays["pks"])
        order = np.argsort(self._pks.view, kind="stable")
        self._order = None if bool(np.all(order == np.arange(len(order)))) else order
        self._cursor.restore(saved.newest, saved.gaps)

    def _snapshot(self) -> Snapshot | None:
        if self.cache is None or self._vectors is None or not self._pks.size:
            return None
        cursor = KeyCursor()
        cursor.restore(self._cursor.newest, self._cursor.gaps())
        codes = [part for _, part in self._codes.spans()]  # blocks are only appended to: the used parts stay put
        self._unsaved = 0
        return cursor, {"pks": self._pks.view, "scales": self._scales.view, "codes": codes}

    def _save(self, snapshot: Snapshot) -> None:
        assert self.cache is not None
        try:
            self.cache.save(*snapshot)
        except OSError:  # a cache: the next process rebuilds what it cannot load
            logger.warning("could not save the vector cache to %s", self.cache.path, exc_info=True)

    def save(self) -> None:
        """Save the codes now (the benchmark and the tests; refresh saves every few thousand rows by itself)."""
        self.refresh(force=True)
        with self._lock:
            snapshot = self._snapshot()
        if snapshot is not None:
            self._save(snapshot)

    def reset(self) -> None:
        """Forget everything, on disk too: the vectors changed under the index (reindex)."""
        with self._lock:
            self._start()
            self._checked = 0.0
            if self.cache is not None:
                self.cache.discard()

    def count(self) -> int:
        self.refresh()
        return self._pks.size

    # --- searching ----------------------------------------------------------------------------

    def query(self, vector: np.ndarray, *, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(pk, cosine) best first; `allowed` (primary keys) restricts the search when filters apply."""
        self.refresh()
        query = np.asarray(vector, dtype=np.float32)
        with self._lock:
            pks, scores = self._pks.view, self._approximate(query)
        if allowed is not None:
            scores[~np.isin(pks, allowed)] = -np.inf
        n = min(n, int(np.isfinite(scores).sum()))
        if n <= 0:
            return []
        take = min(len(scores), RERANK * n, int(np.isfinite(scores).sum()))
        top = np.argpartition(-scores, take - 1)[:take]
        exact = self.cosines(query, [int(pk) for pk in pks[top]])
        ranked = sorted(exact.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:n]

    def _approximate(self, query: np.ndarray) -> np.ndarray:
        """Every row's score from its int8 codes (cosine ± about 5e-4). The chunks' products run on BLAS limited to one
        thread, split over this module's two threads: OpenBLAS's own threads, handed 50 small products per query,
        spent most of their time waiting for each other when the cores were shared (10k incidents: 113 ms instead of
        1 ms with other work running). One scan at a time: the limit is process-wide."""
        with _SCANNING, _blas().limit(limits=1, user_api="blas"):
            return self._scan(query)

    def _scan(self, query: np.ndarray) -> np.ndarray:
        out = np.empty(self._pks.size, dtype=np.float32)
        chunks = [
            (part[lo : lo + CHUNK], start + lo)
            for start, part in self._codes.spans()
            for lo in range(0, len(part), CHUNK)
        ]

        def score(work: list[tuple[np.ndarray, int]]) -> None:
            for codes, at in work:
                np.dot(codes.astype(np.float32), query, out=out[at : at + len(codes)])

        if len(out) < PARALLEL_FROM:
            score(chunks)
        else:
            half = len(chunks) // 2
            for done in [_SCAN.submit(score, chunks[:half]), _SCAN.submit(score, chunks[half:])]:
                done.result()
        out *= self._scales.view
        return out

    def cosines(self, vector: np.ndarray, pks: list[int]) -> dict[int, float]:
        """Exact cosine of the given incidents (those in the index) to `vector`."""
        if not pks or not self._pks.size:
            return {}
        query = np.asarray(vector, dtype=np.float32)
        with self._lock:
            rows = self._rows_of(np.asarray(pks, dtype=np.int64))
            found = [pk for pk, row in zip(pks, rows, strict=True) if row >= 0]
            floats = self._floats.rows(rows[rows >= 0]) if self._vectors is None else None
        if floats is None:
            assert self._vectors is not None
            stored = self._vectors(found)
            found = [pk for pk in found if pk in stored and stored[pk].shape == query.shape]
            floats = np.vstack([stored[pk] for pk in found]) if found else np.zeros((0, len(query)), np.float32)
        scores = floats @ query
        return {pk: float(s) for pk, s in zip(found, scores, strict=True)}

    def _rows_of(self, pks: np.ndarray) -> np.ndarray:
        """The row of each key, -1 for keys not in the index."""
        have = self._pks.view
        ordered = have if self._order is None else have[self._order]
        where = np.clip(np.searchsorted(ordered, pks), 0, len(ordered) - 1)
        rows = where if self._order is None else self._order[where]
        return np.where(ordered[where] == pks, rows, -1)
