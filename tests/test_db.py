"""Schema and migrations: the Alembic history builds exactly the schema the code declares."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from store import db


def test_migrations_build_the_declared_schema_and_are_idempotent(tmp_path: Path) -> None:
    engine = db.make_engine(db.sqlite_url(tmp_path))
    db.upgrade(engine, lock_dir=tmp_path)
    db.upgrade(engine, lock_dir=tmp_path)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        version = conn.execute(text("select version_num from alembic_version")).scalar()
    assert diff == []
    assert version == "0001"
    assert {"incidents", "timeline_events", "analyses", "action_items", "index_outbox"} <= set(
        inspect(engine).get_table_names()
    )


def test_sqlite_runs_in_wal_with_full_sync(tmp_path: Path) -> None:
    engine = db.make_engine(db.sqlite_url(tmp_path))
    with engine.connect() as conn:
        assert conn.execute(text("pragma journal_mode")).scalar() == "wal"
        assert conn.execute(text("pragma synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("pragma foreign_keys")).scalar() == 1
