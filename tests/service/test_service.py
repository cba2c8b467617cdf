"""The use cases, on a real SQLite store and a real chromadb index (hash embeddings: plumbing only)."""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from agent_postmortem.errors import AnalysisChanged, IncidentNotFound, InTheFuture, NoteTooLong
from agent_postmortem.ingest.jsonl import ImportFileError, read_incidents
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.filters import ListOrder
from agent_postmortem.store.models import ActionItemCreate, IncidentCreate, SeedIncident, TimelineEventCreate
from agent_postmortem.store.search.embedding import HashEmbedder
from tests.descriptors import open_under, still_open
from tests.factories import FIXED_NOW, SEED, HomeDatabases, capture, draft, make_service

pytestmark = pytest.mark.usefixtures("database")  # the store contract: SQLite and PostgreSQL


def test_capture_is_searchable_in_the_same_call_and_the_outbox_drains(service: PostmortemService) -> None:
    """The capture's own search caches take it at once; the vector index (not what searches at this size) gets it
    from the outbox, which the server's index keeper drains off the request (`KnowledgeBase.sync`)."""
    incident_id = capture(service)
    hits = service.search_incidents(query="429 Too Many Requests fares").hits
    assert [h.id for h in hits] == [incident_id]
    assert service.knowledge_stats().index_pending == 1
    service.knowledge.sync()  # what the index keeper does every second
    stats = service.knowledge_stats()
    assert stats.incidents == 1 and stats.indexed == 1 and stats.index_pending == 0


def test_a_lost_index_is_rebuilt_from_stored_vectors(service: PostmortemService) -> None:
    ids = [capture(service, f"Fares API answered 429 on attempt {n}") for n in range(3)]
    service.knowledge.index.reset()  # as if the chromadb directory had been lost
    assert service.knowledge_stats().indexed == 0
    assert service.reindex() == 3
    assert {h.id for h in service.search_incidents(query="fares 429", limit=5).hits} == set(ids)


def test_search_by_incident_excludes_itself(service: PostmortemService) -> None:
    first = capture(service)
    second = capture(service, "Fares API answered 429 again")
    hits = service.search_incidents(incident_id=second).hits
    assert [h.id for h in hits] == [first]


def test_open_action_items_on_a_known_pattern_are_surfaced_at_capture(service: PostmortemService) -> None:
    first = capture(service)
    service.add_action_item(first, ActionItemCreate(title="Add jittered backoff", owner="platform"))
    result = service.capture_incident(
        IncidentCreate(title="Fares API answered 429 Too Many Requests again", error_type="RateLimitError")
    )
    assert [a.title for a in result.open_action_items] == ["Add jittered backoff"]


def test_unknown_and_malformed_ids_raise_domain_errors(service: PostmortemService) -> None:
    with pytest.raises(IncidentNotFound):
        service.get_incident("INC-77")
    with pytest.raises(IncidentNotFound):
        service.add_timeline_event("INC-77", TimelineEventCreate(description="x"))
    with pytest.raises(ValueError, match="INC-"):
        service.get_incident("77; DROP TABLE incidents")


def test_action_item_lifecycle_overdue_and_completion_rate(tmp_path: Path) -> None:
    service = make_service(tmp_path, clock=lambda: FIXED_NOW)
    incident_id = capture(service)
    late = service.add_action_item(
        incident_id, ActionItemCreate(title="Late item", due_at=FIXED_NOW - timedelta(days=1))
    )
    service.add_action_item(incident_id, ActionItemCreate(title="Future item", due_at=FIXED_NOW + timedelta(days=9)))
    assert late.overdue
    assert [a.id for a in service.list_action_items(overdue=True).items] == [late.id]
    done = service.update_action_item(late.id, status="completed")
    assert done.completed_at == FIXED_NOW and not done.overdue
    assert service.list_action_items(incident_id=incident_id).completion_rate == 0.5
    reopened = service.update_action_item(late.id, status="open")
    assert reopened.completed_at is None and reopened.overdue


def test_seed_knowledge_base_imports_once_with_history(service: PostmortemService) -> None:
    rows = read_incidents(SEED)
    result = service.import_incidents(rows)
    again = service.import_incidents(rows)
    assert result.imported == len(rows) >= 40
    assert again.imported == 0 and again.skipped_duplicates == len(rows)
    stats = service.knowledge_stats()
    assert len(stats.by_category) == 9 and stats.indexed == len(rows)
    sample = service.get_incident(result.ids[0])
    assert sample.analysis is not None and len(sample.analysis.whys) == 5 and sample.timeline
    assert sample.action_items and sample.status == "resolved"


def test_bad_import_file_names_lines_and_imports_nothing(tmp_path: Path, service: PostmortemService) -> None:
    path = tmp_path / "bad.jsonl"
    good = SeedIncident(title="A fine incident").model_dump_json()
    path.write_text("\n".join([good, "{not json", '{"title": "ok", "severity": "SEV9"}', good]), encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        read_incidents(path)
    assert "line 2" in str(caught.value) and "line 3" in str(caught.value) and "SEV9" not in str(caught.value)
    assert service.knowledge_stats().incidents == 0


def test_nul_and_lone_surrogates_in_a_capture_are_stored_as_escapes() -> None:
    """A tool's binary answer in an error message (NUL, or a lone surrogate from bytes decoded with surrogateescape)
    refused the whole capture through MCP, `capture --file` and `import` ("unable to parse raw data as a unicode
    string"), though the SDK and import-traces store it as escapes: every way in stores it so, nothing lost."""
    captured = IncidentCreate(title="bad\x00title", error_message="bytes \udcff\x00 end", tool_args='{"b": "\x00"}')
    assert captured.title == "bad\\x00title" and captured.error_message == "bytes \\udcff\\x00 end"
    assert captured.tool_args == '{"b": "\\x00"}'
    with pytest.raises(ValidationError):  # an idempotency key is compared exactly as sent: never rewritten
        IncidentCreate(title="fine title", idempotency_key="key\x00with-nul")


def test_a_capture_larger_than_the_total_budget_is_rejected_with_advice() -> None:
    with pytest.raises(ValidationError, match="trim the stack trace"):
        IncidentCreate(
            title="Huge",
            description="d" * 20_000,
            stack_trace="s" * 20_000,
            error_message="e" * 2_000,
            tool_args="a" * 2_000,
            prompt_excerpt="p" * 2_000,
            impact="i" * 2_000,
        )
    IncidentCreate(title="Fits", description="d" * 20_000, stack_trace="s" * 20_000)


def test_repeated_captures_of_one_failure_become_occurrences(tmp_path: Path) -> None:
    now = [FIXED_NOW]
    service = make_service(tmp_path, clock=lambda: now[0])
    first = service.capture_incident(
        IncidentCreate(
            title="Search failed",
            agent="a",
            tool="web_search",
            error_type="RateLimitError",
            error_message="429 for request 9f8e7d6c5b4a3f2e after 1.5s",
        )
    )
    now[0] += timedelta(hours=2)
    again = service.capture_incident(
        IncidentCreate(
            title="Search failed once more",
            agent="a",
            tool="web_search",
            error_type="RateLimitError",
            error_message="429 for request 0a1b2c3d4e5f6a7b after 2.25s",
        )
    )
    assert again.deduplicated and again.id == first.id and again.occurrences == 2
    stored = service.get_incident(first.id)
    assert stored.occurrences == 2 and stored.last_seen_at == FIXED_NOW + timedelta(hours=2)
    assert stored.timeline[-1].description.startswith("Occurred again")
    assert service.knowledge_stats().incidents == 1


def test_a_capture_dated_in_the_future_is_refused_and_an_older_occurrence_keeps_the_latest_last_seen(
    tmp_path: Path,
) -> None:
    """An incident created in 2030 sorted first for years; an older occurrence (a backlog of traces imported late)
    moved last_seen_at back to it, so the next capture of the failure missed the open incident and made another."""
    service = make_service(tmp_path, clock=lambda: FIXED_NOW)
    failure = {"title": "Search failed", "agent": "a", "tool": "web_search", "error_type": "RateLimitError"}
    with pytest.raises(InTheFuture, match="occurred_at is in the future"):
        service.capture_incident(IncidentCreate(**failure, occurred_at=FIXED_NOW + timedelta(days=1)))
    assert service.knowledge_stats().incidents == 0
    first = service.capture_incident(IncidentCreate(**failure))
    older = service.capture_incident(IncidentCreate(**failure, occurred_at=FIXED_NOW - timedelta(hours=5)))
    assert older.deduplicated and older.id == first.id
    assert service.get_incident(first.id).last_seen_at == FIXED_NOW


def test_a_failure_after_resolution_or_outside_the_window_is_a_new_incident(tmp_path: Path) -> None:
    now = [FIXED_NOW]
    service = make_service(tmp_path, clock=lambda: now[0])
    data = IncidentCreate(title="Search failed", tool="web_search", error_type="RateLimitError")
    first = service.capture_incident(data).id
    service.resolve_incident(first)
    after_fix = service.capture_incident(data)
    now[0] += timedelta(days=2)
    later = service.capture_incident(data)
    other_tool = service.capture_incident(data.model_copy(update={"tool": "crm.lookup"}))
    assert len({first, after_fix.id, later.id, other_tool.id}) == 4
    assert not (after_fix.deduplicated or later.deduplicated or other_tool.deduplicated)


class OtherHashEmbedder(HashEmbedder):
    model_id = "hash-bow-128"
    dimension = 128


def test_changing_the_embedding_model_reembeds_instead_of_mixing_vector_spaces(tmp_path: Path) -> None:
    first = make_service(tmp_path)
    incident_id = capture(first, "Fares API answered 429 Too Many Requests")
    first.knowledge.release_index()  # the server stops; it restarts with another model
    second = make_service(tmp_path, embedder=OtherHashEmbedder())
    assert second.knowledge_stats().indexed == 0  # a new collection for the new model: nothing mixed in
    assert second.reindex() == 1
    assert second.store.feed.vector(incident_id, model="hash-bow-128") is not None
    assert second.search_incidents(query="429 fares").hits[0].id == incident_id
    assert second.recurring_patterns().incidents_considered == 1


def test_only_ids_and_free_standing_numbers_vary_within_one_failure_signature() -> None:
    from agent_postmortem.store.signature import failure_signature, mask_volatile

    def sign(message: str) -> str | None:
        return failure_signature(IncidentCreate(title="x" * 3, agent="a", error_type="E", error_message=message))

    same = ["HTTP 429 for request 9f8e7d6c5b4a3f2e after 1.5s", "HTTP 429 for request 0a1b2c3d4e5f6a7b after 2.25s"]
    assert sign(same[0]) == sign(same[1])
    assert sign("HTTP 429 from fares") != sign("HTTP 503 from fares")  # a rate limit is not an outage
    assert sign("ORA-00942: table or view does not exist") != sign("ORA-01017: table or view does not exist")
    assert sign("timed out after 500 ms") == sign("timed out after 450 ms")  # a duration, not a status
    assert mask_volatile("POST pr0cure-check.io for campaign_q4_emea: 429 Too Many Requests (request 8812), 30s") == (
        "POST pr0cure-check.io for campaign_q4_emea: 429 Too Many Requests (request N), Ns"
    )


@pytest.mark.parametrize("order", get_args(ListOrder))
def test_incidents_are_listed_in_each_order_on_both_engines(
    tmp_path: Path, database: HomeDatabases, order: ListOrder
) -> None:
    """The web view's sort: every order of `list_incidents`, ties broken newest first, on SQLite and PostgreSQL."""
    service = make_service(tmp_path)
    service.import_incidents(read_incidents(SEED))
    rows = service.list_incidents(limit=1000, order=order).incidents
    assert len(rows) == service.knowledge_stats().incidents
    keys = {
        "newest": lambda r: -r.created_at.timestamp(),
        "oldest": lambda r: r.created_at.timestamp(),
        "last_seen": lambda r: -(r.last_seen_at or r.created_at).timestamp(),
        "occurrences": lambda r: (-r.occurrences, -r.created_at.timestamp()),
        "severity": lambda r: (r.severity, -r.created_at.timestamp()),
    }
    assert rows == sorted(rows, key=keys[order])
    assert len({keys[order](r) for r in rows}) > 1  # the seed tells the orders apart


def test_a_reopen_note_is_kept_whole_after_its_prefix_or_refused_never_cut(service: PostmortemService) -> None:
    """The reason of a reopen was stored as `"Reopened: " + note` cut at 2,000 characters: its last 10 were lost."""
    incident_id = capture(service)
    service.resolve_incident(incident_id)
    with pytest.raises(NoteTooLong, match="at most 1990"):
        service.resolve_incident(incident_id, status="open", note="n" * 1_991)
    assert service.get_incident(incident_id).status == "resolved"
    service.resolve_incident(incident_id, status="open", note="n" * 1_989 + "!")
    assert service.get_incident(incident_id).timeline[-1].description == "Reopened: " + "n" * 1_989 + "!"


def test_a_review_note_is_on_the_timeline_whole_or_says_the_analysis_keeps_the_rest(service: PostmortemService) -> None:
    """The timeline kept the first 1,500 characters of a review's note and nothing said so."""
    incident_id = capture(service)
    service.record_analysis(incident_id, draft(), generated_by="assistant")
    fits = "a" * 1_900 + " END"
    service.review_analysis(incident_id, decision="reject", by="dana", note=fits)
    assert service.get_incident(incident_id).timeline[-1].description.endswith(": " + fits)
    service.record_analysis(incident_id, draft(), generated_by="assistant")
    service.review_analysis(incident_id, decision="accept", by="dana", note="b" * 2_000)
    incident = service.get_incident(incident_id)
    said = incident.timeline[-1].description
    assert len(said) == 2_000 and said.endswith("… (the whole note is on the analysis)")
    assert incident.analysis is not None and incident.analysis.review_note == "b" * 2_000


def test_a_draft_stored_while_another_is_reviewed_is_kept_not_overwritten(tmp_path: Path) -> None:
    """The review replaced whatever analysis was latest when it was written: a draft another process stored between
    the review's read and its write was overwritten with the reviewed analysis, and lost."""
    other = make_service(tmp_path / "home")  # another process on the same home (an assistant recording a draft)
    newer = draft().model_copy(update={"root_cause": "The fares client retried at once, with no budget per run."})
    meanwhile: list[str] = []

    def clock() -> datetime:
        if meanwhile:
            other.record_analysis(meanwhile.pop(), newer, generated_by="assistant")
        return datetime.now(UTC)

    service = make_service(tmp_path / "home", clock=clock)
    incident_id = capture(service)
    service.record_analysis(incident_id, draft(), generated_by="assistant")
    meanwhile.append(incident_id)  # the review reads the analysis, then asks the time: the newer draft lands there
    with pytest.raises(AnalysisChanged, match="newer analysis"):
        service.review_analysis(incident_id, decision="accept", by="dana")
    analysis = service.get_incident(incident_id).analysis
    assert analysis is not None and analysis.root_cause == newer.root_cause and analysis.state == "draft"
    assert not any("accepted" in e.description for e in service.get_incident(incident_id).timeline)


def test_a_resolve_and_a_reopen_made_at_once_leave_the_status_the_timeline_ends_with(tmp_path: Path) -> None:
    """Two MCP clients, one resolving and one reopening: the resolve was dated before it took the incident's lock, the
    reopen ran meanwhile, and the resolve committed last with the earlier date, so the incident was resolved while its
    timeline ended with "Reopened". A change is now dated once it holds the lock: the timeline's order is its own."""
    times = iter(FIXED_NOW + timedelta(seconds=n) for n in range(1000))
    other = make_service(tmp_path / "home", clock=lambda: next(times))  # a second client's server, on the same home
    reopening: list[str] = []
    started: list[threading.Thread] = []

    def clock() -> datetime:
        at = next(times)
        if reopening:  # the resolve asks the time: the reopen is made now, in another thread, as by another client
            reopen = threading.Thread(target=other.resolve_incident, args=(reopening.pop(),), kwargs={"status": "open"})
            reopen.start()
            reopen.join(3)  # done at once while the resolve holds no lock; held back until it commits otherwise
            started.append(reopen)
        return at

    service = make_service(tmp_path / "home", clock=clock)
    incident_id = capture(service)
    service.resolve_incident(incident_id, status="mitigated")
    reopening.append(incident_id)
    service.resolve_incident(incident_id, note="retry budget shipped")
    started[0].join(60)  # the reopen, made before or after the resolve
    incident = service.get_incident(incident_id)
    last = [e for e in incident.timeline if e.kind in ("resolved", "mitigated") or e.description.startswith("Reopen")]
    ended = "open" if last[-1].description.startswith("Reopen") else last[-1].kind
    assert (incident.status, incident.resolved_at is not None) == (ended, ended == "resolved"), last[-2:]


def test_a_closed_service_holds_nothing_open_in_its_home_and_searches_again(tmp_path: Path) -> None:
    """Closing a service left the exact index's file of vectors open (unlinked, one per service): a process that
    opened and closed services for its homes ran out of descriptors."""
    home = tmp_path / "home"
    service = make_service(home)
    incident_id = capture(service)
    assert [h.id for h in service.search_incidents(query="429 fares").hits] == [incident_id]
    assert open_under(home)
    service.close()
    assert still_open(home) == []
    assert [h.id for h in service.search_incidents(query="429 fares").hits] == [incident_id]
