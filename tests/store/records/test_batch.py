"""Whole incidents read a chunk at a time (records/batch.py): the same records as `get`, in a bounded number of
statements."""

from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.store.errors import CorruptRecord, IncidentNotFound
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
    _damage_the_second(monkeypatch)
    read = dict(service.store.get_many(service.store.all_ids()))
    assert read["INC-2"] is None and read["INC-1"] is not None and read["INC-3"] is not None


def test_many_incidents_read_together_come_in_the_order_asked_or_raise_as_one_read_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a runbook and a page of incidents read: their incidents in their own order (newest first, by relevance),
    each as `get_or_raise` reads it; one not stored or damaged beyond repair raises what reading it alone raises."""
    service = make_service(tmp_path, clock=lambda: FIXED_NOW)
    service.import_incidents(read_incidents(SEED)[:12])
    store = service.store
    monkeypatch.setattr(batch, "CHUNK", 5)
    given = ["INC-9", "INC-2", "INC-12", "INC-5"]
    for accepted in (False, True):
        assert store.get_many_or_raise(given, accepted=accepted) == [store.get(i, accepted=accepted) for i in given]
    assert store.get_many_or_raise([]) == []
    with pytest.raises(IncidentNotFound, match="INC-999"):
        store.get_many_or_raise(["INC-1", "INC-999"])
    _damage_the_second(monkeypatch)
    with pytest.raises(CorruptRecord, match="INC-2"):
        store.get_many_or_raise(["INC-1", "INC-2"])


def test_the_analysed_incidents_are_counted_without_reading_their_ids(tmp_path: Path) -> None:
    """A runbook says of how many analysed incidents of its category it shows the newest: it read every id to count
    them (a limit of 2**62); a count says it."""
    service = make_service(tmp_path, clock=lambda: FIXED_NOW)
    service.import_incidents(read_incidents(SEED))
    store = service.store
    every = store.analysed_pks(limit=store.count())
    assert store.count_analysed() == len(every) > 0
    for category in ("rate_limit", "timeout", "prompt_injection"):
        assert store.count_analysed(category=category) == len(store.analysed_pks(category=category, limit=len(every)))
    assert store.count_analysed(category="no_such_category") == 0


def _damage_the_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """INC-2 damaged beyond repair: reading its row raises CorruptRecord."""
    whole = batch.incident_from_row

    def damaged(row: Any, **children: Any) -> Any:
        if row.pk == 2:
            raise CorruptRecord("INC-2")
        return whole(row, **children)

    monkeypatch.setattr(batch, "incident_from_row", damaged)
