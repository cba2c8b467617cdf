"""Captures of one failure signature, one at a time, across every process that writes the store.

The capture checks for an open incident with the signature, then embeds and classifies, then creates one: a burst of
the same failure reaching several workers or replicas at once made one incident each. Held for the whole capture:
within a process by striped thread locks; across processes by a PostgreSQL advisory lock keyed by the signature's
digest (replicas on other machines share the database, not files), or, on SQLite, by an flock on a stripe file beside
the database. Unrelated signatures rarely wait on each other, and the number of locks stays bounded."""

import functools
import logging
import threading
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from agent_postmortem.store.locks import locked
from agent_postmortem.store.records.db import LOCK_SPACE, is_postgres

logger = logging.getLogger(__name__)

STRIPES = 64  # thread locks and SQLite lock files per store
CAPTURE_KEYS = 1 << 29  # PostgreSQL advisory keys [2^29, 2^30) in LOCK_SPACE: one per signature digest


class FailureLocks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._threads = [threading.Lock() for _ in range(STRIPES)]

    @contextmanager
    def hold(self, signature: str) -> Iterator[None]:
        """Hold the lock of `signature` for the block, waiting for it."""
        digest = zlib.crc32(signature.encode("utf-8"))
        with self._threads[digest % STRIPES], ExitStack() as stack:
            if is_postgres(self.engine):
                stack.enter_context(self._advisory(CAPTURE_KEYS | digest % CAPTURE_KEYS))
            elif (path := self._lock_file(digest % STRIPES)) is not None:
                stack.enter_context(locked(path))
            yield

    @functools.cached_property
    def _lock_engine(self) -> Engine:
        """Connections for the locks, outside the store's pool: each capture holds one while its own queries need
        another, so from one pool a burst of different failures held every connection and waited for one more."""
        return create_engine(self.engine.url, poolclass=NullPool)

    @contextmanager
    def _advisory(self, key: int) -> Iterator[None]:
        """A session-level advisory lock on a connection of its own: the capture's transactions commit on others
        while it is held, so a replica that waited sees the incident the holder created. At most one such
        connection per stripe (the thread locks are taken first)."""
        with self._lock_engine.connect() as conn:
            conn.execute(select(func.pg_advisory_lock(LOCK_SPACE, key)))
            conn.commit()
            try:
                yield
            finally:
                try:
                    conn.execute(select(func.pg_advisory_unlock(LOCK_SPACE, key)))
                    conn.commit()
                except Exception:  # a lock left on a pooled connection would block that signature: drop the session
                    conn.invalidate()
                    raise

    def _lock_file(self, stripe: int) -> Path | None:
        """The stripe's lock file beside the SQLite database; None where it cannot be made (an in-memory database,
        a folder this process cannot write: nothing is captured there anyway)."""
        database = make_url(str(self.engine.url)).database
        if not database or database == ":memory:":
            return None
        folder = Path(database).with_name(".capture-locks")
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
        except OSError as e:
            logger.debug("no capture lock folder at %s: %s", folder, e)
            return None
        return folder / f"{stripe:02d}"
