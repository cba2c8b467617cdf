"""The words of a capture as a feature group of the category classifier: tf-idf of its words and word pairs.

The embedding reads what a report means; these read which words it uses, so an exception name, an error code or a
guide's boundary phrase ("dropped column", "policy limit") counts even where one sentence vector blurs it among the
rest of the report. The vocabulary and the inverse document frequencies are fitted by `evals/train_category.py` on
the training texts (labels are not read) and shipped in the model file; here they are applied with numpy alone.

A term is a lower-cased token of two or more word characters (dots inside kept: `errno.111`, `gpt-4o` gives
`gpt` and `4o`) or two such tokens in a row. Each count is damped (1 + ln count), weighted by the term's inverse
document frequency ln((1 + n) / (1 + df)) + 1, and the row is scaled to unit length: scikit-learn's
`TfidfVectorizer(sublinear_tf=True)`, which the trainer's test checks this against.
"""

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from agent_postmortem.store.models import IncidentCreate

TOKEN = re.compile(r"\b\w[\w.]+\b")
FIELDS = ("title", "description", "error_type", "error_message")


def capture_text(capture: IncidentCreate) -> str:
    """The fields the words are read from, as one text."""
    return " ".join(str(value) for f in FIELDS if (value := getattr(capture, f)))


def terms(text: str) -> list[str]:
    """The words of `text` (lower-cased) and each pair of neighbouring words."""
    tokens = TOKEN.findall(text.lower())
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


@dataclass(frozen=True)
class Words:
    """A fitted vocabulary: its terms in column order, their inverse document frequencies, and the weight the group
    gets against the standardised features beside it."""

    terms: tuple[str, ...]
    idf: np.ndarray
    weight: float

    @cached_property
    def columns(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.terms)}

    @classmethod
    def fit(cls, texts: Iterable[str], *, min_df: int, weight: float) -> "Words":
        """The terms found in at least `min_df` of `texts`, in sorted order."""
        found = [set(terms(t)) for t in texts]
        df = Counter(term for seen in found for term in seen)
        kept = sorted(term for term, count in df.items() if count >= min_df)
        n = len(found)
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1 for t in kept], dtype=np.float64)
        return cls(tuple(kept), idf, weight)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Words":
        return cls(tuple(data["terms"]), np.array(data["idf"], dtype=np.float64), float(data["weight"]))

    def to_json(self, digits: int) -> dict[str, Any]:
        return {"weight": self.weight, "terms": list(self.terms), "idf": [float(f"{v:.{digits}g}") for v in self.idf]}

    def __len__(self) -> int:
        return len(self.terms)

    def row(self, text: str) -> np.ndarray:
        """The text's tf-idf row (unit length, or zeros when it has no known term)."""
        columns = self.columns
        row = np.zeros(len(self.terms), dtype=np.float64)
        for term, count in Counter(t for t in terms(text) if t in columns).items():
            row[columns[term]] = (1 + math.log(count)) * self.idf[columns[term]]
        norm = float(np.linalg.norm(row))
        return row / norm if norm else row

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        return np.vstack([self.row(t) for t in texts]) if texts else np.zeros((0, len(self.terms)))
