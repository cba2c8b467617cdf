"""BM25 over growing postings: bm25s's scores, and the very same scores however the documents arrived."""

import json
import random

import bm25s
import numpy as np
import pytest

from agent_postmortem.evals.perf import AIID
from agent_postmortem.store.search import bm25
from agent_postmortem.store.search.bm25 import Postings
from agent_postmortem.store.search.lexical import LexicalIndex


@pytest.fixture(scope="module")
def aiid() -> tuple[list[str], list[str]]:
    if not (AIID / "incidents.jsonl").is_file():
        pytest.skip(f"the AIID data is not at {AIID}")
    rows = [json.loads(line) for line in (AIID / "incidents.jsonl").read_text(encoding="utf-8").splitlines()][:600]
    queries = [json.loads(line)["text"][:2000] for line in (AIID / "queries_dev.jsonl").read_text().splitlines()]
    return [f"{r.get('title') or ''}\n{r.get('text', '')}" for r in rows], queries[:80]


def _index(texts: list[str]) -> LexicalIndex:
    rows = list(enumerate(texts, start=1))
    index = LexicalIndex(lambda after, gaps: [r for r in rows if r[0] > after])
    index.refresh(force=True)
    return index


def test_the_scores_are_those_of_bm25s_on_real_incident_texts(aiid: tuple[list[str], list[str]]) -> None:
    texts, queries = aiid
    index = _index(texts)
    reference = bm25s.BM25()
    corpus = bm25s.tokenize(texts, stopwords="en", stemmer=index._stem, show_progress=False)
    reference.index(corpus, show_progress=False)
    for query in queries:
        known = [t for t in index.tokens(query) if t in reference.vocab_dict]
        expected = np.asarray(reference.get_scores(known), dtype=np.float64) if known else np.zeros(len(texts))
        pks, scores = index.scores(query)
        assert list(pks) == list(range(1, len(texts) + 1))
        np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)


def test_the_words_are_those_of_bm25s_tokenize(aiid: tuple[list[str], list[str]]) -> None:
    texts, _ = aiid
    index = _index([])
    expected = bm25s.tokenize(texts, stopwords="en", stemmer=index._stem, show_progress=False, return_ids=False)
    assert [index.words(t) for t in texts] == expected


def test_documents_added_one_by_one_in_segments_score_exactly_as_all_at_once(
    aiid: tuple[list[str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    texts, queries = aiid
    tokenizer = _index([])
    documents = [tokenizer.words(t) for t in texts]
    whole = Postings()
    whole.add(documents)
    monkeypatch.setattr(bm25, "TAIL_LIMIT", 500)  # many small segments, merged as they grow
    monkeypatch.setattr(bm25, "MERGE_CHUNK", 64)
    pieces = Postings()
    rng = random.Random(3)
    done = 0
    while done < len(documents):
        step = rng.randint(1, 40)
        pieces.add(documents[done : done + step])
        done += step
    assert len(pieces.segments) >= 1 and pieces._tail[0].size < 500
    for query in queries:
        ids = [i for i in (whole.vocab.get(t) for t in tokenizer.tokens(query)) if i is not None]
        other = [pieces.vocab[whole.terms[i]] for i in ids]
        assert np.array_equal(whole.scores(ids), pieces.scores(other))  # bit for bit
    compacted = pieces.compact()
    assert len(pieces.segments) == 1 and compacted.nnz == sum(len(set(d)) for d in documents)


def test_a_query_with_no_known_word_scores_zero_everywhere() -> None:
    postings = Postings()
    postings.add([["ledger", "sync"], []])
    assert list(postings.scores([])) == [0.0, 0.0]
    assert postings.scores([postings.vocab["ledger"]])[1] == 0.0
