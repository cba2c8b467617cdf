"""How a command reaches the stored records without creating a home that holds none: whether the home (or a team's
schema) holds a database, the service for a command that changes stored records, and the reads (`reading`,
`read_records`) that answer from nothing, saying so once on stderr."""

import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from agent_postmortem.cli.common import BAD_INPUT, closed_at_end, fail, service, settings
from agent_postmortem.cli.output import err
from agent_postmortem.errors import PostmortemError

if TYPE_CHECKING:
    from agent_postmortem.config import Settings
    from agent_postmortem.service.facade import PostmortemService
    from agent_postmortem.store.filters import SearchFilters
    from agent_postmortem.store.models import Incident
    from agent_postmortem.store.records.incidents import IncidentStore
    from agent_postmortem.store.records.sqlite_reader import IncidentReads

logger = logging.getLogger(__name__)
T = TypeVar("T")


def stored_service() -> "PostmortemService":
    """The service for a command that changes stored records (draft, action items, reindex): a home that holds
    nothing yet is not created; the command fails as on an unknown id."""
    from agent_postmortem.service.runtime import build_service

    chosen = settings()
    if not has_data(chosen):
        raise PostmortemError(f"nothing stored yet in {_holder(chosen)}; `postmortem capture` or `import` adds some")
    return closed_at_end(build_service(chosen))


def has_data(chosen: "Settings") -> bool:
    """Whether the home holds a database. With POSTMORTEM_DATABASE_URL the server's database is assumed to exist, and
    a team's schema is looked up: a command that stores creates it, a read-only one does not (a typo in
    POSTMORTEM_TEAM made and migrated a schema, then answered "0 incidents")."""
    if chosen.database_url is None:
        return (chosen.store_home / "postmortem.db").is_file()
    from agent_postmortem.store.records import db

    return db.has_schema(db.team_url(chosen.database_url, chosen.team))


def _holder(chosen: "Settings") -> str:
    """Where the records would be: the home, or a team's schema in the database."""
    if chosen.database_url is None:
        return str(chosen.store_home)
    return "this knowledge base" if chosen.team == "default" else f"team {chosen.team}'s knowledge base"


_SAID_NOTHING_YET: list[bool] = []  # one command per process: whether `nothing_yet` has said the home is empty


def why_empty(reason: str | None) -> None:
    """An empty answer's reason on stderr, unless the home was already said to hold nothing: "nothing stored yet"
    and "there are no incidents yet" said the same thing twice."""
    if reason and not _SAID_NOTHING_YET:
        err.print(reason, markup=False)


def nothing_yet(chosen: "Settings") -> None:
    """Said by a read-only command on a home without a database; a home that is a file is refused (exit 2) instead
    of read as empty ("it was not created" was said of a file that exists)."""
    if chosen.store_home.exists() and not chosen.store_home.is_dir():
        fail(BAD_INPUT, f"the data directory {chosen.store_home} is a file: point POSTMORTEM_HOME at a directory")
    _SAID_NOTHING_YET.append(True)
    in_home = chosen.database_url is None and chosen.store_home.is_dir()
    made = "no database in it yet" if in_home else "it was not created"
    team = "; is POSTMORTEM_TEAM right?" if chosen.team != "default" else ""
    err.print(
        f"nothing stored yet: {_holder(chosen)} holds no incidents ({made}{team}); "
        "`postmortem capture` or `postmortem import` adds some",
        markup=False,
    )


@contextmanager
def reading() -> Iterator["PostmortemService"]:
    """The service for a read-only command, closed at the end of the `with`. A home without a database is not
    created: the command answers from an empty knowledge base in a private temporary directory (removed after) and
    says so on stderr."""
    from agent_postmortem.service.runtime import build_service

    chosen = settings()
    if has_data(chosen):
        built = build_service(chosen)
        try:
            yield built
        finally:
            built.close()
        return
    nothing_yet(chosen)
    with tempfile.TemporaryDirectory(prefix="postmortem-empty-", ignore_cleanup_errors=True) as folder:
        empty = build_service(_at(chosen, Path(folder)))
        try:
            yield empty
        finally:
            empty.close()


def _at(chosen: "Settings", home: Path) -> "Settings":
    from dataclasses import replace

    return replace(chosen, home=home, team="default", database_url=None, chroma_url=None)


def read_records(read: "Callable[[IncidentReads], T]") -> "T | None":
    """`read` for the quick reads (`list`, `show`), on the records alone: no service, index, embedder or migration
    machinery. An SQLite home at the current schema is read with the standard library (store/records/sqlite_reader.py);
    PostgreSQL, an older schema (migrated first, as by any command) or a database that reader cannot read go through
    the record store. None when the home holds nothing yet (it is not created)."""
    chosen = settings()
    if not has_data(chosen):
        nothing_yet(chosen)
        return None
    if chosen.database_url is None:
        from agent_postmortem.store.records.sqlite_reader import SQLiteReader, Unreadable

        reader = SQLiteReader.open(chosen.store_home / "postmortem.db")
        if reader is not None:
            try:
                return read(reader)
            except Unreadable as e:
                logger.debug("read through the record store: %s", e)
            finally:
                reader.close()
    return read(_record_store(chosen))


def list_page(
    store: "IncidentReads", *, limit: int, offset: int, filters: "SearchFilters"
) -> "tuple[list[Incident], str | None]":
    """A page of the list (one more row than shown: is there a next page?) and, when it is empty, why in words
    (`--json` said `"empty_because": null` of a page past the end, which reads as a home with nothing in it)."""
    rows = store.list_incidents(limit=limit + 1, offset=offset, filters=filters)
    if rows:
        return rows, None
    from agent_postmortem.service.results import why_no_incidents

    return rows, why_no_incidents(store.count, offset, filters)


def _record_store(chosen: "Settings") -> "IncidentStore":
    from agent_postmortem.store.records import db
    from agent_postmortem.store.records.incidents import IncidentStore

    url = db.sqlite_url(chosen.store_home)
    if chosen.database_url is not None:
        url = db.team_url(chosen.database_url, chosen.team)
    engine = db.make_engine(url)
    if db.at_head(engine):
        return IncidentStore(engine)
    engine.dispose()
    return service().store  # an older schema: migrate it first, as any command does
