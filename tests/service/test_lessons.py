"""Lessons (runbooks, regression cases) read the incidents they are built from a chunk at a time (records/batch.py),
not one by one: the same entries in a few statements."""

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from agent_postmortem.analysis.learn import RUNBOOK_INCIDENTS
from agent_postmortem.analysis.runbook import RunbookEntry
from agent_postmortem.errors import UnknownRunbook
from agent_postmortem.evals.perf_corpus import bulk_insert_synthetic, sentence_pool
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.render.report import render_runbook
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.lessons import SMALLEST_PATTERN, _runbook_key
from agent_postmortem.service.recurrence import Recurrence, pattern_id
from agent_postmortem.store.ids import to_incident_id
from agent_postmortem.store.models import Category
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


def test_a_runbook_and_learn_find_only_their_patterns_and_answer_as_grouping_every_incident(
    seeded: PostmortemService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """runbook://PAT-n, runbook://category and `learn` for one incident grouped the whole knowledge base on every
    call (seconds at 10,000 incidents, docs/loop.md); they now find only the patterns they read (the pattern's, or
    those of the category's completed items): the same entries as from every pattern, on the seed and on a random
    store grown from it."""
    seeds = read_incidents(SEED)
    for grown in (0, 400):
        if grown:
            bulk_insert_synthetic(seeded.store, grown, np.random.default_rng(11), sentence_pool(seeds))
        every = seeded.recurrence.groups(SMALLEST_PATTERN)[0]
        members = [r.pk for g in every for r in g]
        keys = [*(pattern_id(g) for g in every), *(f"PAT-{pk}" for pk in members[1::7]), "PAT-999999", "PAT-0"]
        keys += [c.value for c in Category]
        ids = [to_incident_id(pk) for pk in seeded.store.analysed_pks(limit=1000)]
        want = [_entry(lambda k=k, every=every: seeded.runbook(k, groups=every)) for k in keys]
        want_learned = [seeded.runbook(_runbook_key(seeded.regression_case(i), every, 3), groups=every) for i in ids]
        assert any(e and e.mitigations_failed for e in want) and sum(e is None for e in want) >= 2
        with monkeypatch.context() as patched:
            patched.setattr(Recurrence, "groups", None)  # not called: every pattern is no longer grouped
            assert [_entry(lambda k=k: seeded.runbook(k)) for k in keys] == want
            assert [seeded.learn(i).runbook for i in ids] == want_learned


def _entry(runbook: Callable[[], RunbookEntry]) -> RunbookEntry | None:
    try:
        return runbook()
    except UnknownRunbook:
        return None
