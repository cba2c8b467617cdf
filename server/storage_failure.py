"""What a database failure is said as: a write the database refused, a connection that could not be made, a
damaged file (the engine's one-line reason, never the statement or its values)."""

import sys


def storage_failure(error: BaseException) -> str:
    """The message for a database failure: a write the database refused (disk full, I/O error, locked too long), or a
    damaged database file. The engine's own one-line reason, never the statement or its values (they hold incident
    text)."""
    reason = failure_reason(error)
    if _shown_on() == "web" or _remote():  # a page's reader, a client with a token: not the database's host and port
        return _for_a_page(error, reason)
    if is_damaged_database(error):
        return (
            f"The incident database is damaged ({reason}); nothing was changed. `postmortem check` says what is "
            "wrong; restore the data directory from a backup, or import your last `postmortem export` into a new, "
            "empty home."
        )
    if reason == _LOCKED:
        return _locked(error, reason)
    if _at_connection_limit(reason):
        return (
            f"The database server refused another connection ({reason}); nothing was changed. It is at its "
            "connection limit: each server process opens up to 17 connections per team it serves (docs/deploy.md, "
            "Sizing). Raise the server's max_connections (or the role's CONNECTION LIMIT), or serve fewer replicas "
            "or teams from this database, then retry."
        )
    if _could_not_connect(reason):
        if _shown_on() == "mcp":  # the calling model can change none of it: the advice is for whoever runs the server
            return (
                f"The server's knowledge base is unreachable: its incident store could not connect to its database "
                f"({reason}); nothing was changed. Whoever runs the server should check its database setting "
                "(POSTMORTEM_DATABASE_URL) and that the database server is up and reachable; try again later."
            )
        return (
            f"The incident store could not connect to its database ({reason}); nothing was changed. Check "
            "POSTMORTEM_DATABASE_URL and that the database server is up and reachable (or, without it, that the "
            "data directory can be read and written)."
        )
    return (
        f"The incident store could not complete this ({reason}); the change was rolled back and nothing partial "
        "was kept. If the disk is full or failing, free space or fix it and try again; reading still works."
    )


def _for_a_page(error: BaseException, reason: str) -> str:
    """A database failure said on a web page, or to an MCP client with a token: its reader runs no command and sets
    nothing, so what to do is for whoever runs the server, and the engine's reason is not echoed (PostgreSQL's names
    the database's host and port). A
    damaged database said "`postmortem check` says what is wrong", one at its connection limit "Raise the server's
    max_connections" with that host and port."""
    if is_damaged_database(error):
        return (
            "The incident database is damaged; nothing was changed. Whoever runs this server should check it and "
            "restore it from a backup."
        )
    if reason == _LOCKED:
        return (
            "The incident database is locked by another process; nothing was changed. Try again in a moment; if it "
            "lasts, whoever runs this server should find what holds it."
        )
    if _at_connection_limit(reason):
        return (
            "The database server refused another connection: it is at its connection limit; nothing was changed. "
            "Try again later. Whoever runs this server should raise the database's connection limit or serve fewer "
            "replicas or teams from it."
        )
    if _could_not_connect(reason):
        return (
            "The incident store is unreachable: this server could not connect to its database; nothing was "
            "changed. Whoever runs this server should check its database settings and that the database server "
            "is up and reachable; try again later."
        )
    return (
        "The incident store could not complete this; the change was rolled back and nothing partial was kept. Try "
        "again later; if it lasts, whoever runs this server should check its disk and database (its log says why)."
    )


# What a failure that passes by itself (the database down or restarting, at its connection limit, locked for a
# moment) tells a client to do, in the messages above: the SDK sends such a refused capture again (sdk/remote.py).
TRY_AGAIN = ("try again later", "try again in a moment")


def passes(message: str) -> bool:
    """Whether a server's refusal says its failure passes by itself: the same request, sent again later, will do."""
    said = message.lower()
    return any(words in said for words in TRY_AGAIN)


def failure_reason(error: BaseException) -> str:
    """The engine's own one-line reason for a database failure (for a log: it may name the database's host)."""
    return str(getattr(error, "orig", None) or error.__class__.__name__).splitlines()[0][:200]


def _shown_on() -> str | None:
    from agent_postmortem.errors import SURFACE  # errors.py imports this module

    return SURFACE.get()


def _remote() -> bool:
    from agent_postmortem.errors import REMOTE  # errors.py imports this module

    return REMOTE.get()


_LOCKED = "database is locked"  # SQLite, once another connection held the lock past the busy timeout (30 s)


def _locked(error: BaseException, reason: str) -> str:
    """A database another process held locked: it was "If the disk is full or failing, free space or fix it"."""
    from agent_postmortem.store.records.db import locked_database

    database = locked_database(error)
    which = f" ({database})" if database else ""
    return (
        f"Another process holds the knowledge base's database{which} locked ({reason}); nothing was stored or "
        "changed. Try again when that process is done: another `postmortem` command, a server on the same home, or "
        "a tool with the database file open."
    )


# The drivers' reasons for a connection that could not be made (psycopg 3, SQLite): the server is down or
# unreachable, the credentials or the database name are wrong, or the file cannot be opened. Looked for anywhere in
# the reason: psycopg puts "connection is bad: " before libpq's "connection to server on socket ... failed".
_NO_CONNECTION = (
    "connection failed",
    "connection to server",
    "could not translate host name",
    "failed to resolve host",  # psycopg resolves names itself: a DNS failure was "If the disk is full"
    "unable to open database",
    # libpq refusing the URL's options before connecting (`?sslmode=bogus`, `?connect_timeout=abc`, `?bogus=1`): they
    # were "If the disk is full" or "unexpected ProgrammingError"
    "connection is bad",
    "invalid connection option",
    "bad value for",
)


# PostgreSQL's refusals of one more connection: the server's max_connections, a role's or a database's CONNECTION
# LIMIT. They were told to check POSTMORTEM_DATABASE_URL and that the server was up, which both were.
_CONNECTION_LIMIT = (
    "too many clients",
    "too many connections",
    "remaining connection slots are reserved",
)


def _at_connection_limit(reason: str) -> bool:
    said = reason.lower()
    return any(words in said for words in _CONNECTION_LIMIT)


def _could_not_connect(reason: str) -> bool:
    said = reason.lower()
    return any(words in said for words in _NO_CONNECTION)


def is_storage_failure(error: BaseException) -> bool:
    """A database error from the engine itself: the disk, a lock, or a damaged file (sqlalchemy is imported only once
    one happened)."""
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(error, OperationalError) or is_damaged_database(error):
        return True
    # psycopg raises ProgrammingError for URL options libpq refuses while connecting (no statement was sent)
    return isinstance(error, DBAPIError) and error.statement is None and _could_not_connect(str(error.orig))


def database_away(error: BaseException) -> bool:
    """A PostgreSQL server that could not be reached, dropped the connection or took no more: one that may be back in
    seconds (a restart, a failover). Not SQLite's (a file that cannot be opened stays so; a lock was waited for)."""
    if not is_storage_failure(error):
        return False
    from sqlalchemy.exc import DBAPIError

    driver = type(getattr(error, "orig", None)).__module__
    return isinstance(error, DBAPIError) and driver.startswith("psycopg") and not is_damaged_database(error)


def is_damaged_database(error: BaseException) -> bool:
    """SQLite's "database disk image is malformed" and "file is not a database": the driver's plain DatabaseError,
    none of its subclasses (a constraint, a programming error or a lock is something else)."""
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy.exc import DatabaseError

    return type(error) is DatabaseError
