"""The three calls over every pattern (recurring_patterns, fix_effectiveness, action_item_stats) on a store of a few
hundred incidents with patterns, action items, fixes that held and fixes that did not: the answers must be the ones
grouping every incident's full row and reading each pattern's items and timelines one by one gave, and the grouping
kept between calls must be made again after any change to what it was made from."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent_postmortem.analysis import patterns
from agent_postmortem.analysis.effectiveness import effect
from agent_postmortem.evals.perf_corpus import bulk_insert_synthetic, sentence_pool
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.recurrence import Rows, label, member, pattern_id
from agent_postmortem.store.ids import to_incident_id
from agent_postmortem.store.models import ActionItemCreate
from tests.factories import SEED, make_service
from tests.service.followup import Clock, planner_capture


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> PostmortemService:
    """The seed incidents and 300 made from them (each near the one it was made from), items on a quarter of them,
    and twelve small patterns fixed, one member of each reopened after the fix."""
    svc = make_service(tmp_path, clock=clock)
    seeds = read_incidents(SEED)
    svc.import_incidents(seeds)
    bulk_insert_synthetic(svc.store, 300, np.random.default_rng(5), sentence_pool(seeds))
    rng = np.random.default_rng(6)
    for pk in rng.choice(np.arange(1, svc.store.count() + 1), 90, replace=False).tolist():
        status = ("open", "in_progress", "completed")[pk % 3]
        due = clock() + timedelta(days=10 if pk % 2 else -10)  # half of them overdue unless completed
        svc.add_action_item(to_incident_id(pk), ActionItemCreate(title=f"Fix {pk}", status=status, due_at=due))
    clock.advance(days=1)
    for pks in svc.recurrence.grouped(2)[0][-12:]:
        svc.add_action_item(to_incident_id(pks[0]), ActionItemCreate(title="Guard it", status="completed"))
        for item in svc.recurrence.items_of([pks])[0]:
            if item.status != "completed":
                svc.update_action_item(item.id, status="completed")
    clock.advance(days=2)
    for pks in svc.recurrence.grouped(2)[0][-12:]:
        for status in ("open", "resolved", "open"):  # resolved, then reopened after the fix: it did not hold
            svc.resolve_incident(to_incident_id(pks[-1]), status=status)
    clock.advance(days=9)
    return svc


def every_pattern(svc: PostmortemService, min_size: int) -> list[Rows]:
    """The patterns as they were found before: every incident's full row read and grouped."""
    pairs = svc.knowledge.feed.pattern_rows(model=svc.knowledge.embedder.model_id)
    rows, vectors = [r for r, _ in pairs], np.vstack([v for _, v in pairs])
    return [[rows[i] for i in g] for g in patterns.groups([member(r) for r in rows], vectors, min_size=min_size)]


@pytest.mark.parametrize("min_size", [2, 3, 5])
def test_the_calls_over_every_pattern_answer_as_grouping_every_row_did(store: PostmortemService, min_size: int) -> None:
    svc, recurrence = store, store.recurrence
    before = every_pattern(svc, min_size)
    items = [recurrence.items([to_incident_id(r.pk) for r in rows]) for rows in before]
    effects = [
        effect(pattern_id(rows), label(rows), recurrence.seen(rows), own, now=svc.clock())
        for rows, own in zip(before, items, strict=True)
    ]
    assert recurrence.groups(min_size)[0] == before and len(before) >= 8

    listed = svc.recurring_patterns(min_size=min_size, limit=5)
    assert [(p.id, p.label, p.size, p.incident_ids) for p in listed.patterns] == [
        (pattern_id(rows), label(rows), len(rows), [to_incident_id(r.pk) for r in rows][:50]) for rows in before[:5]
    ]
    unfinished = [[a for a in own if a.status != "completed"] for own in items[:5]]
    assert [p.open_action_items for p in listed.patterns] == [own[:10] for own in unfinished]
    assert (listed.total, listed.incidents_considered) == (len(before), svc.store.count())

    report = svc.fix_effectiveness(min_size=min_size, limit=1000)
    assert report.patterns == effects
    assert report.recurred == sum(e.fixed and bool(e.incidents_after or e.seen_again_after) for e in effects) > 0
    smaller = [rows for rows in every_pattern(svc, 2) if len(rows) < min_size]
    recurred = [
        effect(pattern_id(rows), label(rows), recurrence.seen(rows), own, now=svc.clock())
        for rows in smaller
        if (own := recurrence.items([to_incident_id(r.pk) for r in rows])) and all(a.status == "completed" for a in own)
    ]
    assert report.smaller_recurred == sum(e.fixed and bool(e.seen_again_after or e.incidents_after) for e in recurred)

    stats = svc.action_item_stats(min_size=min_size)
    assert [(p.pattern_id, p.label, p.items, p.completed, p.overdue) for p in stats.by_pattern] == [
        (
            pattern_id(rows),
            label(rows),
            len(own),
            sum(a.status == "completed" for a in own),
            sum(a.overdue for a in own),
        )
        for rows, own in zip(before, items, strict=True)
        if own
    ]


def test_the_grouping_is_kept_between_calls_and_made_again_after_a_capture(
    store: PostmortemService, monkeypatch: pytest.MonkeyPatch
) -> None:
    grouped: list[int] = []
    every = patterns.groups

    def counted(members: list[patterns.Member], *args: Any, **kwargs: Any) -> list[list[int]]:
        grouped.append(len(members))
        return every(members, *args, **kwargs)

    monkeypatch.setattr(patterns, "groups", counted)
    store.recurrence.grouping.clear()
    n = store.store.count()
    first = store.recurring_patterns(min_size=2, limit=1000)
    store.fix_effectiveness(min_size=2)
    store.action_item_stats(min_size=2)
    assert grouped == [n]  # grouped once for the three

    store.capture_incident(planner_capture(1))
    after = store.recurring_patterns(min_size=2, limit=1000)
    assert grouped == [n, n + 1] and after.incidents_considered == first.incidents_considered + 1
    store.recurrence.grouping.clear()
    assert store.recurring_patterns(min_size=2, limit=1000) == after
