"""The projected first stage of large exact indexes (search/reduced.py): built once at the size, saved, extended."""

from pathlib import Path

import numpy as np
import pytest

from agent_postmortem.store.search import reduced
from agent_postmortem.store.search.exact import ExactIndex, signature
from agent_postmortem.store.search.persisted import PersistedCache

DIMENSION = 64


def _vectors(n: int) -> np.ndarray:
    """Unit vectors with most of their energy in a few directions, as sentence embeddings have."""
    rng = np.random.default_rng(11)
    weights = np.exp(-np.arange(DIMENSION) / 6.0).astype(np.float32)
    vectors = rng.normal(size=(n, DIMENSION)).astype(np.float32) * weights
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class Home:
    def __init__(self, path: Path, vectors: np.ndarray) -> None:
        self.path, self.vectors = path, vectors
        self.stored: dict[int, np.ndarray] = {}

    def index(self) -> ExactIndex:
        stored = self.stored
        cache = PersistedCache(
            self.path, signature=signature("m", DIMENSION), fingerprints=lambda pks: dict.fromkeys(pks, "x")
        )
        return ExactIndex(
            lambda after, gaps: [(pk, v) for pk, v in sorted(stored.items()) if pk > after],
            DIMENSION,
            vectors=lambda pks: {pk: stored[pk] for pk in pks if pk in stored},
            cache=cache,
            reduce_from=4000,
        )

    def add(self, first: int, last: int) -> None:
        self.stored.update({pk: self.vectors[pk - 1] for pk in range(first, last + 1)})

    def recall(self, index: ExactIndex, queries: np.ndarray) -> float:
        keys = np.array(sorted(self.stored))
        matrix = np.vstack([self.stored[k] for k in keys])
        found = 0
        for query in queries:
            truth = set(keys[np.argsort(-(matrix @ query), kind="stable")[:10]].tolist())
            found += len(truth & {pk for pk, _ in index.query(query, n=10)})
        return found / (10 * len(queries))


@pytest.fixture
def small_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reduced, "DIMENSIONS", 16)
    monkeypatch.setattr(reduced, "CANDIDATES", 400)
    monkeypatch.setattr(reduced, "SAMPLE", 2000)


def test_from_its_size_the_index_searches_projected_codes_first_and_keeps_the_exact_top_10(
    tmp_path: Path, small_stage: None
) -> None:
    vectors = _vectors(6000)
    home = Home(tmp_path / "v.int8", vectors)
    home.add(1, 3000)
    index = home.index()
    index.refresh(force=True)
    assert index._reduced is None and index.describe().startswith("exact")  # below the size: every code is scanned
    home.add(3001, 5000)
    index.refresh(force=True)
    assert index._reduced is not None and index._reduced.size == 5000
    assert index.describe() == "int8 scan of a 16-d projection, float32 re-rank of the best 400"
    queries = vectors[:200:5] + 0.1 * np.random.default_rng(1).normal(size=(40, DIMENSION)).astype(np.float32)
    assert home.recall(index, queries) >= 0.98
    home.add(5001, 6000)  # rows added later are projected on the same directions
    index.refresh(force=True)
    assert index._reduced.size == 6000
    assert [index.query(vectors[pk - 1], n=1)[0][0] for pk in (5001, 5500, 6000)] == [5001, 5500, 6000]


def test_a_new_process_loads_the_projected_codes_instead_of_fitting_them_again(
    tmp_path: Path, small_stage: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    vectors = _vectors(5000)
    home = Home(tmp_path / "v.int8", vectors)
    home.add(1, 5000)
    first = home.index()
    first.refresh(force=True)  # built and saved
    monkeypatch.setattr(reduced, "fit", lambda sample, dimensions=0: pytest.fail("fitted again"))
    second = home.index()
    assert second.count() == 5000 and second._reduced is not None
    assert first._reduced is not None
    assert np.array_equal(second._reduced.rotation, first._reduced.rotation)
    for query in vectors[:50:7]:
        assert second.query(query, n=10) == first.query(query, n=10)
