"""How incidents are laid out in the database, and every row written or read through `for_storage` and `load`
(records/integrity.py), so that what is written validates and one row that no longer does takes nothing down: the
columns beside the JSON body, a new incident's rows (with its timeline, analysis, action items, outbox row and
idempotency key, in the caller's transaction) and the filters of search and list as SQL. Rows are read back as the
stored models by records/columns.py."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Select, func, insert, or_

from agent_postmortem.store.filters import ListOrder, SearchFilters
from agent_postmortem.store.ids import incident_pk
from agent_postmortem.store.models import (
    ActionItem,
    ActionItemCreate,
    Analysis,
    Incident,
    TimelineEvent,
    TimelineEventCreate,
)
from agent_postmortem.store.records import db, schema
from agent_postmortem.store.records.actions import action_values, history_rows
from agent_postmortem.store.records.columns import CHILDREN, COLUMNS, TIMES
from agent_postmortem.store.records.integrity import for_storage, validated
from agent_postmortem.store.signature import failure_signature

if TYPE_CHECKING:
    import numpy as np


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewIncident:
    """An incident to insert, with its vector and history."""

    incident: Incident
    embedding: "np.ndarray | None"
    embedding_model: str | None
    timeline: Sequence[TimelineEventCreate] = ()
    analysis: Analysis | None = None
    actions: Sequence[ActionItemCreate] = ()
    idempotency_key: str | None = None
    keep_id: bool = False  # restoring an export: the incident, its analysis and its items keep their ids


def insert_incident(conn: Connection, item: NewIncident, key_digest: str | None) -> int:
    """Insert an incident with its children, an outbox row and the digest of its idempotency key (records/
    idempotency.py), in the caller's transaction; its primary key."""
    incident = for_storage(item.incident)  # the service redacted it first, and counted what it found
    if item.keep_id and incident.signature is not None:  # a backup from before a rule changed: signed as now
        incident = incident.model_copy(update={"signature": failure_signature(incident)})
    values = incident.model_dump(mode="json", include=set(COLUMNS))
    values.update({k: getattr(incident, k) for k in TIMES})
    body = incident.model_dump(mode="json", exclude=set(COLUMNS) | set(CHILDREN))
    import numpy as np  # here, not at import: the quick reads (`list`, `show`) never write

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
        event_row(pk, validated(TimelineEvent, {**e.model_dump(), "at": e.at or incident.created_at}))
        for e in item.timeline
    ]
    if events:
        conn.execute(insert(schema.timeline_events), events)
    if item.analysis is not None:
        row = analysis_row(pk, item.analysis)
        if item.keep_id and item.analysis.id is not None:  # a restore keeps its number: reviews name it
            row["pk"] = item.analysis.id
        conn.execute(insert(schema.analyses).values(row))
    if item.actions:
        rows = [action_values(pk, a, incident.created_at, keep_id=item.keep_id) for a in item.actions]
        conn.execute(insert(schema.action_items), rows)
        changes = [c for a, row in zip(item.actions, rows, strict=True) if item.keep_id for c in _history(a, row)]
        if changes:  # a restored item keeps its history: who changed what, and when
            conn.execute(insert(schema.action_item_changes), changes)
    conn.execute(insert(schema.index_outbox).values(incident_pk=pk, op="upsert"))
    if key_digest is not None:  # same transaction: a duplicate key rolls the whole capture back
        conn.execute(
            insert(schema.idempotency_keys).values(key=key_digest, incident_pk=pk, created_at=incident.created_at)
        )
    return pk


def _history(item: ActionItemCreate, row: dict[str, Any]) -> list[dict[str, Any]]:
    return history_rows(row["pk"], item.history) if isinstance(item, ActionItem) else []


def event_row(pk: int, event: TimelineEvent) -> dict[str, Any]:
    checked = for_storage(event)
    return {"incident_pk": pk, "at": checked.at, "kind": checked.kind, "description": checked.description}


def analysis_row(pk: int, analysis: Analysis) -> dict[str, Any]:
    checked = for_storage(analysis)
    body = checked.model_dump(mode="json", exclude={"id"})  # the row's key is its number
    return {"incident_pk": pk, "created_at": checked.created_at, "body": body, "state": checked.state}


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


def ordered(query: Select[Any], order: ListOrder) -> Select[Any]:
    """The query in `order`, ties broken by the newest key."""
    cols = schema.incidents.c
    by: dict[str, tuple[Any, ...]] = {
        "newest": (cols.created_at.desc(),),
        "oldest": (cols.created_at.asc(),),
        "last_seen": (func.coalesce(cols.last_seen_at, cols.created_at).desc(),),
        "occurrences": (cols.occurrences.desc(), cols.created_at.desc()),
        "severity": (cols.severity.asc(), cols.created_at.desc()),
    }
    return query.order_by(*by[order], cols.pk.desc())
