"""Lessons (runbooks, regression cases) read the incidents they are built from a chunk at a time (records/batch.py),
not one by one: the same entries in a few statements."""

from datetime import timedelta
from pathlib import Path

import pytest

from agent_postmortem.analysis.learn import RUNBOOK_INCIDENTS
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.render.report import render_runbook
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.records.incidents import IncidentStore
from tests.factories import FIXED_NOW, SEED, make_service
from tests.statements import one_by_one, sent_by, whole_reads

pytestmark = pytest.mark.usefixtures("database")  # the store contract: SQLite and PostgreSQL


@pytest.fixture
def seeded(tmp_path: Path) -> PostmortemService:
    service = make_service(tmp_path, clock=lambda: FIXED_NOW + timedelta(days=400))
    service.import_incidents(read_incidents(SEED))
    return service


def lessons(service: PostmortemService, pattern: str) -> list[str]:
    cases, entries = service.learn_all()
    return [
        *(c.model_dump_json() for c in cases),
        *(e.model_dump_json() for e in entries),
        *(render_runbook(service.runbook(key)) for key in ("rate_limit", "timeout", pattern)),
    ]


def test_runbooks_and_learn_all_read_their_incidents_a_chunk_at_a_time(
    seeded: PostmortemService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each member of a runbook was read by itself (four statements each: 25 for the seed's rate_limit runbook, 449
    for `learn --all`); a runbook now reads its members in one chunk, and the entries are the same as read one by
    one."""
    pattern = seeded.recurring_patterns().patterns[0].id
    engine = seeded.store.engine
    with sent_by(engine) as sent:
        seeded.runbook("rate_limit")
    assert whole_reads(sent) == 1 and len(sent) <= 12, sent
    with sent_by(engine) as sent:
        seeded.runbook(pattern)
    assert whole_reads(sent) == 1, sent
    with sent_by(engine) as sent:
        cases, entries = seeded.learn_all()
    assert len(cases) > RUNBOOK_INCIDENTS and whole_reads(sent) == 1 + len(entries), sent
    batched = lessons(seeded, pattern)
    monkeypatch.setattr(IncidentStore, "get_many", one_by_one)
    assert lessons(seeded, pattern) == batched
