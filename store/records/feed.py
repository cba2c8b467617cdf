"""What the search indexes read from the record store: vectors, texts, filters and the index outbox. The record
store holds one (`IncidentStore.feed`); the knowledge base and the index owner read through it."""

import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Engine, bindparam, delete, func, select, update

from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.ids import incident_pk
from agent_postmortem.store.records import schema
from agent_postmortem.store.records.columns import readable_incident
from agent_postmortem.store.records.rows import filtered, keys_after


class IndexFeed:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def vector(self, incident_id: str, *, model: str) -> np.ndarray | None:
        """The stored vector of an incident, if it was made by `model` (vectors of other models never mix)."""
        pk = incident_pk(incident_id)
        return self.vectors([pk], model=model).get(pk)

    def vectors(self, pks: Sequence[int], *, model: str) -> dict[int, np.ndarray]:
        """Stored vectors by key. Search re-ranks a few hundred per query, twice: on SQLite one constant statement
        (the keys as one JSON parameter, so sqlite3 reuses the prepared statement) sent to the driver as it is, 0.6
        instead of 0.95 ms for 200 keys through SQLAlchemy's expanding IN (bench perf, 100k incidents); elsewhere
        one cached statement."""
        if not pks:
            return {}
        keys = [int(pk) for pk in pks]
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                rows = conn.exec_driver_sql(_SQLITE_VECTORS, (json.dumps(keys), model)).all()
            else:
                rows = conn.execute(_VECTORS, {"pks": keys, "model": model}).all()
        return {int(pk): np.frombuffer(blob, dtype=np.float32) for pk, blob in rows if blob is not None}

    def fingerprints(self, pks: Sequence[int]) -> dict[int, str]:
        """What the search caches check a saved file against: each incident's content hash and vector model."""
        if not pks:
            return {}
        cols = schema.incidents.c
        query = select(cols.pk, cols.content_hash, cols.embedding_model).where(cols.pk.in_(list(pks)))
        with self.engine.connect() as conn:
            return {int(r.pk): f"{r.content_hash}:{r.embedding_model or ''}" for r in conn.execute(query)}

    def vector_rows(
        self, *, model: str, after_pk: int = 0, gaps: Sequence[tuple[int, int]] = (), batch: int = 5000
    ) -> Iterator[tuple[int, np.ndarray]]:
        """(pk, vector) of `model` for incidents above `after_pk` or inside the key ranges `gaps`, in key order."""
        cols = schema.incidents.c
        query = (
            select(cols.pk, cols.embedding)
            .where(keys_after(after_pk, gaps), cols.embedding_model == model, cols.embedding.is_not(None))
            .order_by(cols.pk)
        )
        with self.engine.connect() as conn:
            for row in conn.execute(query.execution_options(yield_per=batch)):
                yield row.pk, np.frombuffer(row.embedding, dtype=np.float32)

    def pks_matching(self, filters: SearchFilters) -> list[int]:
        """Every incident key that passes the filters."""
        query = filtered(select(schema.incidents.c.pk), filters)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def embedded_count(self, *, model: str) -> int:
        """Incidents whose stored vector comes from this model: what the index should hold."""
        cols = schema.incidents.c
        query = select(func.count()).where(cols.embedding.is_not(None), cols.embedding_model == model)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def embedded_pks(self, *, model: str) -> set[int]:
        """The incidents whose stored vector comes from this model."""
        cols = schema.incidents.c
        query = select(cols.pk).where(cols.embedding.is_not(None), cols.embedding_model == model)
        with self.engine.connect() as conn:
            return {int(pk) for pk in conn.execute(query).scalars()}

    def pending_pks(self) -> set[int]:
        """The incidents the outbox has yet to apply to the index."""
        with self.engine.connect() as conn:
            return {int(pk) for pk in conn.execute(select(schema.index_outbox.c.incident_pk)).scalars()}

    def stale_embeddings(self, *, model: str, limit: int = 256) -> list[tuple[int, str]]:
        """(pk, search text) of incidents with no vector from `model`: to re-embed after a model change."""
        cols = schema.incidents.c
        query = (
            select(schema.incidents)
            .where((cols.embedding_model != model) | cols.embedding_model.is_(None))
            .order_by(cols.pk)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(r.pk, i.search_text()) for r in rows if (i := readable_incident(r)) is not None]

    def set_embeddings(self, vectors: dict[int, np.ndarray], *, model: str) -> None:
        with self.engine.begin() as conn:
            for pk, vector in vectors.items():
                blob = np.asarray(vector, dtype=np.float32)
                conn.execute(
                    update(schema.incidents)
                    .where(schema.incidents.c.pk == pk)
                    .values(embedding=blob.tobytes(), embedding_model=model, embedding_dim=int(blob.shape[0]))
                )

    def filter_pks(self, pks: Sequence[int], filters: SearchFilters) -> set[int]:
        """The subset of `pks` that passes the filters."""
        query = filtered(select(schema.incidents.c.pk).where(schema.incidents.c.pk.in_(list(pks))), filters)
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def lexical_rows(
        self, after_pk: int = 0, gaps: Sequence[tuple[int, int]] = (), batch: int = 5000
    ) -> Iterator[tuple[int, str]]:
        """(pk, text) for BM25 (title, description, error type and message, tool and agent) of the incidents above
        `after_pk` or inside the key ranges `gaps`, in key order."""
        cols = schema.incidents.c
        query = (
            select(cols.pk, cols.title, cols.agent, cols.tool, cols.body)
            .where(keys_after(after_pk, gaps))
            .order_by(cols.pk)
        )
        with self.engine.connect() as conn:
            for row in conn.execute(query.execution_options(yield_per=batch)):
                body = row.body if isinstance(row.body, dict) else {}  # a damaged body (not JSON) is read as None
                parts = [
                    row.title,
                    body.get("description"),
                    body.get("error_type"),
                    body.get("error_message"),
                    row.tool,
                    row.agent,
                ]
                yield row.pk, "\n".join(p for p in parts if p)

    def pattern_keys(self, *, model: str) -> list[tuple[Any, np.ndarray]]:
        """Every embedded incident's key, category and signature (what links incidents into a pattern), with its
        vector, in key order: a third of the cost of `pattern_rows` at 10,000 incidents, for finding one pattern."""
        cols = schema.incidents.c
        query = (
            select(cols.pk, cols.category, cols.signature, cols.embedding)
            .where(cols.embedding.is_not(None), cols.embedding_model == model)
            .order_by(cols.pk)
        )
        with self.engine.connect() as conn:
            return [(r, np.frombuffer(r.embedding, dtype=np.float32)) for r in conn.execute(query).all()]

    def pattern_rows(self, *, model: str, pks: Sequence[int] | None = None) -> list[tuple[Any, np.ndarray]]:
        """Every embedded incident's fields that pattern detection needs (or these incidents'), with its vector, in
        key order."""
        cols = schema.incidents.c
        query = (
            select(
                cols.pk,
                cols.title,
                cols.category,
                cols.signature,
                cols.agent,
                cols.tool,
                cols.created_at,
                cols.last_seen_at,
                cols.embedding,
            )
            .where(cols.embedding.is_not(None), cols.embedding_model == model)
            .order_by(cols.pk)
        )
        if pks is not None:
            query = query.where(cols.pk.in_(list(pks)))
        with self.engine.connect() as conn:
            return [(r, np.frombuffer(r.embedding, dtype=np.float32)) for r in conn.execute(query)]

    def pending_outbox(self, limit: int = 1000) -> list[tuple[int, int, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.index_outbox).order_by(schema.index_outbox.c.pk).limit(limit)).all()
        return [(r.pk, r.incident_pk, r.op) for r in rows]

    def ack_outbox(self, pks: Sequence[int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(schema.index_outbox).where(schema.index_outbox.c.pk.in_(list(pks))))

    def index_rows(
        self, *, model: str, pks: Sequence[int] | None = None, batch: int = 2000
    ) -> Iterator[tuple[int, np.ndarray, dict[str, Any]]]:
        """(pk, vector, flat metadata) for incidents that have an embedding, in primary-key order."""
        cols = schema.incidents.c
        query = (
            select(
                cols.pk,
                cols.embedding,
                cols.category,
                cols.severity,
                cols.status,
                cols.agent,
                cols.tool,
                cols.created_at,
            )
            .where(cols.embedding.is_not(None), cols.embedding_model == model)
            .order_by(cols.pk)
        )
        if pks is not None:
            query = query.where(cols.pk.in_(list(pks)))
        with self.engine.connect() as conn:
            for row in conn.execute(query.execution_options(yield_per=batch)):
                meta = {
                    "category": row.category,
                    "severity": row.severity,
                    "status": row.status,
                    "agent": row.agent or "",
                    "tool": row.tool or "",
                    "created_ts": int(row.created_at.timestamp()),
                }
                yield row.pk, np.frombuffer(row.embedding, dtype=np.float32), meta


_VECTORS = select(schema.incidents.c.pk, schema.incidents.c.embedding).where(
    schema.incidents.c.pk.in_(bindparam("pks", expanding=True)),
    schema.incidents.c.embedding_model == bindparam("model"),
)
_SQLITE_VECTORS = (
    "SELECT pk, embedding FROM incidents WHERE pk IN (SELECT value FROM json_each(?)) AND embedding_model = ?"
)
