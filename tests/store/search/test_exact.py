"""Exact dense search: the same answers as brute force, filters, growth, and what other processes wrote."""

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.search.exact import FRESH_FOR, ExactIndex
from tests.factories import make_service

pytestmark = pytest.mark.usefixtures("database")  # the store contract: SQLite and PostgreSQL


def test_exact_search_matches_brute_force_and_grows_by_appending() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(3000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = [(pk, vectors[pk - 1]) for pk in range(1, 3001)]
    visible = [1000]
    index = ExactIndex(lambda after, gaps: [r for r in rows[: visible[0]] if r[0] > after], 16)
    query = vectors[5]
    assert [pk for pk, _ in index.query(query, n=3)][0] == 6
    visible[0] = 3000
    assert index.count() == 1000  # within FRESH_FOR of the last look, new rows wait...
    index.refresh(force=True)  # ...unless this process wrote them (sync forces a refresh)
    got = index.query(query, n=10)
    expected = np.argsort(-(vectors @ query))[:10] + 1
    assert [pk for pk, _ in got] == list(expected)
    allowed = np.arange(2000, 3001)
    assert all(pk >= 2000 for pk, _ in index.query(query, n=10, allowed=allowed))
    assert index.query(query, n=10, allowed=np.array([], dtype=np.int64)) == []
    assert index.cosines(query, [6, 99999]) == {6: float(vectors[5] @ query)}


def test_a_capture_by_another_process_is_found_without_its_vector_index(tmp_path: Path) -> None:
    writer = make_service(tmp_path)
    reader = make_service(tmp_path)  # another server on the same data directory
    reader.search_incidents(query="warm up")  # its caches are loaded before the write
    incident_id = writer.capture_incident(
        IncidentCreate(title="Ledger sync wrote negative balances", error_message="ERR_LEDGER_NEG_991")
    ).id
    assert writer.knowledge.owns_index and not reader.knowledge.owns_index  # one owner per data directory
    time.sleep(FRESH_FOR + 0.05)  # the promise: other processes' captures show up within FRESH_FOR seconds
    hits = reader.search_incidents(query="ledger sync negative balances ERR_LEDGER_NEG_991").hits
    assert hits and hits[0].id == incident_id
    assert reader.search_incidents(query="ledger", mode="dense").hits[0].id == incident_id


def test_a_search_during_the_warm_up_load_waits_for_it_instead_of_searching_nothing() -> None:
    loading, release = threading.Event(), threading.Event()
    vectors = np.eye(4, dtype=np.float32)

    def slow_load(after: int, gaps: object) -> list[tuple[int, np.ndarray]]:
        loading.set()
        release.wait(timeout=30)  # the warm-up thread is still reading the vectors
        return [(pk, vectors[pk - 1]) for pk in range(1, 5) if pk > after]

    index = ExactIndex(slow_load, 4)
    warm = threading.Thread(target=index.refresh, kwargs={"force": True})
    warm.start()
    assert loading.wait(timeout=30)
    threading.Timer(0.2, release.set).start()  # the load finishes while the search is under way
    assert [pk for pk, _ in index.query(vectors[2], n=1)] == [3]
    warm.join(timeout=30)


def _clustered(n: int, dimension: int, seed: int) -> np.ndarray:
    """Unit vectors in tight clusters: many near-ties, where int8's error could reorder a top 10."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, n // 200), dimension)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), n)] + 0.05 * rng.normal(size=(n, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def test_int8_codes_with_exact_reranking_give_the_float32_top_n(tmp_path: Path) -> None:
    vectors = _clustered(40_000, 64, seed=1)
    stored = {pk: vectors[pk - 1] for pk in range(1, len(vectors) + 1)}
    index = ExactIndex(
        lambda after, gaps: [(pk, v) for pk, v in stored.items() if pk > after],
        64,
        vectors=lambda pks: {pk: stored[pk] for pk in pks if pk in stored},
    )
    rng = np.random.default_rng(2)
    for row in rng.integers(0, len(vectors), 40):
        query = vectors[row] + 0.02 * rng.normal(size=64).astype(np.float32)
        query /= np.linalg.norm(query)
        exact = vectors @ query
        expected = [int(i) + 1 for i in np.argsort(-exact, kind="stable")[:100]]
        got = index.query(query, n=100)
        assert [pk for pk, _ in got[:10]] == expected[:10]  # the top 10, in order
        assert len({pk for pk, _ in got} & set(expected)) >= 99  # and the pool the fusion uses
        assert got[0][1] == pytest.approx(float(vectors[got[0][0] - 1] @ query), abs=1e-6)  # float32 cosines


def test_a_new_process_loads_the_saved_codes_and_reads_only_newer_rows(tmp_path: Path) -> None:
    from agent_postmortem.store.search.exact import signature
    from agent_postmortem.store.search.persisted import PersistedCache

    vectors = _clustered(6000, 32, seed=3)
    stored = {pk: vectors[pk - 1] for pk in range(1, 5001)}
    asked: list[int] = []

    def load(after: int, gaps: object) -> list[tuple[int, np.ndarray]]:
        asked.append(after)
        return [(pk, v) for pk, v in stored.items() if pk > after]

    def make() -> ExactIndex:
        fingerprints = lambda pks: {pk: str(hash(stored[pk].tobytes())) for pk in pks if pk in stored}  # noqa: E731
        cache = PersistedCache(tmp_path / "v.int8", signature=signature("m", 32), fingerprints=fingerprints)
        return ExactIndex(load, 32, vectors=lambda pks: {pk: stored[pk] for pk in pks if pk in stored}, cache=cache)

    warm = make()
    warm.refresh(force=True)  # 5,000 rows: saved
    stored.update({pk: vectors[pk - 1] for pk in range(5001, 6001)})
    warm.refresh(force=True)
    asked.clear()
    cold = make()
    assert cold.count() == 6000 and asked == [5000]
    for query in vectors[:20]:
        assert cold.query(query, n=50) == warm.query(query, n=50)
