"""Ownership of the vector index when the records live in PostgreSQL: a session-level advisory lock.

Replicas on different machines share the database but no file, so the `flock` of `owner.IndexLock`
cannot decide between them. The lock is held by a dedicated connection in autocommit (never idle in a
transaction); PostgreSQL releases it the moment that session ends, so another replica takes over when the owner
dies or loses the network. Advisory locks belong to one database: replicas of one database compete, others don't.
"""

import os
import re
import socket

from sqlalchemy import Connection, Engine, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from agent_postmortem.store.records import db

_HOLDER = text(
    "select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid "
    "where l.locktype = 'advisory' and l.granted and l.classid = :space and l.objid = :key and l.objsubid = 2 "
    "and l.database = (select oid from pg_database where datname = current_database())"
)
_PID = re.compile(r"pid (\d+)")


class AdvisoryIndexLock:
    """The `IndexLock` interface over `pg_try_advisory_lock(LOCK_SPACE, INDEX_LOCK)`; `holder()` is the owning
    process's pid, read from the application name its lock connection announces (with its host name)."""

    def __init__(self, database_url: str, key: int = db.INDEX_LOCK) -> None:
        self.key = key
        name = f"postmortem index owner pid {os.getpid()} on {socket.gethostname()}"[:63]
        self._engine: Engine = create_engine(
            db.engine_url(database_url), poolclass=NullPool, connect_args={"application_name": name}
        )
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return True
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(select(func.pg_try_advisory_lock(db.LOCK_SPACE, self.key))).scalar())
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def alive(self) -> bool:
        """Is the lock still held? False once its connection is gone (the server restarted, the network broke, an
        administrator ended the session): another replica may own the index by now."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(select(1))
        except DBAPIError:
            conn, self._conn = self._conn, None
            conn.close()  # the session, and the lock with it, is gone already
            return False
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(select(func.pg_advisory_unlock(db.LOCK_SPACE, self.key)))
        except SQLAlchemyError:
            pass  # the session is gone, and the lock with it
        finally:
            conn.close()

    def holder(self) -> int | None:
        """The pid of the owning process (on whichever machine), if any holds the lock."""
        with self._engine.connect() as conn:
            name = conn.execute(_HOLDER, {"space": db.LOCK_SPACE, "key": self.key}).scalar()
        found = _PID.search(name or "")
        return int(found.group(1)) if found else None

    def close(self) -> None:
        self.release()
        self._engine.dispose()
