"""The in-memory indexes read every committed row, even one that commits after a newer key was read (PostgreSQL)."""

from pathlib import Path

import pytest

from agent_postmortem.store.models import Incident
from agent_postmortem.store.records.cursor import LINGER, KeyCursor
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.records.rows import NewIncident, insert_incident
from agent_postmortem.store.search.embedding import HashEmbedder
from agent_postmortem.store.search.knowledge import KnowledgeBase
from tests.factories import FIXED_NOW, HomeDatabases


def test_skipped_keys_are_gaps_until_seen_or_too_old() -> None:
    now = [0.0]
    cursor = KeyCursor(clock=lambda: now[0])
    cursor.advance([1, 2, 5, 9])
    assert cursor.newest == 9 and cursor.gaps() == [(3, 4), (6, 8)]
    cursor.advance([7, 3, 10])
    assert cursor.newest == 10 and cursor.gaps() == [(4, 4), (6, 6), (8, 8)]
    now[0] = LINGER + 1  # a rolled-back insert never shows up
    cursor.advance([12])
    assert cursor.gaps() == [(11, 11)]


def _new(title: str, embedder: HashEmbedder) -> NewIncident:
    incident = Incident.model_validate(
        {"id": "INC-0", "title": title, "category": "timeout", "severity": "SEV3", "triage": "full"}
        | {"created_at": FIXED_NOW}
    )
    vector = embedder.embed([incident.search_text()], kind="document")[0]
    return NewIncident(incident, vector, embedder.model_id)


@pytest.mark.postgresql
def test_a_capture_that_commits_after_a_newer_one_is_still_found(tmp_path: Path, pg: HomeDatabases) -> None:
    embedder = HashEmbedder()
    engine = pg.engine(tmp_path)
    store = IncidentStore(engine)
    knowledge = KnowledgeBase(feed=store.feed, embedder=embedder)
    with engine.connect() as slow:
        writing = slow.begin()
        early = insert_incident(slow, _new("Warehouse robot stalled on aisle nine", embedder), None)
        late = store.create_many([_new("Billing export duplicated invoices", embedder)])[0]
        knowledge.sync()  # reads the newer key while the older one is still uncommitted
        assert late == f"INC-{early + 1}" and knowledge.exact.count() == 1
        writing.commit()
    knowledge.sync()
    query = "warehouse robot stalled aisle"
    vector = embedder.embed([query], kind="query")[0]
    for mode in ("dense", "lexical"):
        hits = knowledge.search(text=query, vector=vector, limit=1, mode=mode)  # type: ignore[arg-type]
        assert [h.pk for h in hits] == [early], mode
    assert knowledge.exact.count() == 2
