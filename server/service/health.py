"""`postmortem check`: is the data directory sound, and can the index be trusted? With `--repair`, a broken or
mismatched index is rebuilt from the records. The index is checked only when no other process owns it (a running
server checks it itself when it takes it, and keeps it in line)."""

from pydantic import BaseModel
from sqlalchemy import text

from agent_postmortem.config import Settings


class HealthReport(BaseModel):
    database_integrity: str
    records: int
    embedded: int
    index: str  # ok, behind (the outbox will catch up), mismatch, broken, busy (another process owns it)
    indexed: int | None
    pending_outbox: int
    owner_pid: int | None = None
    repaired: bool = False
    quarantined: str | None = None

    @property
    def healthy(self) -> bool:
        return self.database_integrity == "ok" and self.index in ("ok", "behind", "fresh", "busy")


def check(settings: Settings, *, repair: bool = False) -> HealthReport:
    from agent_postmortem.service.runtime import build_service

    service = build_service(settings)
    store, knowledge = service.store, service.knowledge
    owner = knowledge.owner
    assert owner is not None
    with store.engine.connect() as conn:
        integrity = "ok"
        if conn.dialect.name == "sqlite":
            integrity = str(conn.execute(text("pragma integrity_check")).scalar())
    found, indexed, repaired, quarantined = "busy", None, False, None
    if owner.lock.try_acquire():
        found = owner.inspect()
        if repair and found in ("broken", "mismatch"):
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
    )
