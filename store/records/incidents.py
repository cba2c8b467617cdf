"""The record store: the source of truth. Returns pydantic models, never rows.

Every write that changes what is searchable also writes an `index_outbox` row in the same
transaction, so the vector index can always be brought back in line by replaying the outbox. What the indexes
read (vectors, texts, the outbox) is `feed`, the store's IndexFeed on the same database. Every record is validated
and redacted before it is written, and read repaired if a stored row no longer validates (records/integrity.py,
records/rows.py).
"""

import functools
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Select, bindparam, func, select

from agent_postmortem.store.errors import IncidentNotFound
from agent_postmortem.store.filters import ListOrder, SearchFilters
from agent_postmortem.store.ids import incident_pk, to_incident_id
from agent_postmortem.store.models import (
    ActionItemCreate,
    Analysis,
    Incident,
    TimelineEventCreate,
)
from agent_postmortem.store.records import db, schema
from agent_postmortem.store.records.batch import read_many, read_one
from agent_postmortem.store.records.columns import (
    analysis_from_body,
    readable_incident,
)
from agent_postmortem.store.records.idempotency import KeyDigests, KnownKey
from agent_postmortem.store.records.incident_changes import IncidentChanges
from agent_postmortem.store.records.rows import NewIncident, filtered, insert_incident, ordered

if TYPE_CHECKING:
    import numpy as np

    from agent_postmortem.store.records.feed import IndexFeed


class IncidentStore(IncidentChanges):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.key_digest = KeyDigests(engine)  # idempotency keys are stored as keyed digests, never as sent

    @functools.cached_property
    def feed(self) -> "IndexFeed":
        """What the indexes read; made on first use, so that the quick reads (`list`, `show`) never load numpy."""
        from agent_postmortem.store.records.feed import IndexFeed

        return IndexFeed(self.engine)

    # --- incidents ----------------------------------------------------------------------------

    def create(
        self,
        incident: Incident,
        *,
        embedding: "np.ndarray | None",
        embedding_model: str | None,
        timeline: Sequence[TimelineEventCreate] = (),
        analysis: Analysis | None = None,
        actions: Sequence[ActionItemCreate] = (),
        idempotency_key: str | None = None,
    ) -> Incident:
        """Insert an incident (its `id` is ignored and assigned) with its children and an outbox row."""
        new = NewIncident(incident, embedding, embedding_model, timeline, analysis, actions, idempotency_key)
        return self.get_or_raise(self.create_many([new])[0])

    def create_many(self, items: Sequence[NewIncident]) -> list[str]:
        """Insert incidents with their children and outbox rows in one transaction; returns their ids, in order."""
        keys = [None if item.idempotency_key is None else self.key_digest(item.idempotency_key) for item in items]
        with self.engine.begin() as conn:
            return _insert(conn, items, keys)

    def restore(self, items: Sequence[NewIncident]) -> int:
        """Insert a backup's incidents, ids kept, in one transaction that holds off every other writer from its
        check that the store is empty to its commit (a capture meanwhile waits for it): 0, or how many incidents
        the store held instead, when nothing was written."""
        with self.engine.connect() as conn, db.writing_alone(conn, schema.incidents):
            held = int(conn.execute(select(func.count()).select_from(schema.incidents)).scalar_one())
            if not held:
                _insert(conn, items, [None] * len(items))
            return held

    def get(self, incident_id: str, *, accepted: bool = False) -> Incident | None:
        """The incident with its children and its latest analysis (any state), or with `accepted` its latest
        accepted analysis (or none): what feeds the knowledge base, while a newer draft waits for review."""
        with self.engine.connect() as conn:
            return read_one(conn, incident_pk(incident_id), accepted=accepted)

    def get_many(
        self, incident_ids: Sequence[str], *, accepted: bool = False, history: bool = False
    ) -> Iterator[tuple[str, Incident | None]]:
        """Each stored incident of `incident_ids` as `get` reads it, in key order, in a few statements per 500
        (records/batch.py); None for one damaged beyond repair (logged), so that a bulk read goes on past it. With
        `history`, each action item carries its changes."""
        with self.engine.connect() as conn:
            pks = [incident_pk(i) for i in incident_ids]
            for pk, incident in read_many(conn, pks, accepted=accepted, history=history):
                yield to_incident_id(pk), incident

    def get_or_raise(self, incident_id: str, *, accepted: bool = False) -> Incident:
        found = self.get(incident_id, accepted=accepted)
        if found is None:
            raise IncidentNotFound(incident_id)
        return found

    def get_many_or_raise(self, incident_ids: Sequence[str], *, accepted: bool = False) -> list[Incident]:
        """Each of `incident_ids` as `get_or_raise` reads it, in the order given, read a chunk at a time (`get_many`):
        one not stored raises IncidentNotFound, one damaged beyond repair CorruptRecord, as reading it alone does."""
        found = dict(self.get_many(incident_ids, accepted=accepted))
        return [
            found.get(to_incident_id(incident_pk(i))) or self.get_or_raise(i, accepted=accepted) for i in incident_ids
        ]

    def list_incidents(
        self, *, limit: int = 20, offset: int = 0, filters: SearchFilters | None = None, order: ListOrder = "newest"
    ) -> list[Incident]:
        """Incidents in `order` (newest first by default), without children (use `get` for the full record)."""
        query = ordered(filtered(select(schema.incidents), filters), order)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [i for i in (readable_incident(r) for r in rows) if i is not None]

    def summaries(self, pks: Sequence[int]) -> dict[int, Incident]:
        """Incidents by primary key, without children, with their latest accepted analysis (for search hits: only a
        reviewed analysis is shown as what is known about a past incident)."""
        if not pks:
            return {}
        keys = {"pks": [int(pk) for pk in pks]}
        with self.engine.connect() as conn:
            rows = conn.execute(_SUMMARY_ROWS, keys).all()
            bodies = dict(conn.execute(_ACCEPTED_BODIES, keys).all())
        analyses = {r.pk: analysis_from_body(to_incident_id(r.pk), bodies.get(r.pk)) for r in rows}
        found = {r.pk: readable_incident(r, analysis=analyses[r.pk]) for r in rows}
        return {pk: incident for pk, incident in found.items() if incident is not None}

    def count(self, filters: SearchFilters | None = None) -> int:
        """How many incidents there are, or pass the filters."""
        query = filtered(select(func.count()).select_from(schema.incidents), filters)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def counts_by(self, column: str) -> dict[str, int]:
        col = schema.incidents.c[column]
        with self.engine.connect() as conn:
            return {str(k): int(v) for k, v in conn.execute(select(col, func.count()).group_by(col)).all()}

    def named(self, column: str) -> dict[str, int]:
        """The values a text column (agent, tool, model) holds, with how many incidents hold each; none for NULL."""
        col = schema.incidents.c[column]
        with self.engine.connect() as conn:
            rows = conn.execute(select(col, func.count()).where(col.is_not(None)).group_by(col)).all()
        return {str(k): int(v) for k, v in rows}

    def existing_hashes(self, digests: Sequence[str]) -> set[str]:
        cols = schema.incidents.c
        with self.engine.connect() as conn:
            return set(conn.execute(select(cols.content_hash).where(cols.content_hash.in_(list(digests)))).scalars())

    def find_open_by_signature(self, signature: str, *, since: datetime, until: datetime | None = None) -> str | None:
        """The newest unresolved incident with this failure signature last seen at or after `since` (and first seen
        at or before `until`, when given: a failure dated in the past is a repeat of an incident around its time)."""
        cols = schema.incidents.c
        seen = func.coalesce(cols.last_seen_at, cols.created_at)
        first = [] if until is None else [cols.created_at <= until]
        with self.engine.connect() as conn:
            pk = conn.execute(
                select(cols.pk)
                .where(cols.signature == signature, cols.status != "resolved", seen >= since, *first)
                .order_by(cols.pk.desc())
                .limit(1)
            ).scalar()
        return None if pk is None else to_incident_id(pk)

    def all_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return [
                to_incident_id(int(pk))
                for pk in conn.execute(select(schema.incidents.c.pk).order_by(schema.incidents.c.pk)).scalars()
            ]

    def find_by_key(self, key: str) -> KnownKey | None:
        """The incident an idempotency key was first used for, and the occurrence it counted (None: it made it)."""
        digest = self.key_digest(key)
        cols = schema.idempotency_keys.c
        with self.engine.connect() as conn:
            row = conn.execute(select(cols.incident_pk, cols.occurrence).where(cols.key == digest)).first()
        if row is None:
            return None
        return KnownKey(to_incident_id(int(row.incident_pk)), None if row.occurrence is None else int(row.occurrence))

    def pks_with_signature(self, signature: str, *, limit: int = 20) -> list[int]:
        """The newest incidents (any status) with this failure signature."""
        cols = schema.incidents.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cols.pk).where(cols.signature == signature).order_by(cols.pk.desc()).limit(limit)
            ).scalars()
            return [int(pk) for pk in rows]

    def analysed_pks(self, *, category: str | None = None, limit: int) -> list[int]:
        """The newest incidents (of a category) that have an accepted analysis."""
        cols = schema.incidents.c
        query = _analysed(select(cols.pk), category).order_by(cols.created_at.desc(), cols.pk.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [int(pk) for pk in conn.execute(query).scalars()]

    def count_analysed(self, *, category: str | None = None) -> int:
        """How many incidents (of a category) have an accepted analysis: one count, no id read."""
        query = _analysed(select(func.count()).select_from(schema.incidents), category)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def existing(self, incident_ids: Sequence[str]) -> list[str]:
        """Which of these incident ids are stored, in the given order: one query, no record read."""
        pks = [incident_pk(i) for i in incident_ids]
        if not pks:
            return []
        with self.engine.connect() as conn:
            found = set(conn.execute(select(schema.incidents.c.pk).where(schema.incidents.c.pk.in_(pks))).scalars())
        return [to_incident_id(pk) for pk in dict.fromkeys(pks) if pk in found]


def _insert(conn: Connection, items: Sequence[NewIncident], keys: Sequence[str | None]) -> list[str]:
    """Insert incidents in the caller's transaction; after ids kept (a restore), the key sequences move past them."""
    ids = [to_incident_id(insert_incident(conn, item, key)) for item, key in zip(items, keys, strict=True)]
    if any(item.keep_id for item in items):
        db.advance_sequence(conn, schema.incidents)
        db.advance_sequence(conn, schema.action_items)
        db.advance_sequence(conn, schema.analyses)
    return ids


def _analysed(query: Select[Any], category: str | None) -> Select[Any]:
    """`query` over the incidents (of a category) that have an accepted analysis."""
    accepted = select(schema.analyses.c.incident_pk).where(schema.analyses.c.state == "accepted")
    query = query.where(schema.incidents.c.pk.in_(accepted))
    return query if category is None else query.where(schema.incidents.c.category == category)


# Search shows a few summaries per query: the statements are built once (0.3 ms a query saved at 100k incidents)
_SUMMARY_ROWS = select(schema.incidents).where(schema.incidents.c.pk.in_(bindparam("pks", expanding=True)))
_LATEST_ACCEPTED = (
    select(schema.analyses.c.incident_pk, func.max(schema.analyses.c.pk).label("pk"))
    .where(schema.analyses.c.incident_pk.in_(bindparam("pks", expanding=True)), schema.analyses.c.state == "accepted")
    .group_by(schema.analyses.c.incident_pk)
    .subquery()
)
_ACCEPTED_BODIES = select(schema.analyses.c.incident_pk, schema.analyses.c.body).join(
    _LATEST_ACCEPTED, _LATEST_ACCEPTED.c.pk == schema.analyses.c.pk
)
