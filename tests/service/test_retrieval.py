"""Search through the service with the real embedding model: a best hit too weak to be a match says so, and a query
sent with an incident id is refused rather than half answered."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from agent_postmortem.errors import QueryAndIncident
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.retrieval import WEAK_MATCH_BELOW
from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import SEED, make_service


@pytest.fixture
def seeded(tmp_path: Path, embedder: Embedder) -> PostmortemService:
    service = make_service(tmp_path / "home", embedder=embedder)
    service.import_incidents(read_incidents(SEED))
    return service


def test_a_question_nothing_matches_says_its_best_hit_is_weak_and_still_shows_the_hits(
    seeded: PostmortemService,
) -> None:
    """A question with nothing like it in the knowledge base got hits at cosine 0.05-0.4 shown as plainly as real
    matches; the result now says the match is weak, with the best hit's cosine and the threshold, hits kept."""
    found = seeded.search_incidents(query="how do I bake sourdough bread at home", limit=3)
    assert len(found.hits) == 3 and found.weak_match
    assert found.best_score is not None and found.best_score < WEAK_MATCH_BELOW
    assert found.match_note is not None and found.match_note.startswith("weak match: nothing in the knowledge base")
    assert f"the best hit, {found.hits[0].id}, is {found.best_score:.2f} similar" in found.match_note


def test_a_real_match_is_not_called_weak_on_any_page(seeded: PostmortemService) -> None:
    query = "the order agent overwrote customers' delivery addresses"
    first = seeded.search_incidents(query=query, limit=1)
    later = seeded.search_incidents(query=query, limit=1, offset=5)  # a later page is judged by the search's best hit
    for page in (first, later):
        assert not page.weak_match and page.match_note is None and page.best_score == first.hits[0].score
    assert "delivery addresses" in first.hits[0].title and first.hits[0].score >= WEAK_MATCH_BELOW


def test_an_incident_whose_neighbours_are_all_far_is_told_at_the_novelty_threshold(seeded: PostmortemService) -> None:
    """An incident's neighbours are compared incident to incident, where a known failure reaches cosine 0.72."""
    close = seeded.search_incidents(incident_id="INC-41", limit=1)  # INC-42 tells the same failure (0.88)
    far = [r for n in range(1, 46) if (r := seeded.search_incidents(incident_id=f"INC-{n}", limit=1)).weak_match]
    assert not close.weak_match and close.best_score is not None and close.best_score >= 0.72
    assert far and all(r.best_score is not None and r.best_score < 0.72 for r in far)
    assert far[0].match_note is not None and "no past incident is close to this one" in far[0].match_note


def test_a_query_and_another_incident_are_refused_and_an_id_given_twice_is_one_search(
    seeded: PostmortemService,
) -> None:
    with pytest.raises(QueryAndIncident, match="not both"):
        seeded.search_incidents(query="refund promised", incident_id="INC-1")
    with pytest.raises(QueryAndIncident):
        seeded.search_incidents(query="INC-2", incident_id="INC-1")
    same = seeded.search_incidents(query="#1", incident_id="INC-1", limit=2)
    assert [h.id for h in same.hits] == [h.id for h in seeded.search_incidents(incident_id="INC-1", limit=2).hits]


def test_a_keyword_search_whose_best_hit_holds_the_word_is_not_called_weak(seeded: PostmortemService) -> None:
    """An assistant searching an error code or a word ("429", "timeout") got its exact hits, the word in their
    title, with a note that they may be unrelated: one word embeds far from a whole incident. A best hit holding every
    word of the query is a match; a word no incident holds is still weak."""
    for word in ("429", "timeout"):
        found = seeded.search_incidents(query=word, limit=3)
        assert found.best_score is not None and found.best_score < WEAK_MATCH_BELOW  # the cosine alone says weak
        assert not found.weak_match and found.match_note is None, word
        assert found.hits[0].matched_terms
    assert seeded.search_incidents(query="sourdough", limit=3).weak_match


def test_a_question_naming_stored_incidents_carries_their_ids_checked_in_one_query(seeded: PostmortemService) -> None:
    """The incidents a question names were only in a sentence (`named`), which the search page parsed back for
    `INC-n`; and each was loaded whole (its timeline, analysis and action items) to learn that it exists. The ids are
    data now (`named_ids`, the note derived from them), and their existence is one query reading no record."""
    engine = seeded.store.engine
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        found = seeded.search_incidents(query="what happened in inc-27 and INC-9999, or INC\u20113?", limit=2)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert found.named_ids == ["INC-27", "INC-3"]
    assert found.named is not None and found.named.startswith("the query names INC-27, INC-3: to read one")
    assert not [s for s in sent if "timeline_events" in s or "incidents.pk = " in s], sent  # no incident read whole
    assert len([s for s in sent if s.startswith("SELECT incidents.pk \nFROM incidents \nWHERE")]) == 1, sent
    plain = seeded.search_incidents(query="order agent overwrote delivery addresses", limit=1)
    neighbours = seeded.search_incidents(incident_id="INC-27", limit=1)
    assert plain.named_ids == neighbours.named_ids == [] and plain.named is None and neighbours.named is None


def test_an_empty_search_blames_the_filters_only_when_no_incident_matches_them(seeded: PostmortemService) -> None:
    """A lexical search for a word no incident of the agent holds said "no incident matches these filters" while
    the agent's incidents were there: the reason named the filters, and the user dropped the right one."""
    filters = SearchFilters(agent="scholar-rag")
    wordless = seeded.search_incidents(query="sourdough", mode="lexical", filters=filters)
    assert wordless.hits == [] and wordless.empty_because is not None
    assert "match these filters, and none shares a word with the query" in wordless.empty_because
    nothing = seeded.search_incidents(query="refund", mode="lexical", filters=SearchFilters(since="2099-01-01"))
    assert nothing.empty_because == "no incident matches these filters; leave some out, or widen since and until"
