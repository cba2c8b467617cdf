"""A data directory this process cannot write (mounted read-only, a backup opened to look, another user's): its
SQLite database is opened read-only, nothing is locked, migrated or cached there, and a write is refused naming
the directory (errors.ReadOnlyStore). No SQLAlchemy here: the quick reads (sqlite_reader.py) use it too."""

import os
from pathlib import Path

DATABASE = "postmortem.db"


def writable(home: Path) -> bool:
    """Whether this process can write the home and its database; a home that does not exist yet is created (and a
    parent that refuses says so there)."""
    if not home.exists():
        return True
    database = home / DATABASE
    return os.access(home, os.W_OK) and (not database.exists() or os.access(database, os.W_OK))


def read_only_uri(database: Path) -> str:
    """SQLite's URI for reading `database` without creating anything beside it: immutable (no lock, no -shm file),
    unless a -wal file holds changes not yet in the database file (a writer has it open, or stopped before its
    checkpoint), which only a plain read-only connection reads."""
    uri = database.resolve().as_uri()
    wal = database.with_name(database.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return f"{uri}?mode=ro"
    return f"{uri}?mode=ro&immutable=1"
