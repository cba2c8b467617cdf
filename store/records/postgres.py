"""What only PostgreSQL has: the advisory-lock keys, the driver made explicit in a URL, a schema per team in one
database (and every connection checked to be in it), key sequences moved past restored rows, and a snapshot exported
to other connections. db.py chooses between this and SQLite."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from agent_postmortem.store.errors import ForeignSchema

# PostgreSQL advisory locks are keyed by two integers: this space (b"PM") and one of these names.
LOCK_SPACE = 0x504D
MIGRATIONS_LOCK = 1
INDEX_LOCK = 2


def engine_url(url: str) -> URL:
    """The URL with its driver made explicit: `postgresql://` (and `postgres://`) means psycopg 3 here, whatever
    SQLAlchemy's default driver for it is."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def advance_sequence(conn: Connection, table: Table) -> None:
    """After rows were inserted with explicit keys (a restore keeps ids): PostgreSQL's key sequence does not move
    past them by itself, as SQLite's rowid does, and the next plain insert would collide."""
    if conn.dialect.name != "postgresql":
        return
    top = select(func.coalesce(func.max(table.c.pk), 0) + 1).scalar_subquery()
    sequence = func.pg_get_serial_sequence(table.name, "pk")
    conn.execute(select(func.setval(sequence, top, False)))


def team_url(url: str, team: str) -> str:
    """A team's own store inside one PostgreSQL database: a schema per team (`team_<name>`), selected by the
    connection's search_path, so every table a query names is the team's. The default team keeps `public`."""
    if team == "default":
        return url
    schema = "team_" + team.replace("-", "_")
    parsed = engine_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def _team_schema(url: str) -> str | None:
    """The schema a team URL selects (team_url), None for the default team's."""
    options = str(engine_url(url).query.get("options", ""))
    return options.removeprefix("-csearch_path=") if options.startswith("-csearch_path=") else None


def own_schema(engine: Engine, url: str) -> None:
    """Check every new connection's schema: the one its URL selects (its team's), or `public`. A search_path set
    outside the URL (PGOPTIONS in the environment, a default of the role, a schema named after the role) would have
    the migrations create their tables in, and every query read from, another schema (another team's): refused
    before any statement of the store runs (ForeignSchema)."""
    expected = _team_schema(url) or "public"

    @event.listens_for(engine, "connect")
    def _checked(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cursor:
            found, search_path = cursor.execute("select current_schema(), current_setting('search_path')").fetchone()
        dbapi_conn.rollback()
        if found != expected:
            dbapi_conn.close()
            raise ForeignSchema(expected=expected, found=found, search_path=search_path)


def has_schema(url: str) -> bool:
    """Whether the schema a team URL selects exists, read without creating anything (the default team's does)."""
    schema = _team_schema(url)
    if schema is None:
        return True
    engine = create_engine(engine_url(url).difference_update_query(["options"]), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            found = text("select exists (select 1 from pg_namespace where nspname = :schema)")
            return bool(conn.execute(found, {"schema": schema}).scalar_one())
    finally:
        engine.dispose()


def ensure_schema(url: str) -> None:
    """Create the schema a team URL selects, if it is missing (before migrations create its tables)."""
    schema = _team_schema(url)
    if schema is None:
        return
    plain = engine_url(url).difference_update_query(["options"])
    engine = create_engine(plain, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(select(func.pg_advisory_xact_lock(LOCK_SPACE, MIGRATIONS_LOCK)))
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')  # the name is checked: [a-z0-9_]
    finally:
        engine.dispose()


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


@contextmanager
def exported_snapshot(engine: Engine) -> Iterator[Engine]:
    """An engine every transaction of which reads the one snapshot that a held REPEATABLE READ transaction exported
    (as pg_dump does)."""
    with engine.connect() as holder:
        holder = holder.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with holder.begin():
            exported = str(holder.execute(text("select pg_export_snapshot()")).scalar_one())
            if not _SNAPSHOT_ID.fullmatch(exported):  # it is spliced into SQL below (SET takes no parameters)
                raise RuntimeError(f"unexpected snapshot id {exported!r}")
            copy = create_engine(engine.url, poolclass=NullPool)

            @event.listens_for(copy, "begin")
            def _import(conn: Connection) -> None:
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{exported}'")

            try:
                yield copy
            finally:
                copy.dispose()
