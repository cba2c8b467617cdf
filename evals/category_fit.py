"""How the category classifier's logistic regressions are fitted (needs `dev`: scikit-learn): the scaling the
product applies before the weights, and one fit. Shared by `train_category` and `category_compare`."""

from dataclasses import dataclass
from typing import Any

import numpy as np

from agent_postmortem.analysis.category_words import Words


@dataclass(frozen=True)
class Scaling:
    """What the product does to a row before the weights: subtract `mean_`, divide by `scale_`."""

    mean_: np.ndarray
    scale_: np.ndarray

    def transform(self, x: np.ndarray) -> np.ndarray:
        scaled: np.ndarray = (x - self.mean_) / self.scale_
        return scaled


def scaling(x: np.ndarray, words: Words | None = None) -> Scaling:
    """Every feature standardised, except the words (the last columns when `words` is given): tf-idf already, only
    multiplied by their weight."""
    from sklearn.preprocessing import StandardScaler

    n = len(words) if words is not None else 0
    dense = StandardScaler().fit(x[:, : x.shape[1] - n])
    weight = words.weight if words is not None else 1.0
    return Scaling(np.concatenate([dense.mean_, np.zeros(n)]), np.concatenate([dense.scale_, np.full(n, 1 / weight)]))


def _fit(x: np.ndarray, y: np.ndarray, c: float, words: Words | None = None) -> tuple[Scaling, Any]:
    from sklearn.linear_model import LogisticRegression

    scaler = scaling(x, words)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=20_000, tol=1e-8)
    model.fit(scaler.transform(x), y)
    return scaler, model
