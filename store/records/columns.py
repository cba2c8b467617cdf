"""The columns a read of incidents, timeline events, analyses and action items selects, and how a row of them becomes
a stored model (through `load`, records/integrity.py: repaired for reading if it no longer validates), without
SQLAlchemy. Both readers share it: the record store (records/incidents.py, records/actions.py, on SQLAlchemy rows)
and the quick reads of an SQLite home (records/sqlite_reader.py, on the standard library's sqlite3), so the two read
the same rows into the same models. tests/store/records/test_sqlite_reader.py checks these names and kinds against
the tables of records/schema.py.

A row is anything with the columns as attributes (a SQLAlchemy `Row`, or the reader's namespace), with times as aware
datetimes, booleans as bool and JSON decoded."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from agent_postmortem.store.errors import CorruptRecord
from agent_postmortem.store.ids import to_action_id, to_incident_id
from agent_postmortem.store.models import ActionItem, Analysis, Incident, TimelineEvent
from agent_postmortem.store.records.integrity import load

StoredRow = Any  # a row with its columns as attributes: sqlalchemy's Row or the SQLite reader's namespace

# The incident columns kept out of the JSON body because they live in their own columns or tables.
COLUMNS = (
    "title",
    "category",
    "severity",
    "status",
    "agent",
    "tool",
    "model",
    "created_at",
    "mitigated_at",
    "resolved_at",
    "postmortem_completed",
    "signature",
    "occurrences",
    "last_seen_at",
)
TIMES = ("created_at", "mitigated_at", "resolved_at", "last_seen_at")
CHILDREN = ("id", "timeline", "analysis", "action_items")

# What each read selects (by table), and the columns among them stored as times, booleans and JSON.
READ = {
    "incidents": ("pk", "body", *COLUMNS),
    "timeline_events": ("pk", "at", "kind", "description"),
    "analyses": ("pk", "body"),
    "action_items": (
        "pk",
        "incident_pk",
        "title",
        "owner",
        "priority",
        "status",
        "due_at",
        "created_at",
        "completed_at",
    ),
}
TIME_COLUMNS = frozenset({*TIMES, "at", "due_at", "completed_at"})
BOOLEAN_COLUMNS = frozenset({"postmortem_completed"})
JSON_COLUMNS = frozenset({"body"})


def incident_from_row(
    row: StoredRow,
    *,
    timeline: list[TimelineEvent] | None = None,
    analysis: Analysis | None = None,
    actions: list[ActionItem] | None = None,
) -> Incident:
    fields = {k: getattr(row, k) for k in COLUMNS}
    body = row.body if isinstance(row.body, dict) else {}
    data = {**body, **fields, "id": to_incident_id(row.pk)}
    incident = load(Incident, data, what=to_incident_id(row.pk))  # its children were read (and checked) apart
    return incident.model_copy(update={"timeline": timeline or [], "analysis": analysis, "action_items": actions or []})


def readable_incident(row: StoredRow, *, analysis: Analysis | None = None) -> Incident | None:
    """The incident of a row in a list, or None (logged) when it is damaged beyond repair."""
    try:
        return incident_from_row(row, analysis=analysis)
    except CorruptRecord:
        return None


def event_from_row(name: str, row: StoredRow) -> TimelineEvent | None:
    """A timeline event, or None (logged) when it is damaged beyond repair: the rest of the timeline is still read."""
    data = {"at": row.at, "kind": row.kind, "description": row.description}
    try:
        return load(TimelineEvent, data, what=f"{name}'s timeline event {row.pk}")
    except CorruptRecord:
        return None


def analysis_from_body(name: str, body: Any, pk: int | None = None) -> Analysis | None:
    """The analysis a row's body holds, numbered by the row's key `pk` (when read with it)."""
    if body is None:
        return None
    try:
        found = load(Analysis, body if isinstance(body, dict) else {}, what=f"{name}'s analysis")
    except CorruptRecord:
        return None
    return found if pk is None else found.model_copy(update={"id": int(pk)})


def action_from_row(row: StoredRow, now: datetime) -> ActionItem:
    """The item a row holds (repaired for reading if it no longer validates: store/integrity.py)."""
    overdue = row.status != "completed" and row.due_at is not None and row.due_at < now
    fields = {k: getattr(row, k) for k in ("title", "owner", "priority", "status", "due_at", "created_at")}
    data = {**fields, "id": to_action_id(row.pk), "incident_id": to_incident_id(row.incident_pk), "overdue": overdue}
    return load(ActionItem, {**data, "completed_at": row.completed_at}, what=to_action_id(row.pk))


def readable(rows: Iterable[StoredRow], now: datetime) -> list[ActionItem]:
    """The items of these rows, leaving out (logged) any that is damaged beyond repair."""
    items = []
    for row in rows:
        try:
            items.append(action_from_row(row, now))
        except CorruptRecord:
            continue
    return items
