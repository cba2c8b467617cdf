"""The relational schema, engine set-up and migrations (SQLite by default, any SQLAlchemy URL works)."""

import fcntl
import logging
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Insert,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    event,
)

logger = logging.getLogger(__name__)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always reads them back aware (SQLite drops the zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = MetaData()

incidents = Table(
    "incidents",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("title", String(200), nullable=False),
    Column("category", String(40), nullable=False, index=True),
    Column("severity", String(4), nullable=False, index=True),
    Column("status", String(12), nullable=False, index=True),
    Column("agent", String(200), index=True),
    Column("tool", String(200), index=True),
    Column("model", String(200)),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("mitigated_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("postmortem_completed", Boolean, nullable=False, default=False),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("signature", String(32), index=True),
    Column("occurrences", Integer, nullable=False, server_default="1"),
    Column("last_seen_at", UTCDateTime),
    Column("body", JSON, nullable=False),
    Column("embedding", LargeBinary),
    Column("embedding_model", String(200)),
    Column("embedding_dim", Integer),
)

timeline_events = Table(
    "timeline_events",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("incident_pk", Integer, ForeignKey("incidents.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("description", Text, nullable=False),
)

analyses = Table(
    "analyses",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("incident_pk", Integer, ForeignKey("incidents.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("body", JSON, nullable=False),
)

action_items = Table(
    "action_items",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("incident_pk", Integer, ForeignKey("incidents.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("owner", String(200), index=True),
    Column("priority", String(2), nullable=False),
    Column("status", String(12), nullable=False, index=True),
    Column("due_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
)

action_item_changes = Table(
    "action_item_changes",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("action_pk", Integer, ForeignKey("action_items.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("field", String(20), nullable=False),
    Column("old", Text),
    Column("new", Text),
    Column("by", String(200)),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("incident_pk", Integer, ForeignKey("incidents.pk", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

index_outbox = Table(
    "index_outbox",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("incident_pk", Integer, nullable=False),
    Column("op", String(10), nullable=False),
)


def insert_returning_pk(conn: Connection, statement: Insert) -> int:
    key = conn.execute(statement).inserted_primary_key
    assert key is not None
    return int(key[0])


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'postmortem.db'}"


def make_engine(url: str) -> Engine:
    """Create the engine; for SQLite: WAL, synchronous=FULL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Engine]:
    """A consistent, read-only copy of the database to read from while writers go on: SQLite's online backup API
    (pages copied under a read transaction, WAL included), never a file copy. Other databases are read as they
    are (use their own snapshot tools for a backup)."""
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


_MIGRATING = threading.Lock()


def upgrade(engine: Engine, lock_dir: Path | None = None, revision: str = "head") -> None:
    """Bring the schema to the newest Alembic revision (serialised across processes by a lock file)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    lock_path = (lock_dir or Path("/tmp")) / ".migrate.lock"
    # Alembic keeps its migration context in module globals: one migration at a time in a process (teams open
    # their stores in parallel threads), and one at a time across processes by the lock file
    with _MIGRATING, open(lock_path, "a") as lock, engine.begin() as conn:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
