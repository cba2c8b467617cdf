"""Where exact search reads the float32 vectors it re-ranks by: memory (without `vectors`: tests, small in-memory
stores), the files saved with the int8 codes (search/float_rows.py), or the record store (`vectors(pks)`)."""

import logging
from collections.abc import Callable, Sequence

import numpy as np

from agent_postmortem.store.search.arrays import Blocks
from agent_postmortem.store.search.float_rows import FloatRows
from agent_postmortem.store.search.persisted import PersistedCache

logger = logging.getLogger(__name__)

Held = tuple[np.ndarray, np.ndarray, np.ndarray]  # keys, the vectors held here, which keys those are
Vectors = Callable[[Sequence[int]], dict[int, np.ndarray]]


class RerankRows:
    def __init__(self, dimension: int, vectors: Vectors | None, cache: PersistedCache | None) -> None:
        self._dimension = dimension
        self._vectors = vectors
        self.cache = cache
        self._floats = Blocks(dimension, np.float32)  # only without `vectors`
        kept = vectors is not None and cache is not None  # else memory (tests) or the records
        self.files = FloatRows(dimension, cache.path.parent) if kept and cache else None

    def close(self) -> None:
        if self.files is not None:
            self.files.close()

    def append(self, matrix: np.ndarray) -> None:
        """Keep the float32 vectors of rows just appended to the codes."""
        if self._vectors is None:
            self._floats.append(matrix)
        elif self.files is not None:
            try:
                self.files.append(matrix)
            except OSError:  # the record store still has them: re-rank from there, and save no cache
                logger.warning("could not keep vectors in %s; reading them from the records", self.cache, exc_info=True)
                self.files.close()
                self.files = None

    def held(self, keys: np.ndarray, rows: np.ndarray, sums: np.ndarray, scales: np.ndarray) -> Held:
        """(keys, the float32 vectors of those rows held here (memory or files), which rows those are); the caller
        holds the index's lock, so the rows are those of the keys (`sums`, `scales`: the codes', to check them)."""
        if self._vectors is None:
            return keys, self._floats.rows(rows), np.ones(len(rows), dtype=bool)
        if self.files is None:
            return keys, np.zeros((0, self._dimension), dtype=np.float32), np.zeros(len(rows), dtype=bool)
        floats, here, damaged = self.files.checked(rows, sums, scales)
        if damaged and self.cache is not None:
            logger.warning("the vector cache %s holds damaged vectors: it will be rebuilt from the records", self.cache)
            self.cache.discard()
        return keys, floats, here

    def scored(self, query: np.ndarray, held: Held) -> tuple[np.ndarray, np.ndarray]:
        """(keys, exact cosines) of the rows `held` looked up; those held nowhere here are read from the records."""
        keys, floats, here = held
        found, scores = [keys[here]], [floats @ query]
        rest = keys[~here].tolist()
        if rest:
            assert self._vectors is not None
            stored = {pk: v for pk, v in self._vectors(rest).items() if v.shape == query.shape}
            found.append(np.fromiter(stored, dtype=np.int64, count=len(stored)))
            scores.append(np.array([float(v @ query) for v in stored.values()], dtype=np.float32))
        return np.concatenate(found), np.concatenate(scores).astype(np.float64)
