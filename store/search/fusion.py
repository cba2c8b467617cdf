"""The arithmetic of hybrid ranking (search/knowledge.py): each score z-normalised over the candidate pool."""

import numpy as np


def z_scores(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return np.zeros_like(values) if spread < 1e-9 else (values - values.mean()) / spread
