"""The first stage of the dense search on large knowledge bases: int8 codes of each vector's projection on its
principal directions, scanned instead of the full codes, whose best candidates are re-ranked with float32 vectors.

At 1M incidents the exact int8 scan reads 384 MB per query: 34-45 ms on this 2-core machine under load, most of the
40 ms the whole search may take there. Projected on the DIMENSIONS directions that carry most of the vectors' energy
(the top eigenvectors of the second-moment matrix of a sample of the stored vectors, which best preserve dot
products), the codes are a quarter of that. On the 1M benchmark knowledge base and 100 of its AIID queries, the
best CANDIDATES = 2,000 projected scores re-ranked exactly give recall@10 0.996 against the exact top 10 (1,000:
0.989; 4,000: 0.999), at 12-15 ms for the projected scan and 3-5 ms for reading the 2,000 float32 vectors, on this
2-core machine under load (`bench perf` reports the recall and the time it gets).

The directions are fitted once, on SAMPLE stored vectors, when the index first reaches `exact.REDUCE_FROM` rows, and
kept (saved with the codes): rows added later are projected on the same directions. Below that size the exact scan is
fast enough (2 ms at 100k) and this stage does not exist.
"""

import logging
import time

import numpy as np

from agent_postmortem.store.search import int8_scan
from agent_postmortem.store.search.arrays import Columns, Growable
from agent_postmortem.store.search.cache_file import Part
from agent_postmortem.store.search.float_rows import FloatRows

logger = logging.getLogger(__name__)

DIMENSIONS = 96
SAMPLE = 20_000
CANDIDATES = 2_000  # best projected scores re-ranked with float32 vectors
CHUNK = 65_536  # rows projected at once when the stage is built


def build(files: FloatRows, size: int, block: int) -> "Reduced | None":
    """The stage for the first `size` rows of `files`: directions fitted on SAMPLE of them, every row projected (5 s
    at 1M rows here, once). None (logged) when the vectors cannot be read."""
    started = time.monotonic()
    try:
        sample = np.sort(np.random.default_rng(0).choice(size, min(size, SAMPLE), replace=False))
        stage = Reduced(fit(files.read(sample)), block)
        for start in range(0, size, CHUNK):
            stage.add(files.read_range(start, min(size, start + CHUNK)))
    except OSError:
        logger.warning("could not project the cached vectors; every code is scanned", exc_info=True)
        return None
    logger.info("projected %d vectors for the first search stage in %.1f s", size, time.monotonic() - started)
    return stage


def fit(sample: np.ndarray, dimensions: int | None = None) -> np.ndarray:
    """The `dimensions` (default DIMENSIONS) directions (d × dimensions, float32) that keep most of the sample's dot
    products."""
    matrix = np.asarray(sample, dtype=np.float64)
    _, vectors = np.linalg.eigh(matrix.T @ matrix)
    return np.ascontiguousarray(vectors[:, ::-1][:, : dimensions or DIMENSIONS], dtype=np.float32)


class Reduced:
    def __init__(self, rotation: np.ndarray, block: int, saved: dict[str, np.ndarray] | None = None) -> None:
        """`rotation`: from `fit`; `saved`: the arrays of `arrays()` as a cache file gives them back."""
        self.rotation = rotation
        rows = 0 if saved is None else len(saved["reduced_scales"])
        self._codes = Columns(
            rotation.shape[1], np.int8, block, None if saved is None else saved["reduced_codes"], rows
        )
        self._scales = Growable(np.float32, None if saved is None else saved["reduced_scales"])
        self._sums = Growable(np.int32, None if saved is None else saved["reduced_sums"])

    @property
    def size(self) -> int:
        return self._scales.size

    def add(self, vectors: np.ndarray) -> None:
        codes, scales = int8_scan.quantize(np.asarray(vectors, dtype=np.float32) @ self.rotation)
        self._scales.extend(scales)
        self._sums.extend(codes.sum(axis=1, dtype=np.int32))
        self._codes.append(codes)

    def candidates(self, query: np.ndarray, k: int, keep: np.ndarray | None) -> np.ndarray:
        """The rows of the k best projected scores (those `keep` allows, when given), in no order."""
        scores = int8_scan.scan(query @ self.rotation, self._codes.blocks, self._sums.view, self._scales.view)
        return best_allowed(scores, k, keep)

    def arrays(self) -> dict[str, Part | list[Part]]:
        """What a cache file keeps of this stage (the last block copied: it takes rows while the file is written)."""
        codes: list[Part] = [block[None] for block in self._codes.blocks]
        if codes:
            codes[-1] = self._codes.blocks[-1][None].copy()
        return {
            "reduced_codes": codes,
            "reduced_scales": self._scales.view,
            "reduced_sums": self._sums.view,
            "reduced_rotation": self.rotation,
        }


def best_allowed(scores: np.ndarray, k: int, keep: np.ndarray | None) -> np.ndarray:
    """The positions of the k highest scores among those `keep` allows (all when None), in no order."""
    if keep is not None:
        scores[~keep] = -np.inf
        k = min(k, int(np.count_nonzero(keep)))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k >= len(scores):
        return np.flatnonzero(np.isfinite(scores))
    return np.argpartition(-scores, k - 1)[:k]
