"""Today's redaction rules applied to what is already stored (`postmortem redact`).

Text is redacted once, at capture; a record stored before a rule existed keeps what the rule would now replace, in
reports, the web view, exports and search. This reads every text column of every table that holds captured or
written text, redacts it with the rules of this version (the same `redact_value` capture uses), and, when asked to,
writes back the rows that change. An incident whose text changed gets a new content hash and loses its stored vector
(it was computed from the old text), so the next reindex embeds it again; the index outbox takes the change.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table, insert, select, update

from agent_postmortem.store.records import schema
from agent_postmortem.store.records.actions import keyed
from agent_postmortem.store.records.columns import readable_incident
from agent_postmortem.store.records.rows import content_hash
from agent_postmortem.store.redact import redact_value

# Every column that holds text someone captured or wrote (ids, enums, hashes and times hold none).
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "incidents": ("title", "agent", "tool", "model", "body"),
    "timeline_events": ("description",),
    "analyses": ("body",),
    "action_items": ("title", "owner"),
    "action_item_changes": ("old", "new", "by"),
}
BATCH = 500


@dataclass
class Reredaction:
    """What the rules of this version replace in stored rows: counts per kind of secret or PII, rows per table."""

    found: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)
    incidents: set[int] = field(default_factory=set)
    applied: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "replaced": dict(sorted(self.found.items())),
            "rows": dict(sorted(self.rows.items())),
            "incidents": len(self.incidents),
        }


def reredact(engine: Engine, *, apply: bool) -> Reredaction:
    """Count (and with `apply`, replace) what today's rules find in the stored text, table by table, in batches of
    rows, each batch in one transaction."""
    result = Reredaction(applied=apply)
    for name, columns in TEXT_COLUMNS.items():
        table = schema.metadata.tables[name]
        for batch in _batches(engine, table, columns):
            changes = [(row, change) for row in batch if (change := _redacted(row, columns, result.found))]
            if not changes:
                continue
            result.rows[name] += len(changes)
            owners = {pk for row, _ in changes if (pk := _incident_pk(name, row)) is not None}
            result.incidents |= owners
            if apply:
                with engine.begin() as conn:
                    for row, change in changes:
                        values = keyed(change) if name == "action_items" else change  # a redacted owner: its key
                        conn.execute(update(table).where(table.c.pk == row.pk).values(**values))
                    if name == "incidents":  # only the incident's own fields are embedded (search_text)
                        _reembed(conn, {int(row.pk) for row, _ in changes})
                    # queued with the change it follows: an interrupted run leaves no changed incident unqueued
                    if owners:
                        queued = [{"incident_pk": pk, "op": "upsert"} for pk in sorted(owners)]
                        conn.execute(insert(schema.index_outbox), queued)
    return result


def _batches(engine: Engine, table: Table, columns: tuple[str, ...]) -> Iterator[list[Any]]:
    """The rows in key order, a batch at a time (each read on its own, so a batch's writes never meet an open read)."""
    after = 0
    extra = [table.c.incident_pk] if "incident_pk" in table.c else []
    extra += [table.c.action_pk] if "action_pk" in table.c else []
    while True:
        query = select(table.c.pk, *extra, *(table.c[c] for c in columns)).where(table.c.pk > after)
        with engine.connect() as conn:
            rows = list(conn.execute(query.order_by(table.c.pk).limit(BATCH)).all())
        if not rows:
            return
        yield rows
        after = rows[-1].pk


def _redacted(row: Any, columns: tuple[str, ...], found: Counter[str]) -> dict[str, Any]:
    """The columns of `row` that today's rules change, with their new values."""
    change = {}
    for column in columns:
        value = getattr(row, column)
        counts: Counter[str] = Counter()
        new = redact_value(value, counts)
        if counts and new != value:
            found.update(counts)
            change[column] = new
    return change


def _incident_pk(table: str, row: Any) -> int | None:
    if table == "incidents":
        return int(row.pk)
    return int(row.incident_pk) if hasattr(row, "incident_pk") else None


def _reembed(conn: Connection, pks: set[int]) -> None:
    """A new content hash and no stored vector for each incident whose own text changed."""
    for pk in sorted(pks):
        row = conn.execute(select(schema.incidents).where(schema.incidents.c.pk == pk)).one()
        incident = readable_incident(row)
        digest = content_hash(incident.search_text()) if incident is not None else row.content_hash
        conn.execute(
            update(schema.incidents)
            .where(schema.incidents.c.pk == pk)
            .values(content_hash=digest, embedding=None, embedding_model=None, embedding_dim=None)
        )
