"""Hybrid search with the real bundled embedding model: what each side contributes."""

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_postmortem.evals.retrieval import evaluate, scores
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.models import IncidentCreate
from tests.factories import SEED, make_service

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["exact", "embedded index", "server index"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder: object
) -> Iterator[PostmortemService]:
    """The seed knowledge base, searched exactly (the default at this size) or through the vector index, embedded
    or on a Chroma server: every test below holds for each. Released at the end: chromadb keeps every client's
    HTTP connections to the server in a process-wide cache, open until the interpreter exits."""
    chroma_url = str(request.getfixturevalue("chroma_server")) if request.param == "server index" else None
    service = make_service(
        tmp_path_factory.mktemp("kb"),
        embedder=embedder,
        chroma_url=chroma_url,
        exact_limit=None if request.param == "exact" else 0,
    )
    service.import_incidents(read_incidents(SEED))
    assert service.knowledge.index is not None
    assert service.knowledge.index.ids() == service.store.feed.embedded_pks(model=service.knowledge.embedder.model_id)
    yield service
    service.knowledge.release_index()


def test_an_exact_error_code_is_found_by_the_lexical_side_and_explained(seeded: PostmortemService) -> None:
    target = seeded.capture_incident(
        IncidentCreate(
            title="Ledger sync stopped",
            description="The nightly job stopped writing rows.",
            error_message="upstream answered ERR_LEDGER_QX7731 for every batch",
            tool="ledger.sync",
        )
    )
    hybrid = seeded.search_incidents(query="ERR_LEDGER_QX7731", limit=3).hits
    assert hybrid[0].id == target.id
    assert "err_ledger_qx7731" in hybrid[0].matched_terms and hybrid[0].matched_fields == ["error_message"]
    assert "err_ledger_qx7731" in hybrid[0].why and "cosine" in hybrid[0].why
    lexical = seeded.search_incidents(query="ERR_LEDGER_QX7731", limit=3, mode="lexical").hits
    assert [h.id for h in lexical] == [target.id]  # no other incident shares the code


def test_a_paraphrase_with_no_shared_words_is_found_by_the_dense_side(seeded: PostmortemService) -> None:
    hits = seeded.search_incidents(
        query="chatbot made up a reimbursement rule that the company never had", limit=5
    ).hits
    assert hits[0].category == "llm_hallucination"
    assert hits[0].score > 0.4


def test_every_seed_title_finds_its_own_incident_first(seeded: PostmortemService) -> None:
    listed = seeded.store.list_incidents(limit=100)
    queries = [{"text": i.title, "relevant_ids": [i.id]} for i in listed if i.source_id is None][:45]
    result = evaluate(seeded, queries, {i.id: i.id for i in listed})
    assert result["hybrid"]["recall@1"] >= 0.95
    assert result["hybrid"]["mrr"] >= result["dense"]["mrr"] - 0.01


def test_filters_apply_to_both_sides(seeded: PostmortemService) -> None:
    timeouts = SearchFilters.of(category="timeout")
    hits = seeded.search_incidents(query="429 rate limit quota", limit=10, filters=timeouts).hits
    assert hits and all(h.category == "timeout" for h in hits)


def test_a_search_that_embeds_its_query_while_bm25_ranks_answers_as_one_given_the_vector(
    seeded: PostmortemService,
) -> None:
    kb = seeded.knowledge
    queries = ["429 rate limit quota", "ERR_LEDGER sync stopped writing rows", "model invented a refund policy"]
    for query in queries:
        vector = kb.embed_query(query)
        for mode in ("hybrid", "dense", "lexical"):
            for filters in (None, SearchFilters.of(category="timeout")):
                given = kb.search(text=query, vector=vector, limit=8, mode=mode, filters=filters)  # type: ignore[arg-type]
                assert kb.search(text=query, vector=None, limit=8, mode=mode, filters=filters) == given  # type: ignore[arg-type]


def test_recall_and_mrr_from_ranks() -> None:
    assert scores([1, 3, None, 12]) == {
        "recall@1": 0.25,
        "recall@5": 0.5,
        "recall@10": 0.5,
        "mrr": round((1 + 1 / 3 + 1 / 12) / 4, 4),
    }


def test_bench_retrieval_command_reports_every_mode(tmp_path: Path, embedder: object) -> None:
    from typer.testing import CliRunner

    from agent_postmortem.cli.app import app

    corpus = tmp_path / "corpus.jsonl"
    queries = tmp_path / "queries.jsonl"
    rows = [
        {"id": f"d{n}", "title": t, "text": d}
        for n, (t, d) in enumerate(
            [
                ("Agent looped on flight search", "retries without backoff hit the fares quota"),
                ("Bot invented a warranty", "the model fabricated a two-year warranty"),
                ("CRM sync wrote duplicates", "records were duplicated after a retry"),
            ]
        )
    ]
    corpus.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    queries.write_text(json.dumps({"text": "fabricated warranty", "relevant_ids": ["d1"]}), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["bench", "retrieval", "--dataset", str(corpus), "--queries", str(queries), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["modes"]) == {"dense", "lexical", "hybrid"} and report["incidents"] == 3
    assert report["modes"]["hybrid"]["recall@1"] == 1.0
    weak = report["weak_match"]  # the query's best hit with its incident there, and with it left out
    assert weak["queries"] == 1 and weak["best_cosine_with_a_match"]["p50"] > weak["best_cosine_without"]["p50"]
    assert weak["chosen"]["real_match_called_weak"] == 0.0 and weak["chosen"]["no_match_called_weak"] == 1.0


def test_query_tokens_are_the_ones_bm25s_indexes() -> None:
    import bm25s

    from agent_postmortem.store.search.lexical import LexicalIndex

    index = LexicalIndex(lambda after, gaps: [])
    rows = (
        [
            json.loads(line)
            for line in Path("../shared/data/aiid/incidents.jsonl").read_text(encoding="utf-8").splitlines()[:500]
        ]
        if Path("../shared/data/aiid/incidents.jsonl").exists()
        else []
    )
    texts = [f"{r['title']}\n{r['text']}" for r in rows] or [SEED.read_text(encoding="utf-8")[:5000]]
    texts.append("Ça a échoué: ERR_QUOTA_7781 at api.example.com/v2 — retried 3x, throttled!")
    for text in texts:
        reference = bm25s.tokenize([text], stopwords="en", stemmer=index._stem, return_ids=False, show_progress=False)[
            0
        ]
        assert index.tokens(text) == list(dict.fromkeys(reference))


def test_a_search_during_the_warm_up_load_waits_for_it_instead_of_ignoring_the_words() -> None:
    from agent_postmortem.store.search.lexical import LexicalIndex

    loading, release = threading.Event(), threading.Event()
    rows = [(1, "Checkout agent crashed: CouponParseError near qwxzvbn7731"), (2, "Refund agent timed out")]

    def slow_load(after: int, gaps: object) -> list[tuple[int, str]]:
        loading.set()
        release.wait(timeout=30)  # the warm-up thread is still reading the records
        return [r for r in rows if r[0] > after]

    index = LexicalIndex(slow_load)
    warm = threading.Thread(target=index.refresh, kwargs={"force": True})
    warm.start()
    assert loading.wait(timeout=30)
    threading.Timer(0.2, release.set).start()  # the load finishes while the search is under way
    assert index.search("qwxzvbn7731", k=2)[0][0] == 1
    warm.join(timeout=30)
