"""`postmortem check`: is the data directory sound, and can the index be trusted? With `--repair`, a broken or
mismatched index is rebuilt from the records. The index is checked only when no other process owns it (a running
server checks it itself when it takes it, and keeps it in line)."""

from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError

from agent_postmortem.config import Settings
from agent_postmortem.errors import is_damaged_database

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService

UNBUILT = (
    "the vector index is not built yet (the records are waiting in the outbox): a running server builds it, or "
    "`postmortem reindex`; search reads the records meanwhile"
)
NOT_HERE = (
    "this home has no vector index of its own yet (the records are in the shared database, indexed where a server "
    "runs): a server started on this home builds it from them when it takes the index, or `postmortem reindex`; "
    "search reads the stored vectors meanwhile"
)
REBUILD = (
    "the vector index does not hold what the records do: `postmortem check --repair` rebuilds it from the records "
    "(a server rebuilds it when it takes the index)"
)


class HealthReport(BaseModel):
    database_integrity: str  # ok, or "damaged: " and SQLite's first findings
    records: int | None  # None: a damaged database is not counted
    embedded: int | None
    index: str  # ok, behind (the outbox will catch up), unbuilt (not yet), mismatch, broken, busy (another process owns
    # it), unchecked
    indexed: int | None
    pending_outbox: int | None
    owner_pid: int | None = None
    repaired: bool = False
    quarantined: str | None = None
    advice: str | None = None

    @property
    def healthy(self) -> bool:
        return self.database_integrity == "ok" and self.index in ("ok", "behind", "fresh", "unbuilt", "busy")


def check(settings: Settings, *, repair: bool = False) -> HealthReport:
    from agent_postmortem.service.runtime import build_service

    try:
        service = build_service(settings)
    except DatabaseError as e:  # a file that is not a database, or a damaged one SQLite notices on opening it
        return _damaged_or_raise(e)
    try:  # the index and the connections are released when the check ends, however it ends
        return _check(service, repair=repair)
    finally:
        service.close()


def _check(service: "PostmortemService", *, repair: bool) -> HealthReport:
    try:
        integrity = _integrity(service.store.engine)
    except DatabaseError as e:  # or one it notices on reading it
        return _damaged_or_raise(e)
    if integrity != "ok":  # the records cannot be counted or trusted: the index is not looked at
        return _damaged(integrity)
    store, knowledge = service.store, service.knowledge
    owner = knowledge.owner
    assert owner is not None
    found, indexed, repaired, quarantined = "busy", None, False, None
    if owner.lock.try_acquire():
        found = owner.inspect()
        if found == "mismatch" and _none_here(service):
            found = "unbuilt"
        if repair and found in ("broken", "mismatch", "unbuilt"):
            owner.lock.release()
            repaired = knowledge.claim_index() and knowledge.claimed is not None and knowledge.claimed.rebuilt
            quarantined = knowledge.claimed.quarantined if repaired and knowledge.claimed else None
            found = owner.inspect() if repaired else found
        if found in ("ok", "behind") and knowledge.claim_index():
            assert knowledge.index is not None
            indexed = knowledge.index.count()
            found = "ok" if not store.feed.pending_pks() else "behind"
        knowledge.release_index()
    return HealthReport(
        database_integrity=integrity,
        records=store.count(),
        embedded=store.feed.embedded_count(model=knowledge.embedder.model_id),
        index=found,
        indexed=indexed,
        pending_outbox=len(store.feed.pending_pks()),
        owner_pid=owner.lock.holder() if found == "busy" else None,
        repaired=repaired,
        quarantined=quarantined,
        advice=_advice(service, found),
    )


def _none_here(service: "PostmortemService") -> bool:
    """A home on a shared database (PostgreSQL) without an index directory: not a lost index, one never built here
    (another machine's server indexed the records). It said "NOT healthy" with no advice."""
    path = getattr(service.knowledge.owner, "path", None)
    return service.store.engine.dialect.name != "sqlite" and path is not None and not path.exists()


def _advice(service: "PostmortemService", found: str) -> str | None:
    if found == "unbuilt":
        return NOT_HERE if _none_here(service) else UNBUILT
    return REBUILD if found in ("broken", "mismatch") else None


def _integrity(engine: Engine) -> str:
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            return "ok"
        return str(conn.execute(text("pragma integrity_check")).scalar())


def _damaged_or_raise(error: DatabaseError) -> HealthReport:
    if not is_damaged_database(error):
        raise error
    return _damaged(str(error.orig))


def _damaged(found: str) -> HealthReport:
    """A damaged database: SQLite's first findings (it lists up to a hundred), and nothing counted."""
    lines = found.strip().splitlines()
    summary = "; ".join(lines[:3]) + (f"; and {len(lines) - 3} more" if len(lines) > 3 else "")
    return HealthReport(
        database_integrity=f"damaged: {summary}",
        records=None,
        embedded=None,
        index="unchecked",
        indexed=None,
        pending_outbox=None,
        advice="restore the data directory from a backup, or import your last `postmortem export` into a new, empty "
        "home",
    )
