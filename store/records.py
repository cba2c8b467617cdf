"""The record store: the source of truth. Returns pydantic models, never rows.

Every write that changes what is searchable also writes an `index_outbox` row in the same
transaction, so the vector index can always be brought back in line by replaying the outbox.
Every record is validated and redacted before it is written, and read repaired if a stored row no
longer validates (store/integrity.py, store/rows.py).
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select, update

from store import db
from store.actions import action_values, readable
from store.errors import IncidentNotFound
from store.feed import IndexFeed, filtered
from store.idempotency import KeyDigests
from store.ids import incident_id, incident_pk
from store.integrity import for_storage
from store.models import (
    ActionItemCreate,
    Analysis,
    Incident,
    Status,
    TimelineEvent,
    TimelineEventCreate,
    utcnow,
)
from store.rows import (
    COLUMNS,
    analysis_from_body,
    analysis_row,
    event_from_row,
    event_row,
    incident_from_row,
    readable_incident,
)

_TIMES = ("created_at", "mitigated_at", "resolved_at", "last_seen_at")
_CHILDREN = ("id", "timeline", "analysis", "action_items")


_cols = db.incidents.c
# How a list can be ordered (ties broken newest first); severity sorts SEV1 first.
LIST_ORDERS: dict[str, tuple[Any, ...]] = {
    "newest": (_cols.created_at.desc(),),
    "oldest": (_cols.created_at.asc(),),
    "last_seen": (func.coalesce(_cols.last_seen_at, _cols.created_at).desc(),),
    "occurrences": (_cols.occurrences.desc(), _cols.created_at.desc()),
    "severity": (_cols.severity.asc(), _cols.created_at.desc()),
}


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


class IncidentStore(IndexFeed):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.key_digest = KeyDigests(engine)  # idempotency keys are stored as keyed digests, never as sent

    # --- incidents ----------------------------------------------------------------------------

    def create(
        self,
        incident: Incident,
        *,
        embedding: np.ndarray | None,
        embedding_model: str | None,
        timeline: Sequence[TimelineEventCreate] = (),
        analysis: Analysis | None = None,
        actions: Sequence[ActionItemCreate] = (),
        idempotency_key: str | None = None,
    ) -> Incident:
        """Insert an incident (its `id` is ignored and assigned) with its children and an outbox row."""
        new = NewIncident(incident, embedding, embedding_model, timeline, analysis, actions, idempotency_key)
        return self.get_or_raise(self.create_many([new])[0])

    def create_many(self, items: Sequence["NewIncident"]) -> list[str]:
        """Insert incidents with their children and outbox rows in one transaction; returns their ids, in order."""
        keys = [None if item.idempotency_key is None else self.key_digest(item.idempotency_key) for item in items]
        with self.engine.begin() as conn:
            ids = [incident_id(self._insert(conn, item, key)) for item, key in zip(items, keys, strict=True)]
            if any(item.keep_id for item in items):
                db.advance_sequence(conn, db.incidents)
                db.advance_sequence(conn, db.action_items)
            return ids

    @staticmethod
    def _insert(conn: Connection, item: "NewIncident", key_digest: str | None) -> int:
        incident = for_storage(item.incident)  # the service redacted it first, and counted what it found
        values = incident.model_dump(mode="json", include=set(COLUMNS))
        values.update({k: getattr(incident, k) for k in _TIMES})
        body = incident.model_dump(mode="json", exclude=set(COLUMNS) | set(_CHILDREN))
        vector = None if item.embedding is None else np.asarray(item.embedding, dtype=np.float32)
        pk = db.insert_returning_pk(
            conn,
            insert(db.incidents).values(
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
            event_row(pk, TimelineEvent(**{**e.model_dump(), "at": e.at or incident.created_at})) for e in item.timeline
        ]
        if events:
            conn.execute(insert(db.timeline_events), events)
        if item.analysis is not None:
            conn.execute(insert(db.analyses).values(analysis_row(pk, item.analysis)))
        if item.actions:
            rows = [action_values(pk, a, incident.created_at, keep_id=item.keep_id) for a in item.actions]
            conn.execute(insert(db.action_items), rows)
        conn.execute(insert(db.index_outbox).values(incident_pk=pk, op="upsert"))
        if key_digest is not None:  # same transaction: a duplicate key rolls the whole capture back
            conn.execute(
                insert(db.idempotency_keys).values(key=key_digest, incident_pk=pk, created_at=incident.created_at)
            )
        return pk

    def get(self, incident_id_: str) -> Incident | None:
        pk = incident_pk(incident_id_)
        with self.engine.connect() as conn:
            row = conn.execute(select(db.incidents).where(db.incidents.c.pk == pk)).first()
            if row is None:
                return None
            events = conn.execute(
                select(db.timeline_events)
                .where(db.timeline_events.c.incident_pk == pk)
                .order_by(db.timeline_events.c.at, db.timeline_events.c.pk)
            ).all()
            analysis = conn.execute(
                select(db.analyses.c.body)
                .where(db.analyses.c.incident_pk == pk)
                .order_by(db.analyses.c.pk.desc())
                .limit(1)
            ).scalar()
            actions = conn.execute(
                select(db.action_items).where(db.action_items.c.incident_pk == pk).order_by(db.action_items.c.pk)
            ).all()
        name = incident_id(pk)
        return incident_from_row(
            row,
            timeline=[e for e in (event_from_row(name, r) for r in events) if e is not None],
            analysis=analysis_from_body(name, analysis),
            actions=readable(actions, utcnow()),
        )

    def get_or_raise(self, incident_id_: str) -> Incident:
        found = self.get(incident_id_)
        if found is None:
            raise IncidentNotFound(incident_id_)
        return found

    def list_incidents(
        self, *, limit: int = 20, offset: int = 0, order: str = "newest", **filters: Any
    ) -> list[Incident]:
        """Incidents in `order` (newest first by default; see LIST_ORDERS), without children (use `get` for the full
        record); `filters` as `pks_matching` takes them (columns, `since`, `until`)."""
        query = filtered(select(db.incidents), filters).order_by(*LIST_ORDERS[order], db.incidents.c.pk.desc())
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [i for i in (readable_incident(r) for r in rows) if i is not None]

    def summaries(self, pks: Sequence[int]) -> dict[int, Incident]:
        """Incidents by primary key, without children, with their latest analysis (for search hits)."""
        if not pks:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(db.incidents).where(db.incidents.c.pk.in_(list(pks)))).all()
            latest = (
                select(db.analyses.c.incident_pk, func.max(db.analyses.c.pk).label("pk"))
                .where(db.analyses.c.incident_pk.in_(list(pks)))
                .group_by(db.analyses.c.incident_pk)
                .subquery()
            )
            bodies = dict(
                conn.execute(
                    select(db.analyses.c.incident_pk, db.analyses.c.body).join(latest, latest.c.pk == db.analyses.c.pk)
                ).all()
            )
        analyses = {r.pk: analysis_from_body(incident_id(r.pk), bodies.get(r.pk)) for r in rows}
        found = {r.pk: readable_incident(r, analysis=analyses[r.pk]) for r in rows}
        return {pk: incident for pk, incident in found.items() if incident is not None}

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(db.incidents)).scalar_one())

    def counts_by(self, column: str) -> dict[str, int]:
        col = db.incidents.c[column]
        with self.engine.connect() as conn:
            return {str(k): int(v) for k, v in conn.execute(select(col, func.count()).group_by(col)).all()}

    def existing_hashes(self, digests: Sequence[str]) -> set[str]:
        cols = db.incidents.c
        with self.engine.connect() as conn:
            return set(conn.execute(select(cols.content_hash).where(cols.content_hash.in_(list(digests)))).scalars())

    def find_open_by_signature(self, signature: str, *, since: datetime) -> str | None:
        """The newest unresolved incident with this failure signature last seen at or after `since`."""
        cols = db.incidents.c
        seen = func.coalesce(cols.last_seen_at, cols.created_at)
        with self.engine.connect() as conn:
            pk = conn.execute(
                select(cols.pk)
                .where(cols.signature == signature, cols.status != "resolved", seen >= since)
                .order_by(cols.pk.desc())
                .limit(1)
            ).scalar()
        return None if pk is None else incident_id(pk)

    def all_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return [
                incident_id(int(pk))
                for pk in conn.execute(select(db.incidents.c.pk).order_by(db.incidents.c.pk)).scalars()
            ]

    def find_by_key(self, key: str) -> str | None:
        """The incident an idempotency key was first used for."""
        digest = self.key_digest(key)
        with self.engine.connect() as conn:
            pk = conn.execute(
                select(db.idempotency_keys.c.incident_pk).where(db.idempotency_keys.c.key == digest)
            ).scalar()
        return None if pk is None else incident_id(int(pk))

    def pks_with_signature(self, signature: str, *, limit: int = 20) -> list[int]:
        """The newest incidents (any status) with this failure signature."""
        cols = db.incidents.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cols.pk).where(cols.signature == signature).order_by(cols.pk.desc()).limit(limit)
            ).scalars()
            return [int(pk) for pk in rows]

    def add_occurrence(self, incident_id_: str, event: TimelineEvent, *, key: str | None = None) -> None:
        """Count one more occurrence of an incident's failure, with a timeline event, atomically (with the
        capture's idempotency key, if any: a duplicate key rolls it back)."""
        pk = self.existing_pk(incident_id_)
        cols = db.incidents.c
        row, digest = event_row(pk, event), None if key is None else self.key_digest(key)
        with self.engine.begin() as conn:
            if digest is not None:
                conn.execute(insert(db.idempotency_keys).values(key=digest, incident_pk=pk, created_at=event.at))
            conn.execute(
                update(db.incidents)
                .where(cols.pk == pk)
                .values(occurrences=cols.occurrences + 1, last_seen_at=event.at)
            )
            conn.execute(insert(db.timeline_events).values(row))

    def add_event(self, incident_id_: str, event: TimelineEvent) -> None:
        pk = self.existing_pk(incident_id_)
        row = event_row(pk, event)
        with self.engine.begin() as conn:
            conn.execute(insert(db.timeline_events).values(row))

    def set_status(self, incident_id_: str, *, status: str, at: datetime, event: TimelineEvent | None) -> None:
        pk = self.existing_pk(incident_id_)
        if status not in get_args(Status):
            raise ValueError("the status must be open, mitigated or resolved")
        row = None if event is None else event_row(pk, event)
        values: dict[str, Any] = {"status": status}
        if status == "mitigated":
            values["mitigated_at"] = at
        if status == "resolved":
            values["resolved_at"] = at
        with self.engine.begin() as conn:
            conn.execute(update(db.incidents).where(db.incidents.c.pk == pk).values(**values))
            if row is not None:
                conn.execute(insert(db.timeline_events).values(row))
            conn.execute(insert(db.index_outbox).values(incident_pk=pk, op="upsert"))

    def save_analysis(self, incident_id_: str, analysis: Analysis) -> None:
        pk = self.existing_pk(incident_id_)
        row = analysis_row(pk, analysis)
        with self.engine.begin() as conn:
            conn.execute(insert(db.analyses).values(row))
            if analysis.state == "accepted":
                conn.execute(update(db.incidents).where(db.incidents.c.pk == pk).values(postmortem_completed=True))

    # --- vectors and the index outbox ---------------------------------------------------------

    def existing_pk(self, incident_id_: str) -> int:
        """The key of an incident that exists, or IncidentNotFound."""
        pk = incident_pk(incident_id_)
        with self.engine.connect() as conn:
            if conn.execute(select(db.incidents.c.pk).where(db.incidents.c.pk == pk)).first() is None:
                raise IncidentNotFound(incident_id_)
        return pk
