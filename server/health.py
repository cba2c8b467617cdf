"""`postmortem check`: is the data directory sound, and can the index be trusted? With `--repair`, a broken or
mismatched index is rebuilt from the records (run it while no server uses the directory: the index has one
writer at a time)."""

from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import Engine, text

from server.config import Settings
from store import db
from store.index_health import probe, quarantine
from store.records import IncidentStore


class HealthReport(BaseModel):
    database_integrity: str
    records: int
    embedded: int
    index: str  # ok, missing vectors, broken
    indexed: int | None
    pending_outbox: int
    repaired: bool = False
    quarantined: str | None = None

    @property
    def healthy(self) -> bool:
        return self.database_integrity == "ok" and self.index == "ok"


def check(settings: Settings, *, repair: bool = False) -> HealthReport:
    from server.runtime import build_service, make_embedder

    embedder = make_embedder(settings)
    chroma = settings.home / "chroma"
    counted = probe(chroma, embedder.model_id)
    quarantined: Path | None = None
    if counted is None and repair:
        quarantined = quarantine(chroma)
    if counted is None and not repair:  # do not open a directory that may crash this process
        engine = db.make_engine(settings.database_url or db.sqlite_url(settings.home))
        db.upgrade(engine, lock_dir=settings.home)
        store = IncidentStore(engine)
        return _report(engine, store.count(), store.embedded_count(model=embedder.model_id), "broken", None, store)
    service = build_service(settings, embedder=embedder)
    store = service.store
    embedded = store.embedded_count(model=embedder.model_id)
    indexed = service.knowledge.index.count()
    status = "ok" if indexed == embedded else "missing vectors"
    repaired = False
    if repair and (quarantined is not None or status != "ok"):
        service.knowledge.reindex()
        indexed, status, repaired = service.knowledge.index.count(), "ok", True
    report = _report(store.engine, store.count(), embedded, status, indexed, store)
    return report.model_copy(update={"repaired": repaired, "quarantined": str(quarantined) if quarantined else None})


def _report(
    engine: Engine, records: int, embedded: int, index: str, indexed: int | None, store: IncidentStore
) -> HealthReport:
    with engine.connect() as conn:
        integrity = "ok"
        if conn.dialect.name == "sqlite":
            integrity = str(conn.execute(text("pragma integrity_check")).scalar())
    pending = len(store.pending_outbox(limit=1_000_000))
    return HealthReport(
        database_integrity=integrity,
        records=records,
        embedded=embedded,
        index=index,
        indexed=indexed,
        pending_outbox=pending,
    )
