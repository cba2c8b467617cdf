"""The arithmetic of hybrid ranking (search/knowledge.py): each score z-normalised over the candidate pool, and a
candidate's BM25 score looked up among the scored keys."""

import numpy as np


def z_scores(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return np.zeros_like(values) if spread < 1e-9 else (values - values.mean()) / spread


def scores_of(candidates: list[int], pks: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The score of each candidate among `pks` (sorted) with their `scores`; 0 for a candidate not among them."""
    if not len(pks):
        return np.zeros(len(candidates))
    where = np.clip(np.searchsorted(pks, candidates), 0, len(pks) - 1)
    found = pks[where] == np.asarray(candidates)
    return np.where(found, scores[where], 0.0).astype(np.float64)
