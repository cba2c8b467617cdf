"""Whole incidents read a chunk at a time (records/batch.py): the same records as `get`, in a bounded number of
statements."""

from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.store.errors import CorruptRecord
from agent_postmortem.store.records import batch
from tests.factories import FIXED_NOW, SEED, make_service

pytestmark = pytest.mark.usefixtures("database")  # the store contract: SQLite and PostgreSQL


def test_a_chunked_read_gives_each_incident_as_get_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks smaller than the home, ids given out of order and twice, one that is not stored: each stored incident
    once, in key order, with its timeline, latest analysis (or latest accepted one) and action items."""
    service = make_service(tmp_path, clock=lambda: FIXED_NOW)
    service.import_incidents(read_incidents(SEED)[:12])
    store = service.store
    monkeypatch.setattr(batch, "CHUNK", 5)
    ids = store.all_ids()
    given = [*reversed(ids), ids[0], "INC-999"]
    for accepted in (False, True):
        read = list(store.get_many(given, accepted=accepted))
        assert [i for i, _ in read] == ids
        assert [incident for _, incident in read] == [store.get(i, accepted=accepted) for i in ids]
    assert any(i.timeline and i.analysis and i.action_items for _, i in store.get_many(ids))


def test_an_incident_damaged_beyond_repair_is_none_and_the_others_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service(tmp_path, clock=lambda: FIXED_NOW)
    service.import_incidents(read_incidents(SEED)[:3])
    whole = batch.incident_from_row

    def damaged(row: Any, **children: Any) -> Any:
        if row.pk == 2:
            raise CorruptRecord("INC-2")
        return whole(row, **children)

    monkeypatch.setattr(batch, "incident_from_row", damaged)
    read = dict(service.store.get_many(service.store.all_ids()))
    assert read["INC-2"] is None and read["INC-1"] is not None and read["INC-3"] is not None
