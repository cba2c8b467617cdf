"""The index's lock is an flock per open file: a second service on one home in the same process is refused as
another process would be, and is told that the owner is in its own process. Reindexing takes the index first."""

from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.config import Settings
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.index import health
from agent_postmortem.store.index.health import rebuild
from agent_postmortem.store.index.owner import IndexBusy
from agent_postmortem.store.models import IncidentCreate
from tests.factories import HOMES, make_service, service_env


def test_a_second_service_in_the_same_process_is_told_where_the_owner_is(tmp_path: Path, embedder: Any) -> None:
    first = make_service(tmp_path / "home", embedder=embedder)
    first.capture_incident(IncidentCreate(title="Fares API returned 429 Too Many Requests"))
    assert first.reindex() == 1
    second = make_service(tmp_path / "home", embedder=embedder)
    with pytest.raises(IndexBusy, match="another service in this process") as raised:
        second.reindex()
    assert "another process" not in str(raised.value)
    del first


def test_reindex_of_an_index_that_taking_it_rebuilt_rebuilds_it_once(
    tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`postmortem reindex` on a home no server had opened (every record still in the outbox) rebuilt the index
    when it took it, then at once rebuilt it again from the same stored vectors: twice the time for nothing."""
    settings = Settings.from_env({**service_env(tmp_path / "home"), **HOMES[0].settings(tmp_path / "home")})
    writer = build_service(settings, embedder=embedder)  # captures, never owns the index
    HOMES[0].keep(writer)
    for title in ("Fares API returned 429 Too Many Requests", "CRM sync wrote negative balances"):
        writer.capture_incident(IncidentCreate(title=title))
    rebuilds: list[Path] = []

    def counted(path: Path, **kwargs: Any) -> int:
        rebuilds.append(path)
        return rebuild(path, **kwargs)

    monkeypatch.setattr(health, "rebuild", counted)
    reindexing = build_service(settings, embedder=embedder)
    HOMES[0].keep(reindexing)
    assert reindexing.reindex() == 2 and len(rebuilds) == 1
    assert reindexing.knowledge.claimed is not None and reindexing.knowledge.claimed.found == "unbuilt"
    assert reindexing.knowledge_stats().indexed == 2 and reindexing.knowledge_stats().index_pending == 0
    assert reindexing.reindex() == 2 and len(rebuilds) == 2  # an index it owned already: rebuilt, as asked
