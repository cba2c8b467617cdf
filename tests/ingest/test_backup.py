"""Backups: a consistent snapshot exported as JSONL restores exactly into an empty home."""

import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from agent_postmortem.errors import PostmortemError
from agent_postmortem.ingest import backup
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.store.models import ActionItemCreate, Incident, IncidentCreate, SeedIncident, TimelineEventCreate
from tests.factories import FIXED_NOW, SEED, FakeLLM, draft, make_service

pytestmark = pytest.mark.usefixtures("database")  # the store contract: SQLite and PostgreSQL


def test_an_export_restores_exactly_into_an_empty_home(tmp_path: Path) -> None:
    source = make_service(tmp_path / "a", llm=FakeLLM(draft()), clock=lambda: FIXED_NOW)
    source.import_incidents(read_incidents(SEED)[:10])
    captured = source.capture_incident(IncidentCreate(title="Fares API answered 429", error_type="RateLimitError"))
    source.add_timeline_event(captured.id, TimelineEventCreate(description="Paged the platform on-call"))
    item = source.add_action_item(
        captured.id,
        ActionItemCreate(title="Add jittered backoff", owner="platform", due_at=FIXED_NOW + timedelta(days=3)),
    )
    source.update_action_item(item.id, status="completed")
    source.draft_analysis(captured.id)
    source.resolve_incident(captured.id)
    path = tmp_path / "backup.jsonl"
    path.write_text("".join(line + "\n" for line in backup.export_lines(source)), encoding="utf-8")
    assert backup.is_export(path)

    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW)
    assert backup.restore(target, backup.read_export(path)) == 11
    for incident_id in source.store.all_ids():
        assert target.get_incident(incident_id) == source.get_incident(incident_id)
    hits = target.search_incidents(query="429 from the fares API").hits
    assert captured.id in [h.id for h in hits]  # the restored home is indexed and searchable
    with pytest.raises(PostmortemError, match="empty home"):
        backup.restore(target, backup.read_export(path))


def test_the_export_is_a_snapshot_taken_when_it_starts(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    for n in range(3):
        service.capture_incident(IncidentCreate(title=f"Failure number {n} of the planner"))
    lines = backup.export_lines(service)
    first = next(lines)
    service.capture_incident(IncidentCreate(title="Captured while the export runs"))
    assert len([first, *lines]) == 3 and service.store.count() == 4


def test_an_export_reads_many_incidents_in_a_bounded_number_of_statements(tmp_path: Path) -> None:
    """The export read each incident by itself, then its items' changes: about five statements an incident (14,001
    for 2,800 incidents, 3.5 ms of CPU each); it now reads them a chunk at a time (records/batch.py)."""
    service = make_service(tmp_path, clock=lambda: FIXED_NOW)
    service.import_incidents(read_incidents(SEED))
    for item in service.list_action_items(limit=3).items:  # changes, the audit trail the export carries
        service.update_action_item(item.id, owner="Dana", by="lead")
    sent: list[str] = []
    event.listen(Engine, "before_cursor_execute", record := lambda *args: sent.append(args[2]))
    try:
        lines = list(backup.export_lines(service))
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert len(lines) == service.store.count() > 40 and '"history": [{' in "".join(lines)
    assert len(sent) < 20


def test_a_damaged_export_restores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"format": "agent-postmortem-export/1", "incident": {"id": "INC-1"}}\n', encoding="utf-8")
    with pytest.raises(PostmortemError, match="line 1"):
        backup.read_export(path)


def test_an_action_items_history_goes_through_a_backup(tmp_path: Path) -> None:
    """Every change of an item (who, when, old and new) is its audit trail: the export wrote `history: []` for every
    item and the restore kept none, so a restored home could no longer tell who completed or reassigned what."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    captured = source.capture_incident(IncidentCreate(title="Fares API answered 429", error_type="RateLimitError"))
    item = source.add_action_item(captured.id, ActionItemCreate(title="Add jittered backoff", owner="platform"))
    source.update_action_item(item.id, owner="Dana", by="lead")
    source.update_action_item(item.id, status="completed", by="Dana")
    history = source.get_action_item(item.id).history
    assert [c.field for c in history] == ["created", "owner", "status"]
    path = tmp_path / "backup.jsonl"
    path.write_text("".join(line + "\n" for line in backup.export_lines(source)), encoding="utf-8")
    assert '"field": "owner"' in path.read_text(encoding="utf-8")

    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW)
    backup.restore(target, backup.read_export(path))
    assert target.get_action_item(item.id).history == history
    again = tmp_path / "again.jsonl"
    again.write_text("".join(line + "\n" for line in backup.export_lines(target)), encoding="utf-8")
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_an_item_completed_on_a_date_not_recorded_stays_undated_through_a_backup(tmp_path: Path) -> None:
    """An item imported as completed without a date keeps no completion date, and a restore must not give it one (the
    restore's time, or its incident's creation): effectiveness would then judge a fix by a date nobody recorded."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    done = {"title": "Revert the de-registration delay", "status": "completed"}
    row = {"title": "All services returning 503 in Kubernetes", "created_at": "2021-06-22T09:00:00Z"}
    source.import_incidents([SeedIncident.model_validate({**row, "action_items": [done]})])
    [item] = source.list_action_items().items
    assert item.status == "completed" and item.completed_at is None
    path = tmp_path / "backup.jsonl"
    path.write_text("".join(line + "\n" for line in backup.export_lines(source)), encoding="utf-8")
    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW + timedelta(days=1))
    backup.restore(target, backup.read_export(path))
    restored = target.get_action_item(item.id)
    assert (restored.status, restored.completed_at) == ("completed", None)


def test_a_backup_with_an_incident_twice_is_refused_naming_the_lines(tmp_path: Path) -> None:
    """`postmortem export >> backup.jsonl` twice holds every incident twice: the restore failed on the database's
    unique key as 'unexpected IntegrityError', which named neither the file's fault nor the line."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    captured = source.capture_incident(IncidentCreate(title="Fares API answered 429", error_type="RateLimitError"))
    source.add_action_item(captured.id, ActionItemCreate(title="Add jittered backoff", owner="platform"))
    other = source.capture_incident(IncidentCreate(title="Planner looped on the calendar tool", error_type="Loop"))
    first, second = backup.export_lines(source)
    path = tmp_path / "twice.jsonl"
    path.write_text(f"{first}\n{second}\n{first}\n", encoding="utf-8")
    with pytest.raises(PostmortemError, match=f"line 3: {captured.id} is also on line 1"):
        backup.read_export(path)
    row, of_first = json.loads(second), json.loads(first)["incident"]["action_items"]
    row["incident"]["action_items"] = [{**item, "incident_id": other.id} for item in of_first]
    path.write_text(f"{first}\n{json.dumps(row)}\n", encoding="utf-8")
    with pytest.raises(PostmortemError, match="line 2: action item AI-1 is also on line 1"):
        backup.read_export(path)


def _lines_of(service: object) -> list[dict[str, Any]]:
    return [json.loads(line) for line in backup.export_lines(service)]  # type: ignore[arg-type]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("occurrences", -5, "incident.occurrences: at least 1"),
        ("category_confidence", 5, "incident.category_confidence: a confidence is from 0 to 1"),
    ],
)
def test_an_edited_export_line_with_a_value_no_store_holds_is_refused_by_line_and_field(
    tmp_path: Path, field: str, value: object, said: str
) -> None:
    """An edited export line was restored as it was: `occurrences: -5` (shown as "occurrences -5") and a confidence
    of 5."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    for title in ("Fares API answered 429", "Planner looped on the calendar tool"):
        source.capture_incident(IncidentCreate(title=title))
    first, second = _lines_of(source)
    second["incident"][field] = value
    with pytest.raises(PostmortemError, match=re.escape(f"line 2: {said}")):
        backup.read_export(_write(tmp_path / "edited.jsonl", [first, second]))


def test_a_backup_line_with_texts_longer_than_new_input_takes_restores_whole_and_named(tmp_path: Path) -> None:
    """A 5,000-character title or a 2 MB description in a backup stopped the whole restore: limits are for new
    input, and a restore brings back what the backup holds. Each such text is restored whole and named (by line,
    incident, field and length, never its value) for the command to say."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    for title in ("Fares API answered 429", "Planner looped on the calendar tool"):
        source.capture_incident(IncidentCreate(title=title))
    first, second = _lines_of(source)
    second["incident"].update(title="T" * 5_000, description="x" * 2_000_000)
    notes: list[str] = []
    incidents = backup.read_export(_write(tmp_path / "edited.jsonl", [first, second]), notes)
    assert notes == [
        "line 2 (INC-2): incident.title holds 5,000 characters, more than new input takes (200): restored whole",
        "line 2 (INC-2): incident.description holds 2,000,000 characters, more than new input takes (20,000): "
        "restored whole",
    ]
    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW)
    assert backup.restore(target, incidents) == 2
    restored = target.get_incident("INC-2")
    assert (len(restored.title), len(restored.description)) == (5_000, 2_000_000)


def test_a_backup_of_redacted_text_at_the_capture_limits_restores(tmp_path: Path) -> None:
    """A placeholder is longer than what it replaced ("a@b.io" becomes "[REDACTED:email]"): a stored text can be
    longer than a capture takes, and its backup must restore all the same."""
    emails = " ".join(f"u{n}@b.io" for n in range(5_000))
    key = "ghp_" + "a" * 36
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    captured = source.capture_incident(
        IncidentCreate(
            title=emails[:200],
            description=f"{key} {emails}"[:20_000],
            error_message=f"token {key} for {emails}"[:2_000],
            agent=emails[:200],
        )
    )
    rows = _lines_of(source)
    stored = rows[0]["incident"]
    assert stored["redactions"]["email"] > 100 and len(stored["title"]) == 200
    assert "[REDACTED:" in stored["description"] and "[REDACTED:github_token]" in stored["description"]
    # as a version that stored redacted text untrimmed wrote it: longer than the capture's 200 characters
    rows[0]["incident"]["agent"] = " ".join(["[REDACTED:email]"] * 60)
    path = _write(tmp_path / "backup.jsonl", rows)

    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW)
    assert backup.restore(target, backup.read_export(path)) == 1
    restored = target.get_incident(captured.id)
    assert restored.description == stored["description"] and restored.title == stored["title"]
    assert restored.agent is not None and len(restored.agent) > 200


def test_a_backup_of_events_and_item_titles_longer_than_new_input_takes_restores_them_whole(tmp_path: Path) -> None:
    """Events and item titles were held to the input limits exactly: one stored by an older version (placeholders
    untrimmed, or a long reopen note) made the whole backup fail ("at most 2000 characters"). Every incident restores,
    with each text as the backup holds it; what only placeholders made longer is not named."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    first = source.capture_incident(IncidentCreate(title="Fares API answered 429")).id
    second = source.capture_incident(IncidentCreate(title="Planner looped on the calendar tool")).id
    source.add_timeline_event(first, TimelineEventCreate(description="Paged the fares on-call"))
    source.add_action_item(second, ActionItemCreate(title="Rotate the fares key"))
    rows = _lines_of(source)
    # as a version that stored redacted text untrimmed wrote it: placeholders past the 2,000 and 300 characters
    event = "Mailed " + " ".join(["[REDACTED:email]"] * 130)
    title = "Tell " + " ".join(["[REDACTED:email]"] * 20)
    assert len(event) > 2_000 and len(title) > 300
    rows[0]["incident"]["timeline"][-1]["description"] = event
    rows[1]["incident"]["action_items"][0]["title"] = title
    notes: list[str] = []
    incidents = backup.read_export(_write(tmp_path / "backup.jsonl", rows), notes)
    assert notes == []

    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW)
    assert backup.restore(target, incidents) == 2
    [restored_first, restored_second] = _lines_of(target)
    assert restored_first["incident"]["timeline"][-1]["description"] == event
    assert restored_second["incident"]["action_items"][0]["title"] == title
    rows[1]["incident"]["action_items"][0]["title"] = "x" * 301  # no placeholder: more than new input takes
    backup.read_export(_write(tmp_path / "edited.jsonl", rows), notes)
    assert notes == [
        "line 2 (INC-2): incident.action_items.0.title holds 301 characters, more than new input takes (300): "
        "restored whole"
    ]


def test_a_long_event_redacted_again_on_restore_stays_whole(tmp_path: Path) -> None:
    """A restore redacts what it writes with this version's rules: an event longer than new input takes that held
    an address was trimmed to 2,000 characters by the redaction's own limit check, losing its end."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    first = source.capture_incident(IncidentCreate(title="Fares API answered 429")).id
    source.add_timeline_event(first, TimelineEventCreate(description="Paged the fares on-call"))
    rows = _lines_of(source)
    event = "Mailed dana@example.com: " + "the loop came back " * 200 + "THE END"
    rows[0]["incident"]["timeline"][-1]["description"] = event
    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW)
    assert backup.restore(target, backup.read_export(_write(tmp_path / "backup.jsonl", rows))) == 1
    [restored] = _lines_of(target)
    kept = restored["incident"]["timeline"][-1]["description"]
    assert kept.endswith("THE END") and "dana@example.com" not in kept and "[REDACTED:email]" in kept


@pytest.mark.parametrize(
    ("where", "given", "said"),
    [
        ("id", "INC-0", "incident.id: ids are INC-1, INC-2, ... (they start at 1"),
        ("id", "INC-007", "incident.id: ids are INC-1, INC-2, ..."),
        ("id", "PAT-3", "incident.id: PAT-3 is a pattern id, not an incident id (expected INC-<number>)"),
        ("item", "AI-0", "incident.action_items.0.id: ids are AI-1, AI-2, ..."),
    ],
)
def test_a_backup_line_with_an_id_no_store_gives_is_refused(tmp_path: Path, where: str, given: str, said: str) -> None:
    """A restored INC-0 worked until it was the oldest of a pattern: the pattern was PAT-0, which `runbook` refuses
    (pattern ids, as every id, start at 1). The restore refuses the line instead, saying how ids are written."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    captured = source.capture_incident(IncidentCreate(title="Fares API answered 429", error_type="RateLimitError"))
    source.add_action_item(captured.id, ActionItemCreate(title="Add jittered backoff", owner="platform"))
    [row] = _lines_of(source)
    if where == "id":
        row["incident"]["id"] = given
    else:
        row["incident"]["action_items"][0]["id"] = given
    with pytest.raises(PostmortemError, match=re.escape(f"line 1: {said}")):
        backup.read_export(_write(tmp_path / "edited.jsonl", [row]))


def test_a_restore_keeps_the_analysis_numbers_and_numbers_the_next_one_after_them(tmp_path: Path) -> None:
    """Analyses have numbers that reviews name (`postmortem review --analysis N`, analysis_id): a restore numbered
    them again from 1, so INC-1's analysis 2 came back as 1 and INC-2's 3 as 2, and a review naming the number read
    before the backup named another analysis, or none."""
    source = make_service(tmp_path / "a", llm=FakeLLM(draft(), draft(), draft()), clock=lambda: FIXED_NOW)
    first = source.capture_incident(IncidentCreate(title="Fares API answered 429", error_type="RateLimitError"))
    second = source.capture_incident(IncidentCreate(title="Planner looped on a refund", error_type="LoopError"))
    for incident_id in (first.id, first.id, second.id):
        source.draft_analysis(incident_id)
    numbers = {i: source.get_incident(i).analysis.id for i in (first.id, second.id)}  # type: ignore[union-attr]
    assert numbers == {first.id: 2, second.id: 3}
    path = tmp_path / "backup.jsonl"
    path.write_text("".join(line + "\n" for line in backup.export_lines(source)), encoding="utf-8")

    target = make_service(tmp_path / "b", llm=FakeLLM(draft()), clock=lambda: FIXED_NOW)
    backup.restore(target, backup.read_export(path))
    assert {i: target.get_incident(i).analysis.id for i in numbers} == numbers  # type: ignore[union-attr]
    again = tmp_path / "again.jsonl"
    again.write_text("".join(line + "\n" for line in backup.export_lines(target)), encoding="utf-8")
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    target.draft_analysis(second.id)  # the next analysis is numbered after the restored ones (PostgreSQL's sequence)
    assert target.get_incident(second.id).analysis.id == 4  # type: ignore[union-attr]


def _export_of(tmp_path: Path, count: int) -> list[Incident]:
    source = make_service(tmp_path / "source", clock=lambda: FIXED_NOW)
    source.import_incidents(read_incidents(SEED)[:count])
    path = tmp_path / "backup.jsonl"
    path.write_text("".join(line + "\n" for line in backup.export_lines(source)), encoding="utf-8")
    return backup.read_export(path)


def test_a_capture_arriving_while_a_backup_is_restored_leaves_nothing_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server capturing into the empty knowledge base took INC-1 after the restore's check that it was empty: the
    restore stopped on the database's unique key as "unexpected IntegrityError", with the batches before committed.
    The check and the whole restore are now one transaction: the restore is refused, saying why, and writes nothing."""
    incidents = _export_of(tmp_path, 3)
    monkeypatch.setattr(backup, "BATCH", 2)  # more than one batch
    target, server = make_service(tmp_path / "b"), make_service(tmp_path / "b")  # two processes on one database
    embed = target.knowledge.embed_documents

    def capture_meanwhile(texts: list[str]) -> Any:
        if not server.store.count():
            server.capture_incident(IncidentCreate(title="Captured by the server during the restore"))
        return embed(texts)

    monkeypatch.setattr(target.knowledge, "embed_documents", capture_meanwhile)
    with pytest.raises(PostmortemError, match="received 1 incident while the backup was being restored, so nothing"):
        backup.restore(target, incidents)
    assert target.store.all_ids() == ["INC-1"] and target.get_incident("INC-1").title.startswith("Captured by")


def test_no_other_writer_enters_a_restore_before_it_commits(tmp_path: Path) -> None:
    """From the restore's check that the store is empty to its commit, a capture waits (here: is refused at once,
    asked not to wait); once the restore is committed, it is numbered after the restored incidents."""
    incidents = _export_of(tmp_path, 3)
    target, server = make_service(tmp_path / "b"), make_service(tmp_path / "b")
    url = target.store.engine.url
    refused: list[str] = []

    def another_writer(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO incidents ") and not refused:  # the first of the restore
            refused.append(_write_without_waiting(url))

    event.listen(target.store.engine, "before_cursor_execute", another_writer)
    try:
        assert backup.restore(target, incidents) == 3
    finally:
        event.remove(target.store.engine, "before_cursor_execute", another_writer)
    assert refused and re.search("lock", refused[0])
    assert server.capture_incident(IncidentCreate(title="Captured after the restore")).id == "INC-4"


def _write_without_waiting(url: Any) -> str:
    """What a write to the incidents table says when it may not wait for another transaction's lock."""
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            return str(e)
        finally:
            conn.close()
        return "written"
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("LOCK TABLE incidents IN ROW EXCLUSIVE MODE NOWAIT")
    except OperationalError as e:
        return str(e.orig)
    finally:
        engine.dispose()
    return "written"


def test_a_backup_from_before_a_signature_rule_changed_is_restored_signed_by_the_current_rule(tmp_path: Path) -> None:
    """A restore kept each incident's signature as the backup held it: a backup taken before an upgrade that signs
    again (migration 0016 masks releases) brought back the old rule's signatures, and a repeat of a restored open
    failure was a new incident. Signatures are derived, so a restore computes them as a capture would."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    failure = {"title": "Fares client timed out", "error_type": "ClientError", "agent": "planner", "tool": "fares"}
    first = source.capture_incident(IncidentCreate(**failure, error_message="fares-client v1.2.3 timed out")).id
    rows = _lines_of(source)
    rows[0]["incident"]["signature"] = "0" * 32  # as an older rule signed it
    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW)
    assert backup.restore(target, backup.read_export(_write(tmp_path / "backup.jsonl", rows))) == 1
    assert target.get_incident(first).signature == source.get_incident(first).signature
    repeat = target.capture_incident(IncidentCreate(**failure, error_message="fares-client v1.2.4 timed out"))
    assert repeat.deduplicated and repeat.id == first
