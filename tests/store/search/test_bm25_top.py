"""The pruned BM25 top k and the scores of given rows: exactly what scoring every posting gives, bit for bit."""

import numpy as np
import pytest

from agent_postmortem.store.search import bm25, bm25_terms, bm25_top
from agent_postmortem.store.search.bm25 import Postings
from agent_postmortem.store.search.bm25_terms import QueryTerms
from agent_postmortem.store.search.bm25_top import top_k
from agent_postmortem.store.search.lexical import LexicalIndex

VOCABULARY = 400


def _corpus(rng: np.random.Generator, n: int) -> list[list[str]]:
    """Documents of Zipf-distributed words (repeats make counts above 1), lengths from 1 to ~300, some duplicated
    (equal scores: the tie rule decides)."""
    documents = []
    for _ in range(n):
        length = int(rng.integers(1, 40)) if rng.random() < 0.8 else int(rng.integers(40, 300))
        words = np.minimum(rng.zipf(1.3, size=length), VOCABULARY)
        documents.append([f"w{w}" for w in words])
        if rng.random() < 0.05:
            documents.append(list(documents[-1]))
    return documents


def _postings(rng: np.random.Generator, documents: list[list[str]]) -> Postings:
    postings = Postings()
    done = 0
    while done < len(documents) - 3:  # in uneven batches: many segments, merged as they grow, and a tail
        step = int(rng.integers(1, 60))
        postings.add(documents[done : min(done + step, len(documents) - 3)])
        done += step
    postings.seal()
    postings.add(documents[-3:])
    return postings


def _queries(rng: np.random.Generator, postings: Postings, count: int) -> list[list[int]]:
    queries = []
    for _ in range(count):
        words = {f"w{w}" for w in np.minimum(rng.zipf(1.2, size=int(rng.integers(1, 45))), 3 * VOCABULARY)}
        queries.append([postings.vocab[w] for w in sorted(words) if w in postings.vocab])  # unknown words dropped
    return queries


def _reference(full: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((np.arange(len(full)), -full))[:k]
    order = order[full[order] > 0]
    return order, full[order]


@pytest.fixture(autouse=True)
def _small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bm25, "TAIL_LIMIT", 700)
    monkeypatch.setattr(bm25, "MERGE_CHUNK", 64)
    monkeypatch.setattr(bm25_top, "FULL_BELOW", 0)  # prune whatever the size


@pytest.mark.parametrize(
    ("seed", "probed", "margin", "table_limit", "full_below"),
    [
        (1, 4, 0.5, bm25_terms.TABLE_LIMIT, 0),
        (2, 1, 1.0, bm25_terms.TABLE_LIMIT, 0),
        (3, 2, 0.8, 50, 0),
        (4, 8, 0.3, 0, 0),
        (5, 4, 0.5, bm25_terms.TABLE_LIMIT, 10**9),  # no pruning: every posting in one pass
    ],
)
def test_the_pruned_top_k_and_row_scores_are_those_of_scoring_everything(
    seed: int, probed: int, margin: float, table_limit: int, full_below: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bm25_top, "FULL_BELOW", full_below)
    monkeypatch.setattr(bm25_top, "PROBED", probed)
    monkeypatch.setattr(bm25_top, "MARGIN", margin)
    monkeypatch.setattr(bm25_terms, "TABLE_LIMIT", table_limit)  # 0: every value computed per posting
    rng = np.random.default_rng(seed)
    postings = _postings(rng, _corpus(rng, 3000))
    assert len(postings.segments) > 1 and postings._tail[0].size > 0
    for ids in _queries(rng, postings, 40):
        full = postings.scores(ids)
        terms = QueryTerms(postings, ids)
        matches = int((full > 0).sum())
        for k in sorted({1, 2, 10, 100, max(matches - 1, 1), matches, matches + 5}):
            rows, scores = top_k(terms, k)
            expected_rows, expected_scores = _reference(full, k)
            assert np.array_equal(rows, expected_rows), (ids, k)
            assert np.array_equal(scores, expected_scores), (ids, k)  # bit for bit
        asked = rng.integers(0, postings.count, size=300)  # repeats and rows without any term among them
        assert np.array_equal(terms.scores_at(asked), full[asked])


def test_equal_scores_rank_the_row_indexed_first_first() -> None:
    postings = Postings()
    postings.add([["ledger"], ["sync", "ledger"], ["ledger"], ["ledger"], ["other"]])
    rows, scores = top_k(QueryTerms(postings, [postings.vocab["ledger"]]), 2)
    assert list(rows) == [0, 2] and scores[0] == scores[1]


def test_nothing_to_score_gives_nothing() -> None:
    postings = Postings()
    assert len(top_k(QueryTerms(postings, []), 5)[0]) == 0
    postings.add([["ledger", "sync"], []])
    assert len(top_k(QueryTerms(postings, []), 5)[0]) == 0
    assert len(top_k(QueryTerms(postings, [postings.vocab["sync"]]), 0)[0]) == 0
    assert list(QueryTerms(postings, []).scores_at(np.array([0, 1]))) == [0.0, 0.0]


def test_the_lexical_index_ranks_and_scores_keys_as_its_full_scores_do() -> None:
    rng = np.random.default_rng(7)
    texts = [" ".join(words) for words in _corpus(rng, 1500)]
    keys = list(range(10, 10 + 2 * len(texts), 2))
    late = set(keys[-300:-150])  # committed late: indexed after keys above them, so rows are not in key order
    rows = [(pk, t) for pk, t in zip(keys, texts, strict=True) if pk not in late]
    index = LexicalIndex(lambda after, gaps: sorted(r for r in rows if r[0] > after or _inside(r[0], gaps)))
    index.refresh(force=True)
    rows += [(pk, t) for pk, t in zip(keys, texts, strict=True) if pk in late]
    index.refresh(force=True)
    assert index._keys.order is not None
    for text in rng.choice(texts, size=25):
        query = " ".join(text.split()[:30]) + " unknownword"
        pks, scores = index.scores(query)
        by_key = dict(zip(pks.tolist(), scores.tolist(), strict=True))
        best, of = index.ranked(query, k=50, pks=[*pks[::7].tolist(), -5, 10**9])
        order = np.lexsort((index._keys.rows_of(pks), -scores))[:50]
        assert best == [(int(pks[i]), float(scores[i])) for i in order if scores[i] > 0]
        assert of.tolist() == [*(by_key[pk] for pk in pks[::7].tolist()), 0.0, 0.0]


def _inside(pk: int, gaps: list[tuple[int, int]]) -> bool:
    return any(first <= pk <= last for first, last in gaps)


def test_scores_of_a_ranking_follow_the_index_as_it_is_when_asked() -> None:
    """A search ranks while its query is embedded and scores its dense candidates afterwards: rows loaded in between
    get their scores (no stale terms index a grown or replaced index), and a reset index scores only what it holds."""
    rows = [(1, "ledger sync timeout"), (2, "ledger write failed")]
    index = LexicalIndex(lambda after, gaps: [r for r in rows if r[0] > after or _inside(r[0], gaps)])
    index.refresh(force=True)
    ranking = index.rank("ledger timeout", k=5)
    assert [pk for pk, _ in ranking.best] == [1, 2]
    rows.append((3, "ledger timeout again timeout"))
    index.refresh(force=True)
    _, full = index.ranked("ledger timeout", k=5, pks=[1, 2, 3])
    assert full[2] > 0
    assert index.scores_of(ranking, [1, 2, 3]).tolist() == full.tolist()  # idf of the grown index, row 3 scored
    index.reset()
    del rows[:2]
    index.refresh(force=True)  # rebuilt from what the records hold now: one row, new term ids
    assert index.scores_of(ranking, [1, 3]).tolist() == [0.0, index.ranked("ledger timeout", k=1)[0][0][1]]
