"""Engines, URLs, snapshots and migrations: SQLite in the home by default, PostgreSQL (psycopg 3) for a team; the
same code and the same migrations (migrations/) run on both. The tables are schema.py; what only PostgreSQL has (a
schema per team, advisory-lock keys, exported snapshots) is postgres.py, whose names used elsewhere are kept here."""

import logging
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from agent_postmortem.store.errors import ReadOnlyStore
from agent_postmortem.store.locks import locked
from agent_postmortem.store.private import private_file
from agent_postmortem.store.records.integrity import stored_json
from agent_postmortem.store.records.postgres import INDEX_LOCK as INDEX_LOCK
from agent_postmortem.store.records.postgres import LOCK_SPACE as LOCK_SPACE
from agent_postmortem.store.records.postgres import MIGRATIONS_LOCK, exported_snapshot, own_schema
from agent_postmortem.store.records.postgres import advance_sequence as advance_sequence
from agent_postmortem.store.records.postgres import engine_url as engine_url
from agent_postmortem.store.records.postgres import ensure_schema as ensure_schema
from agent_postmortem.store.records.postgres import has_schema as has_schema
from agent_postmortem.store.records.postgres import team_url as team_url
from agent_postmortem.store.records.readonly import read_only_uri, writable
from agent_postmortem.store.records.revision import MIGRATIONS_DIR, head_revision

logger = logging.getLogger(__name__)


def insert_returning_pk(conn: Connection, statement: Insert) -> int:
    key = conn.execute(statement).inserted_primary_key
    assert key is not None
    return int(key[0])


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'postmortem.db'}"


BUSY_SECONDS = 30  # how long a write waits for another connection's lock before SQLite says it is locked
LOCKED = "database is locked"  # SQLite's reason once another connection held the lock past the busy timeout
LOCKED_DETAIL = "database: "  # a locked database's path, added to the error's details (locked_database)


def locked_database(error: BaseException) -> str | None:
    """The SQLite database another process held locked past the busy timeout, when `error` is that failure."""
    for detail in getattr(error, "detail", None) or ():
        if isinstance(detail, str) and detail.startswith(LOCKED_DETAIL):
            return detail.removeprefix(LOCKED_DETAIL)
    return None


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """Create the engine; for SQLite: WAL, synchronous=FULL, foreign keys and a busy timeout. `read_only` (SQLite):
    the database of a home this process cannot write, opened so that nothing is written (read_only_engine)."""
    if url.startswith("sqlite") and read_only:
        return read_only_engine(Path(make_url(url).database or ""))
    if url.startswith("sqlite"):
        _private_database_file(url)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": BUSY_SECONDS}, json_deserializer=stored_json
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        database = make_url(url).database or ""

        @event.listens_for(engine, "handle_error")
        def _locked(context: Any) -> None:
            # the driver's "database is locked" names no file: the message for it names the one held
            if context.sqlalchemy_exception is not None and LOCKED in str(context.original_exception):
                context.sqlalchemy_exception.add_detail(f"{LOCKED_DETAIL}{database}")

        return engine
    engine = create_engine(engine_url(url), pool_pre_ping=True, json_deserializer=stored_json)
    if is_postgres(engine):
        own_schema(engine, url)
    return engine


def read_only_engine(database: Path) -> Engine:
    """An SQLite database opened read-only (readonly.py: immutable unless a -wal file holds changes), queries only;
    a write is refused as ReadOnlyStore, naming the directory, instead of SQLite's "attempt to write a readonly
    database"."""
    uri = read_only_uri(database)

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA query_only=ON")
        return conn

    engine = create_engine("sqlite://", creator=connect, poolclass=QueuePool, json_deserializer=stored_json)

    @event.listens_for(engine, "handle_error")
    def _refused(context: Any) -> None:
        if "readonly database" in str(context.original_exception):
            raise ReadOnlyStore(str(database.parent)) from context.original_exception

    return engine


def _private_database_file(url: str) -> None:
    """SQLite would create a missing database with the umask's mode (0644), and its -wal and -shm files copy the
    database file's mode: create it 0600 first."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:") and Path(database).parent.is_dir():
        private_file(Path(database))


@contextmanager
def snapshot(engine: Engine) -> Iterator[Engine]:
    """A consistent, read-only view of the database to read from while writers go on. SQLite: a copy by the online
    backup API (pages copied under a read transaction, WAL included), never a file copy. PostgreSQL: every
    transaction of the yielded engine reads the one snapshot that a held REPEATABLE READ transaction exported (as
    pg_dump does). Other databases are read as they are."""
    if is_postgres(engine):
        with exported_snapshot(engine) as copy:
            yield copy
        return
    if engine.url.get_backend_name() != "sqlite":
        yield engine
        return
    with tempfile.TemporaryDirectory(prefix="postmortem-snapshot-") as folder:
        raw = engine.raw_connection()
        try:
            target = sqlite3.connect(Path(folder) / "postmortem.db")
            raw.driver_connection.backup(target)  # type: ignore[union-attr]
            target.close()
        finally:
            raw.close()
        copy = make_engine(sqlite_url(Path(folder)))
        try:
            yield copy
        finally:
            copy.dispose()


_MIGRATING = threading.Lock()  # Alembic keeps its migration context in module globals: one at a time per process


def at_head(engine: Engine) -> bool:
    """Whether the schema is at the newest revision; False when it cannot tell (no version table, no database)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("select version_num from alembic_version")).scalar() == head_revision())
    except SQLAlchemyError:
        return False


def upgrade(engine: Engine, lock_dir: Path | None = None, revision: str = "head") -> None:
    """Bring the schema to the newest Alembic revision, serialised across processes: by a lock file beside an
    SQLite database, by an advisory lock held for the migration's transaction on PostgreSQL (replicas on other
    machines share no file)."""
    from alembic import command
    from alembic.config import Config

    if at_head(engine):  # nothing to do: no lock taken, nothing written (a read-only home is read as it is)
        return
    if lock_dir is not None and not is_postgres(engine) and not writable(lock_dir):
        raise ReadOnlyStore(str(lock_dir), migrate=True)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if is_postgres(engine):
        with _MIGRATING, engine.begin() as conn:
            conn.execute(select(func.pg_advisory_xact_lock(LOCK_SPACE, MIGRATIONS_LOCK)))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return
    lock_path = private_file((lock_dir or Path("/tmp")) / ".migrate.lock")
    with _MIGRATING, locked(lock_path), engine.connect() as conn, writing_alone(conn):  # all of it or none
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@contextmanager
def writing_alone(conn: Connection, table: Table | None = None) -> Iterator[None]:
    """One transaction that no other writer enters from its first statement to its commit: SQLite's write lock taken
    at BEGIN IMMEDIATE (another writer waits for it, then says the database is locked), PostgreSQL's EXCLUSIVE lock on
    `table` (reads go on; a write to it waits for the commit). A check made inside still holds at the commit. Python's
    sqlite3 opens a transaction only before a data change: without the BEGIN, each CREATE or ALTER of a migration
    committed alone, and one cut short (a full disk) left tables that every later start failed on."""
    if is_postgres(conn):
        with conn.begin():
            if table is not None:
                conn.exec_driver_sql(f'LOCK TABLE "{table.name}" IN EXCLUSIVE MODE')  # a schema.py name
            yield
        return
    driver: Any = conn.connection.driver_connection
    previous = driver.isolation_level
    driver.isolation_level = None  # the driver opens nothing by itself: the BEGIN below holds every statement
    try:
        with conn.begin():
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield
    finally:
        driver.isolation_level = previous
