"""Backups: a consistent snapshot exported as JSONL restores exactly into an empty home, alone and before any writer."""

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
