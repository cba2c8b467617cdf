"""The quick reads of an SQLite home (`postmortem list` and `show`) on the standard library's sqlite3, without
SQLAlchemy, whose imports were a quarter of these commands' time. It selects the columns records/columns.py names and
reads them into the same models by the same functions as the record store (records/incidents.py), so a command
prints the same either way; tests/store/records/test_sqlite_reader.py compares the two on damaged, hostile and
filtered rows.

It reads only a database at the schema revision this version writes (records/revision.py). `open` answers None for
any other revision, a database it cannot open or an unexpected error, and any read may raise `Unreadable`: the caller
then takes the record store, which migrates an older schema or reports the problem as every command does."""

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

from agent_postmortem.store.errors import IncidentNotFound
from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.ids import incident_pk, to_incident_id
from agent_postmortem.store.models import Incident, utcnow
from agent_postmortem.store.records.columns import (
    BOOLEAN_COLUMNS,
    COLUMNS,
    JSON_COLUMNS,
    READ,
    TIME_COLUMNS,
    analysis_from_body,
    event_from_row,
    incident_from_row,
    readable,
    readable_incident,
)
from agent_postmortem.store.records.integrity import stored_json
from agent_postmortem.store.records.readonly import read_only_uri, writable
from agent_postmortem.store.records.revision import head_revision


class IncidentReads(Protocol):
    """What the quick reads need of a store: this reader, or the record store (records/incidents.py)."""

    def list_incidents(
        self, *, limit: int = 20, offset: int = 0, filters: SearchFilters | None = None
    ) -> list[Incident]: ...

    def get_or_raise(self, incident_id: str) -> Incident: ...

    def count(self, filters: SearchFilters | None = None) -> int: ...


class Unreadable(Exception):
    """The database could not be read here (locked, damaged, a value this reader does not know): use the store."""


class SQLiteReader:
    """Incidents of one SQLite database, read-only: `list_incidents` and `get_or_raise` as IncidentStore has them
    (newest first; `get` with the latest analysis of any state)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def open(cls, database: Path) -> "SQLiteReader | None":
        """The reader of an existing database at the current revision, or None."""
        try:
            readable_only = not writable(database.parent)  # read without writing a lock or -shm file beside it
            uri = read_only_uri(database) if readable_only else f"{database.resolve().as_uri()}?mode=rw"
            conn = sqlite3.connect(uri, uri=True, timeout=30)
        except sqlite3.Error:
            return None
        try:
            conn.execute("PRAGMA query_only=ON")
            found = conn.execute("select version_num from alembic_version").fetchall()
        except sqlite3.Error:
            found = []
        if found != [(head_revision(),)]:
            conn.close()
            return None
        return cls(conn)

    def close(self) -> None:
        self.conn.close()

    def list_incidents(
        self, *, limit: int = 20, offset: int = 0, filters: SearchFilters | None = None
    ) -> list[Incident]:
        """Incidents newest first, without children (as IncidentStore.list_incidents in its default order)."""
        where, values = _where(filters)
        sql = f"select {_names('incidents')} from incidents{where} order by created_at desc, pk desc limit ? offset ?"
        rows = self._rows("incidents", sql, [*values, limit, offset])
        return [i for i in (readable_incident(r) for r in rows) if i is not None]

    def count(self, filters: SearchFilters | None = None) -> int:
        """How many incidents there are, or pass the filters (as IncidentStore.count)."""
        where, values = _where(filters)
        return int(self._execute(f"select count(*) from incidents{where}", values)[0][0])

    def get_or_raise(self, incident_id: str) -> Incident:
        """The incident with its timeline, latest analysis (any state) and action items, or IncidentNotFound."""
        pk = incident_pk(incident_id)
        self._execute("begin")  # one snapshot for the incident and its children
        try:
            found = self._rows("incidents", f"select {_names('incidents')} from incidents where pk = ?", [pk])
            if not found:
                raise IncidentNotFound(incident_id)
            events = self._child("timeline_events", pk, "order by at, pk")
            analysis = self._child("analyses", pk, "order by pk desc limit 1")
            actions = self._child("action_items", pk, "order by pk")
        finally:
            self._execute("rollback")
        name = to_incident_id(pk)
        return incident_from_row(
            found[0],
            timeline=[e for e in (event_from_row(name, r) for r in events) if e is not None],
            analysis=analysis_from_body(name, analysis[0].body, analysis[0].pk) if analysis else None,
            actions=readable(actions, utcnow()),
        )

    def _child(self, table: str, pk: int, order: str) -> list[SimpleNamespace]:
        return self._rows(table, f"select {_names(table)} from {table} where incident_pk = ? {order}", [pk])

    def _rows(self, table: str, sql: str, values: Sequence[object]) -> list[SimpleNamespace]:
        names = READ[table]
        rows = self._execute(sql, values)
        try:
            return [SimpleNamespace(**dict(zip(names, map(_value, names, row), strict=True))) for row in rows]
        except (ValueError, TypeError) as e:
            raise Unreadable(f"{table}: {type(e).__name__}") from e

    def _execute(self, sql: str, values: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, values).fetchall()
        except sqlite3.Error as e:
            raise Unreadable(type(e).__name__) from e


def _names(table: str) -> str:
    return ", ".join(f'"{name}"' for name in READ[table])


def _value(name: str, stored: Any) -> Any:
    """A stored value as SQLAlchemy's column types give it (records/schema.py): times aware UTC, booleans bool, JSON
    decoded; anything else as stored."""
    if stored is None:
        return None
    if name in TIME_COLUMNS:
        return datetime.fromisoformat(stored).replace(tzinfo=UTC)
    if name in BOOLEAN_COLUMNS:
        return bool(stored)
    if name in JSON_COLUMNS:
        return stored_json(stored)
    return stored


def _where(filters: SearchFilters | None) -> tuple[str, list[object]]:
    """The filters as SQL (as records/rows.py's `filtered`): columns by equality, the creation time by range, with
    times bound as SQLAlchemy stores them on SQLite (naive UTC, microseconds)."""
    if filters is None:
        return "", []
    columns = filters.columns()
    if not set(columns) <= set(COLUMNS):
        raise Unreadable("an unknown filter column")
    clauses = [f'"{name}" = ?' for name in columns]
    values: list[object] = list(columns.values())
    for bound, value in (("created_at >= ?", filters.since), ("created_at <= ?", filters.until)):
        if value is not None:
            clauses.append(bound)
            values.append(value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds"))
    return (" where " + " and ".join(clauses) if clauses else ""), values
