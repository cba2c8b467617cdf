"""What the rows of the record store's tables hold: written through `for_storage`, read through `load`
(store/integrity.py), so that what is written validates and one row that no longer does takes nothing down."""

from typing import Any

from sqlalchemy import Row

from store.errors import CorruptRecord
from store.ids import incident_id
from store.integrity import for_storage, load
from store.models import ActionItem, Analysis, Incident, TimelineEvent

# Columns kept out of the JSON body because they live in their own columns or tables.
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


def incident_from_row(
    row: Row[Any],
    *,
    timeline: list[TimelineEvent] | None = None,
    analysis: Analysis | None = None,
    actions: list[ActionItem] | None = None,
) -> Incident:
    fields = {k: getattr(row, k) for k in COLUMNS}
    body = row.body if isinstance(row.body, dict) else {}
    data = {**body, **fields, "id": incident_id(row.pk)}
    incident = load(Incident, data, what=incident_id(row.pk))  # its children were read (and checked) apart
    return incident.model_copy(update={"timeline": timeline or [], "analysis": analysis, "action_items": actions or []})


def readable_incident(row: Row[Any], *, analysis: Analysis | None = None) -> Incident | None:
    """The incident of a row in a list, or None (logged) when it is damaged beyond repair."""
    try:
        return incident_from_row(row, analysis=analysis)
    except CorruptRecord:
        return None


def event_row(pk: int, event: TimelineEvent) -> dict[str, Any]:
    checked = for_storage(event)
    return {"incident_pk": pk, "at": checked.at, "kind": checked.kind, "description": checked.description}


def analysis_row(pk: int, analysis: Analysis) -> dict[str, Any]:
    checked = for_storage(analysis)
    return {"incident_pk": pk, "created_at": checked.created_at, "body": checked.model_dump(mode="json")}


def event_from_row(name: str, row: Row[Any]) -> TimelineEvent | None:
    """A timeline event, or None (logged) when it is damaged beyond repair: the rest of the timeline is still read."""
    data = {"at": row.at, "kind": row.kind, "description": row.description}
    try:
        return load(TimelineEvent, data, what=f"{name}'s timeline event {row.pk}")
    except CorruptRecord:
        return None


def analysis_from_body(name: str, body: Any) -> Analysis | None:
    if body is None:
        return None
    try:
        return load(Analysis, body if isinstance(body, dict) else {}, what=f"{name}'s analysis")
    except CorruptRecord:
        return None
