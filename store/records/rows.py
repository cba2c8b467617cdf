"""How incidents are laid out in the database: the columns beside the JSON body, a row written for a new incident
(with its timeline, analysis, action items, outbox row and idempotency key, in the caller's transaction), a row read
back as the stored model, and the filters of search and list as SQL."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Connection, Row, Select, insert, or_

from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.ids import incident_pk, to_incident_id
from agent_postmortem.store.models import (
    ActionItem,
    ActionItemCreate,
    Analysis,
    Incident,
    TimelineEvent,
    TimelineEventCreate,
)
from agent_postmortem.store.records import db, schema
from agent_postmortem.store.records.actions import action_values
from agent_postmortem.store.redact import redact, redact_model, redact_value

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
TIMES = ("created_at", "mitigated_at", "resolved_at", "last_seen_at")
CHILDREN = ("id", "timeline", "analysis", "action_items")


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewIncident:
    """An incident to insert, with its vector and history."""

    incident: Incident
    embedding: np.ndarray | None
    embedding_model: str | None
    timeline: Sequence[TimelineEventCreate] = ()
    analysis: Analysis | None = None
    actions: Sequence[ActionItemCreate] = ()
    idempotency_key: str | None = None
    keep_id: bool = False  # restoring an export: the incident and its items keep their ids


def insert_incident(conn: Connection, item: NewIncident) -> int:
    """Insert an incident with its children, an outbox row and its idempotency key; its primary key."""
    incident, _ = redact_model(item.incident)  # a no-op when the service redacted first, as it does
    values = incident.model_dump(mode="json", include=set(COLUMNS))
    values.update({k: getattr(incident, k) for k in TIMES})
    body = incident.model_dump(mode="json", exclude=set(COLUMNS) | set(CHILDREN))
    vector = None if item.embedding is None else np.asarray(item.embedding, dtype=np.float32)
    pk = db.insert_returning_pk(
        conn,
        insert(schema.incidents).values(
            **values,
            **({"pk": incident_pk(incident.id)} if item.keep_id else {}),
            body=body,
            content_hash=content_hash(incident.search_text()),
            embedding=None if vector is None else vector.tobytes(),
            embedding_model=item.embedding_model,
            embedding_dim=None if vector is None else int(vector.shape[0]),
        ),
    )
    events = [
        {"incident_pk": pk, "at": e.at or incident.created_at, "kind": e.kind, "description": redact(e.description)}
        for e in item.timeline
    ]
    if events:
        conn.execute(insert(schema.timeline_events), events)
    if item.analysis is not None:
        conn.execute(
            insert(schema.analyses).values(
                incident_pk=pk,
                created_at=item.analysis.created_at,
                body=redact_value(item.analysis.model_dump(mode="json")),
            )
        )
    if item.actions:
        rows = [action_values(pk, a, incident.created_at, keep_id=item.keep_id) for a in item.actions]
        conn.execute(insert(schema.action_items), rows)
    conn.execute(insert(schema.index_outbox).values(incident_pk=pk, op="upsert"))
    if item.idempotency_key is not None:  # same transaction: a duplicate key rolls the whole capture back
        conn.execute(
            insert(schema.idempotency_keys).values(
                key=item.idempotency_key, incident_pk=pk, created_at=incident.created_at
            )
        )
    return pk


def incident_from_row(
    row: Row[Any],
    *,
    timeline: list[TimelineEvent] | None = None,
    analysis: Analysis | None = None,
    actions: list[ActionItem] | None = None,
) -> Incident:
    """The stored incident of an `incidents` row (children as given: the row holds none of them)."""
    fields = {k: getattr(row, k) for k in COLUMNS}
    return Incident.model_validate(
        {
            **row.body,
            **fields,
            "id": to_incident_id(row.pk),
            "timeline": timeline or [],
            "analysis": analysis,
            "action_items": actions or [],
        }
    )


def keys_after(after_pk: int, gaps: Sequence[tuple[int, int]]) -> ColumnElement[bool]:
    """Keys above `after_pk` or inside one of the (first, last) ranges `gaps` (see records/cursor.py)."""
    pk = schema.incidents.c.pk
    return or_(pk > after_pk, *(pk.between(first, last) for first, last in gaps))


def filtered(query: Select[Any], filters: SearchFilters | None) -> Select[Any]:
    """The query narrowed to incidents that pass the filters: columns by equality, the creation time by range."""
    if filters is None:
        return query
    cols = schema.incidents.c
    for column, value in filters.columns().items():
        query = query.where(cols[column] == value)
    if filters.since is not None:
        query = query.where(cols.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(cols.created_at <= filters.until)
    return query
