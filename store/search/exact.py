"""Exact dense search over every stored vector, in memory: the default below `EXACT_LIMIT` incidents.

Vectors are held once, compactly: int8 with a scale per row (a quarter of float32: 38 MB at 100k incidents), kept
transposed in column blocks for the scan (search/int8_scan.py). A query is quantised to int8 too, every row is scored
from the two sets of codes by ONNX Runtime's integer product (about 2 ms at 100k on one core, against 8-10 ms for
numpy converting the codes to float32), the best RERANK × n are ordered by their exact cosine from the stored float32
vectors, so the answer is the float32 top n: int8's error only decides which rows are re-ranked. On the AIID queries
over 100k incidents (`bench perf`), the exact top 10 was always within the best 12 int8 scores (20 are re-ranked),
and the exact top 100 within the best 105 (200 are re-ranked).

The codes are a cache of the record store, loaded by primary key like the BM25 index, so every process sees every
committed capture on its next search without sharing chromadb's files; with a `PersistedCache` they are saved next to
the database with the float32 vectors, and a new process reads only the rows added since. Re-ranking reads the float32
vectors from there (search/float_rows.py: 0.3 ms for 200 rows at 100k, 1.5 ms from the record store); without a cache
file from the record store (`vectors(pks)`), and without `vectors` (tests, small in-memory stores) from memory.
"""

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from agent_postmortem.store.errors import IndexLoading
from agent_postmortem.store.records.cursor import LOAD_WAIT, KeyCursor
from agent_postmortem.store.search import float_rows, int8_scan, reduced
from agent_postmortem.store.search.arrays import Columns, Growable
from agent_postmortem.store.search.cache_file import Part
from agent_postmortem.store.search.key_rows import KeyRows
from agent_postmortem.store.search.persisted import SAVE_AFTER, PersistedCache, Snapshot
from agent_postmortem.store.search.reduced import Reduced
from agent_postmortem.store.search.rerank import RerankRows, Vectors

logger = logging.getLogger(__name__)

EXACT_LIMIT = 2_000_000
REDUCE_FROM = 400_000  # rows from which the scan runs over projected codes first (search/reduced.py)
FRESH_FOR = 0.25  # seconds a refresh is trusted: rows other processes write show up within this
BLOCK = 16_384  # rows per column block of the codes (6 MB at 384 dimensions)
RERANK = 2  # re-rank this many times n candidates exactly
LOAD_BATCH = 16_384
FORMAT = 3  # 3: the float32 rows are in the file too


Loader = Callable[[int, Sequence[tuple[int, int]]], Iterable[tuple[int, np.ndarray]]]


def signature(model_id: str, dimension: int) -> dict[str, object]:
    return {"kind": "int8 vectors", "format": FORMAT, "model": model_id, "dimension": dimension, "block": BLOCK}


class ExactIndex:
    def __init__(
        self,
        load: Loader,
        dimension: int,
        *,
        vectors: Vectors | None = None,
        cache: PersistedCache | None = None,
        reduce_from: int = REDUCE_FROM,
    ) -> None:
        """`load(after_pk, gaps)` yields (pk, vector) for incidents above `after_pk` or inside one of the (first,
        last) key ranges `gaps`, in key order (see `agent_postmortem.store.records.cursor`); `vectors(pks)`: their
        stored float32 vectors. `cache`: where the codes are saved and loaded from (None: kept in memory only)."""
        self._load = load
        self._dimension = dimension
        self._vectors = vectors
        self.cache = cache
        self._reduce_from = reduce_from
        self._lock = threading.Lock()
        self._checked = 0.0
        self._rerank = RerankRows(dimension, vectors, cache)  # replaced by `_start`, which closes the one it finds
        self._generation = 0  # counts resets: a save finished after one is not adopted
        self._start()

    def _start(
        self, codes: np.ndarray | None = None, scales: np.ndarray | None = None, sums: np.ndarray | None = None
    ) -> None:
        self._cursor = KeyCursor()
        self._keys = KeyRows()
        self._scales = Growable(np.float32, scales)
        self._sums = Growable(np.int32, sums)  # each row's sum of codes: see int8_scan.SHIFT
        self._codes = Columns(self._dimension, np.int8, BLOCK, codes, 0 if scales is None else len(scales))
        self._reduced: Reduced | None = None
        self._rerank.close()
        self._rerank = RerankRows(self._dimension, self._vectors, self.cache)
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
                self._reduce()
                self._checked = time.monotonic()  # only a finished load counts as fresh
                saving = self._snapshot() if self._unsaved >= max(SAVE_AFTER, self._keys.size // 50) else None
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
        self._keys.extend(pks)
        codes, scales = int8_scan.quantize(matrix)
        self._scales.extend(scales)
        self._sums.extend(codes.sum(axis=1, dtype=np.int32))
        self._codes.append(codes)
        if self._reduced is not None:
            self._reduced.add(matrix)
        self._rerank.append(matrix)
        return pks

    def _open_saved(self) -> None:
        saved = self.cache.load(keep_fd=True) if self.cache is not None and self._vectors is not None else None
        if saved is None:
            return
        assert saved.fd is not None
        if len(saved.arrays.get(float_rows.NAME, ())) != len(saved.arrays["pks"]):
            logger.warning("rebuilding the search cache %s: its vectors are incomplete", self.cache)
            os.close(saved.fd)
            return
        self._start(saved.arrays["codes"], saved.arrays["scales"], saved.arrays["sums"])
        if self._rerank.files is not None:
            self._rerank.files.open_saved(saved.fd, saved.offsets[float_rows.NAME], len(saved.arrays["pks"]))
        else:
            os.close(saved.fd)
        if len(saved.arrays.get("reduced_scales", ())) == len(saved.arrays["pks"]):
            self._reduced = Reduced(np.array(saved.arrays["reduced_rotation"]), BLOCK, saved.arrays)
        self._opened = True
        self._keys.restore(saved.arrays["pks"])
        self._cursor.restore(saved.newest, saved.gaps)

    def _snapshot(self) -> Snapshot | None:
        if self.cache is None or self._rerank.files is None or not self._keys.size:
            return None
        floats = self._rerank.files.regions(self._keys.size)
        if floats is None:
            return None
        cursor = KeyCursor()
        cursor.restore(self._cursor.newest, self._cursor.gaps())
        # full blocks never change again; the last one takes new rows while the file is written: save a copy
        codes: list[Part] = [block[None] for block in self._codes.blocks]
        codes[-1] = self._codes.blocks[-1][None].copy()
        self._unsaved = 0
        vectors: list[Part] = [*floats]
        arrays: dict[str, Part | list[Part]] = {"pks": self._keys.view, "scales": self._scales.view}
        arrays.update({"sums": self._sums.view, "codes": codes, float_rows.NAME: vectors})
        return cursor, {**arrays, **(self._reduced.arrays() if self._reduced is not None else {})}

    def _save(self, snapshot: Snapshot) -> None:
        """Write the cache file, then read the saved rows' vectors from it (unless the index was reset meanwhile)."""
        assert self.cache is not None
        generation = self._generation
        parts = snapshot[1][float_rows.NAME]
        try:
            saved = self.cache.save(*snapshot, keep_fd=True)
        except OSError:  # a cache: the next process rebuilds what it cannot load
            logger.warning("could not save the vector cache to %s", self.cache.path, exc_info=True)
            saved = None
        finally:
            float_rows.close_regions(parts)
        if saved is None or saved.fd is None:
            return
        with self._lock:
            if self._rerank.files is not None and generation == self._generation:
                self._rerank.files.adopt(saved.fd, saved.offsets[float_rows.NAME], len(saved.arrays["pks"]))
                return
        os.close(saved.fd)

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
            self._forget()
            if self.cache is not None:
                self.cache.discard()

    def close(self) -> None:
        """Let go of what is loaded, the files its vectors are read from included (a closed service kept one open
        for each: a process that opens and closes services ran out of descriptors); the next search loads again."""
        with self._lock:
            self._forget()

    def _forget(self) -> None:
        self._generation += 1
        self._start()
        self._checked = 0.0

    def describe(self) -> str:
        """How a query is answered now: what the benchmark reports as the dense path at each size."""
        if self._reduced is not None:
            best = reduced.CANDIDATES
            return (
                f"int8 scan of a {self._reduced.rotation.shape[1]}-d projection, float32 re-rank of the best {best:,}"
            )
        return "exact: int8 scan, float32 re-rank"

    def count(self) -> int:
        self.refresh()
        return self._keys.size

    # --- searching ----------------------------------------------------------------------------

    def _reduce(self) -> None:
        """Build the projected codes once the index reaches `reduce_from` rows (search/reduced.py), and schedule a
        save so the next process loads them."""
        if self._reduced is None and self._rerank.files is not None and self._keys.size >= self._reduce_from:
            self._reduced = reduced.build(self._rerank.files, self._keys.size, BLOCK)
            if self._reduced is not None:
                self._unsaved = max(self._unsaved, SAVE_AFTER, self._keys.size // 50)

    def query(self, vector: np.ndarray, *, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(pk, cosine) best first; `allowed` (primary keys) restricts the search when filters apply."""
        self.refresh()
        query = np.asarray(vector, dtype=np.float32)
        if n <= 0:
            return []
        with self._lock:
            pks = self._keys.view
            keep = None if allowed is None else np.isin(pks, allowed)
            if self._reduced is not None and self._reduced.size == len(pks):
                top = self._reduced.candidates(query, max(reduced.CANDIDATES, RERANK * n), keep)
            else:
                top = self._best_codes(query, RERANK * n, keep)
            held = self._rerank.held(pks[top], top, self._sums.view, self._scales.view)
        found, scores = self._rerank.scored(query, held)
        order = np.lexsort((found, -scores))[:n]
        return list(zip(found[order].tolist(), scores[order].tolist(), strict=True))

    def _best_codes(self, query: np.ndarray, k: int, keep: np.ndarray | None) -> np.ndarray:
        """The rows of the k best int8 scores over every code (int8_scan.py), in no order."""
        scores = int8_scan.scan(query, self._codes.blocks, self._sums.view, self._scales.view)
        return reduced.best_allowed(scores, k, keep)

    def cosines(self, vector: np.ndarray, pks: list[int]) -> dict[int, float]:
        """Exact cosine of the given incidents (those in the index) to `vector`."""
        if not pks or not self._keys.size:
            return {}
        keys = np.asarray(pks, dtype=np.int64)
        with self._lock:
            rows = self._keys.rows_of(keys)
            held = self._rerank.held(keys[rows >= 0], rows[rows >= 0], self._sums.view, self._scales.view)
        found, scores = self._rerank.scored(np.asarray(vector, dtype=np.float32), held)
        return dict(zip(found.tolist(), scores.tolist(), strict=True))
