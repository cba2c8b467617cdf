"""Recurring patterns: the grouping rules on hand-made vectors, and the whole path on the seed knowledge base."""

import json
from pathlib import Path

import numpy as np
import pytest
from mcp import Client

from agent_postmortem.analysis.patterns import Member, group_of, groups, label, mutual_neighbours
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.mcp.server import create_server
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import ActionItemCreate
from tests.factories import SEED, make_service


def unit(*rows: list[float]) -> np.ndarray:
    x = np.array(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def member(pk: int, category: str = "timeout", signature: str | None = None, title: str = "x") -> Member:
    return Member(pk, title, category, signature, None, None)


def test_close_incidents_of_one_category_form_a_pattern_and_outliers_do_not() -> None:
    vectors = unit([1, 0, 0], [0.95, 0.05, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 1])
    found = groups([member(i) for i in range(5)], vectors, min_size=3)
    assert found == [[0, 1, 2]]


def test_similar_text_about_another_failure_mode_is_not_merged() -> None:
    vectors = unit([1, 0, 0], [0.95, 0.05, 0], [0.9, 0.1, 0])
    members = [member(0), member(1), member(2, category="rate_limit")]
    assert groups(members, vectors, min_size=3) == []
    assert groups(members, vectors, min_size=2) == [[0, 1]]


def test_a_shared_signature_links_incidents_whatever_their_text() -> None:
    vectors = unit([1, 0, 0], [0, 1, 0], [0, 0, 1])
    members = [member(i, signature="sig-a") for i in range(3)]
    assert groups(members, vectors, min_size=3) == [[0, 1, 2]]


def test_only_mutual_neighbours_above_the_link_threshold_are_linked() -> None:
    vectors = unit([1, 0], [0.9, 0.44], [0, 1])
    pairs = mutual_neighbours(vectors, k=1, link=0.6)
    assert pairs == [(0, 1)]


def test_label_names_the_category_shared_words_and_agent() -> None:
    members = [
        Member(i, f"Fares API quota exhausted by retries #{i}", "rate_limit", None, "trip-planner", None)
        for i in range(3)
    ]
    text = label(members)
    assert text.startswith("rate limit: ") and "quota" in text and "agent trip-planner" in text


@pytest.mark.slow
def test_the_seed_knowledge_base_has_the_recurring_tool_failure_pattern(tmp_path: Path, embedder: object) -> None:
    service = make_service(tmp_path, embedder=embedder)
    ids = service.import_incidents(read_incidents(SEED)).ids
    result = service.recurring_patterns()
    assert result.incidents_considered == len(ids)
    crm = next(p for p in result.patterns if "crm.lookup_order" in p.label)
    assert crm.size >= 3 and crm.category == "tool_failure" and crm.first_seen <= crm.last_seen


@pytest.mark.anyio
async def test_patterns_tool_and_resource_list_open_items(service: PostmortemService) -> None:
    ids = [
        service.capture_incident(
            read_incidents(SEED)[0].model_copy(update={"title": f"Repeat {n}", "agent": f"a{n}"})
        ).id
        for n in range(3)
    ]
    for n, incident_id in enumerate(ids):  # same text: similar enough to be one pattern under the hash embedder
        assert incident_id == f"INC-{n + 1}"
    service.add_action_item(ids[0], ActionItemCreate(title="Ground answers in the policy store"))
    async with Client(create_server(lambda: service)) as client:
        result = await client.call_tool("recurring_patterns", {})
        resource = await client.read_resource("patterns://recurring")
    [pattern] = result.structured_content["patterns"]  # type: ignore[index]
    assert pattern["incident_ids"] == ids and pattern["id"] == "PAT-1"
    assert [a["title"] for a in pattern["open_action_items"]] == ["Ground answers in the policy store"]
    assert json.loads(resource.contents[0].text)["patterns"][0]["id"] == "PAT-1"  # type: ignore[union-attr]


def _on_a_circle(*degrees: float) -> np.ndarray:
    return unit(*[[float(np.cos(np.radians(d))), float(np.sin(np.radians(d))), 0.0] for d in degrees])


def test_a_chain_of_links_is_split_into_the_groups_it_joins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Links chain: two tight groups 135 degrees apart, joined by two incidents between them (each link cosine 0.71),
    were one pattern of ten; on 1,412 real incidents two such chains held 191 and 176 unrelated ones. A group whose
    members are not all near its centre is linked again within itself at a higher cosine."""
    vectors = _on_a_circle(0, 1, 2, 3, 45, 90, 133, 134, 135, 136)
    members = [member(i) for i in range(10)]
    assert groups(members, vectors) == [[0, 1, 2, 3], [6, 7, 8, 9]]
    monkeypatch.setattr("agent_postmortem.analysis.patterns.CORE", -1.0)  # every group stands as linked
    assert groups(members, vectors) == [list(range(10))]


def test_a_group_near_its_centre_is_not_split_and_a_shared_signature_holds_through_the_split() -> None:
    tight = _on_a_circle(0, 5, 10, 15, 20)
    assert groups([member(i) for i in range(5)], tight) == [[0, 1, 2, 3, 4]]
    chained = _on_a_circle(0, 1, 2, 45, 90, 134, 135, 136)
    assert groups([member(i) for i in range(8)], chained) == [[0, 1, 2], [5, 6, 7]]
    same_failure = [member(i, signature="same" if i in (0, 7) else None) for i in range(8)]  # the same failure
    assert groups(same_failure, chained) == [[0, 1, 2, 5, 6, 7]]


def test_the_pattern_of_one_incident_is_the_one_grouping_every_incident_finds() -> None:
    """The post-mortem grouped the whole knowledge base to read one incident's pattern (10 s a report at 10,000
    incidents, docs/loop.md): the pattern found from the incidents linked to it, and theirs, must be the same one,
    chains split and shared signatures included."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((12, 24))
    spread = rng.uniform(0.2, 1.6, (300, 1))
    raw = centres[rng.integers(0, 12, 300)] + spread * rng.standard_normal((300, 24)) / np.sqrt(24) * 4
    vectors = (raw / np.linalg.norm(raw, axis=1, keepdims=True)).astype(np.float32)
    categories = ("timeout", "rate_limit")
    members = [
        member(i, category=categories[int(rng.random() < 0.2)], signature=f"sig-{i % 7}" if i % 23 == 0 else None)
        for i in range(300)
    ]
    everything = {i: g for g in groups(members, vectors, min_size=1) for i in g}
    assert max(len(g) for g in everything.values()) >= 10 and len({g[0] for g in everything.values()}) > 12
    assert all(group_of(members, vectors, i) == everything[i] for i in range(300))


def _every_row_partitioned(vectors: np.ndarray, *, k: int, link: float) -> list[tuple[int, int]]:
    """`mutual_neighbours` as it was: every row of every block partitioned for its top k."""
    n = len(vectors)
    k = min(k, n - 1)
    top: list[set[int]] = []
    for start in range(0, n, 256):
        sims = vectors[start : start + 256] @ vectors.T
        for row, i in enumerate(range(start, min(start + 256, n))):
            sims[row, i] = -1.0
        best = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top += [{int(j) for j in best[row] if sims[row, j] >= link} for row in range(len(best))]
    return sorted((i, j) for i in range(n) for j in top[i] if i < j and i in top[j])


@pytest.mark.parametrize("k", [1, 3, 10])
def test_mutual_neighbours_are_the_pairs_partitioning_every_row_gave(k: int) -> None:
    """Only the rows with more than k cosines at the link are ranked now (partitioning all of them took 6 of the 10 s
    of grouping 10,000 incidents): the pairs must be the same, duplicated vectors (ties at the k-th) included, over
    more rows than one block."""
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((8, 16))
    raw = centres[rng.integers(0, 8, 600)] + rng.uniform(0.1, 1.5, (600, 1)) * rng.standard_normal((600, 16))
    raw[500:] = raw[rng.integers(0, 500, 100)]  # 100 copies of earlier rows: equal cosines
    vectors = (raw / np.linalg.norm(raw, axis=1, keepdims=True)).astype(np.float32)
    pairs = mutual_neighbours(vectors, k=k, link=0.6)
    assert len(pairs) >= 100
    assert sorted(pairs) == _every_row_partitioned(vectors, k=k, link=0.6)
