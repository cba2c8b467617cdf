"""The arithmetic of hybrid ranking (search/knowledge.py): each score z-normalised over the candidate pool."""

import numpy as np

_FLAT = 1e-9


def z_scores(values: np.ndarray) -> np.ndarray:
    """How many standard deviations each value stands above the pool's mean. A pool that cannot tell its candidates
    apart (one candidate, or all scoring the same) is measured against a candidate that matches nothing (a score of
    0) added to it: a lone match then stands 1 above it, n equal matches 1/sqrt(n), and a score of 0 stays 0. The
    order within the pool is the same either way."""
    spread = float(values.std())
    if spread >= _FLAT:
        return np.asarray((values - values.mean()) / spread)
    anchored = np.append(values, 0.0)
    spread = float(anchored.std())
    return np.zeros_like(values) if spread < _FLAT else (values - anchored.mean()) / spread
