"""The read-back check of a vector index tolerates HNSW's approximation and still rejects damage."""

from typing import Any

from agent_postmortem.store.index.health import SAMPLE, Probe
from agent_postmortem.store.index.remote import _read_back


def test_a_few_sampled_vectors_not_found_first_is_approximation_not_damage() -> None:
    ids = frozenset(range(SAMPLE))
    assert Probe(ids, SAMPLE, SAMPLE).readable
    assert Probe(ids, SAMPLE, SAMPLE - 2).readable  # 4% missed: what HNSW does over tightly clustered vectors
    assert not Probe(ids, SAMPLE, SAMPLE // 2).readable  # half lost: a damaged segment
    assert not Probe(ids, SAMPLE, 0).readable


class _Collection:
    """A Chroma collection whose query finds each sampled vector itself unless it is in `lost`."""

    def __init__(self, n: int, lost: int) -> None:
        self.ids = [str(i) for i in range(n)]
        self.lost = lost

    def get(self, *, include: list[str], limit: int | None = None, offset: int = 0, ids: Any = None) -> Any:
        if ids is not None:
            return {"ids": ids, "embeddings": [[float(i)] for i in ids]}
        return {"ids": self.ids[offset : offset + (limit or len(self.ids))]}

    def query(self, *, query_embeddings: list[list[float]], n_results: int, include: list[str]) -> Any:
        return {"distances": [[0.3 if v[0] < self.lost else 0.0] for v in query_embeddings]}


def test_the_team_index_check_tolerates_a_few_misses_and_rejects_many() -> None:
    found, readable = _read_back(_Collection(400, lost=0))
    assert found == set(range(400)) and readable
    assert _read_back(_Collection(400, lost=12))[1]  # 3% of the ids: a few of the sample at most
    assert not _read_back(_Collection(400, lost=200))[1]
