"""Recurrence after a fix: open items surfaced when a failure comes back, a failure after every item closed flagged
as recurred after fix on the answer, the triage and the timeline, and the review or post-mortem each capture gets."""

from datetime import timedelta

import pytest

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import ActionItemCreate, IncidentCreate, SeedIncident
from tests.service.followup import Clock, planner_capture, planner_timeout

pytestmark = pytest.mark.usefixtures("database")  # the store contract: SQLite and PostgreSQL


def test_open_items_on_the_pattern_are_surfaced_at_capture(svc: PostmortemService) -> None:
    first = planner_timeout(svc, 1)
    item = svc.add_action_item(first, ActionItemCreate(title="Add a deadline to flights.search"))
    svc.resolve_incident(first)  # resolved: the next one is a new incident on the same pattern, not a repeat
    again = svc.capture_incident(
        planner_capture(
            title="Trip planner hung on flights search", error_message="read timed out after 31 s (request 4242)"
        )
    )
    assert not again.deduplicated and not again.recurred_after_fix
    assert [a.id for a in again.open_action_items] == [item.id] and again.fixed_action_items == []


def test_a_failure_after_every_item_closed_is_flagged_recurred_after_fix(svc: PostmortemService, clock: Clock) -> None:
    first = planner_timeout(svc, 1)
    items = [svc.add_action_item(first, ActionItemCreate(title=t)) for t in ("Add a deadline", "Retry with backoff")]
    for item in items:
        svc.update_action_item(item.id, status="completed")
    svc.resolve_incident(first)
    clock.advance(days=10)
    result = svc.capture_incident(
        planner_capture(title="Planner agent timed out on flights search again", severity="SEV4")
    )
    assert result.recurred_after_fix and result.triage == "full"
    assert any("fix did not hold" in r for r in result.triage_reasons)
    assert sorted(a.id for a in result.fixed_action_items) == sorted(i.id for i in items)
    assert result.open_action_items == []
    stored = svc.get_incident(result.id)
    assert stored.recurred_after_fix
    assert any("Recurred after fix" in e.description and items[0].id in e.description for e in stored.timeline)


def test_a_repeat_of_an_open_incident_whose_items_are_done_is_a_recurrence(svc: PostmortemService) -> None:
    first = planner_timeout(svc, 1)
    item = svc.add_action_item(first, ActionItemCreate(title="Add a deadline"))
    svc.update_action_item(item.id, status="completed")
    repeat = svc.capture_incident(planner_capture(2))
    assert repeat.deduplicated and repeat.id == first and repeat.recurred_after_fix
    assert [a.id for a in repeat.fixed_action_items] == [item.id]


def test_a_repeat_after_its_own_fix_is_recorded_on_the_incident(svc: PostmortemService, clock: Clock) -> None:
    """The repeat's answer, the stored triage and the timeline agree: the answer said recurred_after_fix while its
    triage still read "novel failure mode", the timeline only "Occurred again" and the report had no Recurrence."""
    first = planner_timeout(svc, 1)
    items = [svc.add_action_item(first, ActionItemCreate(title=t)) for t in ("Add a deadline", "Retry with backoff")]
    for item in items:
        svc.update_action_item(item.id, status="completed")
    clock.advance(hours=3)
    repeat = svc.capture_incident(planner_capture(2))
    assert repeat.deduplicated and repeat.recurred_after_fix and repeat.triage == "full"
    assert any("fix did not hold" in r for r in repeat.triage_reasons)
    stored = svc.get_incident(first)
    assert stored.recurred_after_fix and stored.triage == "full"
    notes = [e.description for e in stored.timeline if e.description.startswith("Recurred after fix")]
    assert notes == [f"Recurred after fix: {items[0].id} ({first}), {items[1].id} ({first}) completed"]
    assert "| Recurrence |" in svc.render_report(first)
    svc.capture_incident(planner_capture(3))  # again, with the same fix: no second note
    timeline = svc.get_incident(first).timeline
    assert sum(e.description.startswith("Recurred after fix") for e in timeline) == 1
    clock.advance(hours=1)
    svc.update_action_item(items[0].id, status="open")  # a new fix ...
    svc.update_action_item(items[0].id, status="completed")
    clock.advance(hours=1)
    svc.capture_incident(planner_capture(4))  # ... that did not hold either: named again
    timeline = svc.get_incident(first).timeline
    assert sum(e.description.startswith("Recurred after fix") for e in timeline) == 2


def test_a_repeat_of_an_incident_without_items_after_its_patterns_fix_is_a_recurrence(
    svc: PostmortemService, clock: Clock
) -> None:
    """An incident with no action items of its own, captured while its pattern's item was open: once that item was
    completed, a repeat of it was only "Occurred again", neither flagged nor triaged full, though
    `fix_effectiveness` counted the same repeat as the fix not holding."""
    first = planner_timeout(svc, 1)
    item = svc.add_action_item(first, ActionItemCreate(title="Add a deadline to flights.search"))
    svc.resolve_incident(first)
    second = svc.capture_incident(planner_capture(2))
    assert not second.deduplicated and not second.recurred_after_fix
    assert [a.id for a in second.open_action_items] == [item.id]
    clock.advance(hours=1)
    svc.update_action_item(item.id, status="completed")
    clock.advance(hours=1)
    repeat = svc.capture_incident(planner_capture(3))
    assert repeat.deduplicated and repeat.id == second.id
    assert repeat.recurred_after_fix and repeat.triage == "full"
    assert [a.id for a in repeat.fixed_action_items] == [item.id] and repeat.open_action_items == []
    stored = svc.get_incident(second.id)
    assert stored.recurred_after_fix and stored.triage == "full"
    notes = [e.description for e in stored.timeline if e.description.startswith("Recurred after fix")]
    assert notes == [f"Recurred after fix: {item.id} ({first}) completed"]
    svc.capture_incident(planner_capture(4))  # again, with the same fix: no second note
    timeline = svc.get_incident(second.id).timeline
    assert sum(e.description.startswith("Recurred after fix") for e in timeline) == 1


def test_a_failure_dated_before_now_after_a_fix_completed_on_a_date_not_recorded_is_not_called_a_recurrence(
    svc: PostmortemService, clock: Clock
) -> None:
    """An item imported as completed without a date was taken as done when its incident was created, so a failure
    of its pattern dated at any time after that (a trace's failure time) was flagged "the fix did not hold". When the
    fix landed is not known, a failure dated in the past is not flagged; one recorded as it happens still is, since
    the item was completed before it."""
    row = planner_capture(1).model_dump(exclude_none=True)
    done = {"title": "Add a deadline", "status": "completed"}
    svc.import_incidents([SeedIncident.model_validate({**row, "created_at": clock(), "action_items": [done]})])
    clock.advance(days=2)
    dated = svc.capture_incident(planner_capture(2, occurred_at=clock() - timedelta(days=1)))
    assert not dated.deduplicated and not dated.recurred_after_fix and dated.fixed_action_items == []
    assert not any(e.description.startswith("Recurred after fix") for e in svc.get_incident(dated.id).timeline)
    svc.resolve_incident(dated.id)
    now = svc.capture_incident(planner_capture(3))
    assert now.recurred_after_fix and [a.title for a in now.fixed_action_items] == ["Add a deadline"]


def test_a_lightweight_capture_gets_the_review_and_a_full_one_the_post_mortem(svc: PostmortemService) -> None:
    first = planner_timeout(svc, 1)
    item = svc.add_action_item(first, ActionItemCreate(title="Add a deadline to flights.search", owner="search"))
    svc.resolve_incident(first)
    second = planner_timeout(svc, 2)
    incident = svc.get_incident(second)
    assert incident.triage == "lightweight", incident.triage_reasons
    review = svc.render_report(second, kind="auto")
    assert review.startswith("# Lightweight review:")
    assert f"- [ ] {first} (" in review and "**same failure signature**" in review
    assert f"| {item.id} ({first}) |" in review and "0 of 1 completed" in review
    assert svc.render_report(second).startswith("# Post-mortem:")
    assert svc.render_report(first, kind="auto").startswith("# Post-mortem:")  # the first was novel: full


def test_patterns_past_the_limit_are_counted_and_said_to_be_left_out(svc: PostmortemService) -> None:
    """recurring_patterns and fix_effectiveness gave the largest `limit` patterns and nothing else: 35 patterns
    answered as 20 read as all there were."""
    failures = [
        ("Planner agent timed out calling flights search", "trip-planner", "TimeoutError", "read timed out"),
        ("Refund agent double charged a card on retry", "refunds", "DuplicateCharge", "charge created twice"),
        ("Support bot quoted a refund window that does not exist", "helpdesk", "PolicyMismatch", "90 day window"),
    ]
    for title, agent, error_type, message in failures:
        for _ in range(2):  # the same signature twice, the first resolved in between: a pattern of two
            capture = IncidentCreate(title=title, agent=agent, error_type=error_type, error_message=message)
            svc.resolve_incident(svc.capture_incident(capture).id)
    found = svc.recurring_patterns(min_size=2, limit=2)
    assert (len(found.patterns), found.total) == (2, 3)
    assert found.left_out == (
        "left out 1 of the 3 patterns of 2 or more incidents (the largest 2 are given): raise limit, or min_size to "
        "leave out the smaller ones"
    )
    effects = svc.fix_effectiveness(min_size=2, limit=2)
    assert (len(effects.patterns), effects.total, effects.left_out) == (2, 3, found.left_out)
    everything = svc.recurring_patterns(min_size=2)
    assert (len(everything.patterns), everything.total, everything.left_out) == (3, 3, None)


def test_fix_effectiveness_counts_verdicts_over_every_pattern_not_only_the_ones_listed(svc: PostmortemService) -> None:
    """The totals (holding, recurred, in progress, no items) counted the listed patterns only: on 2,779 incidents
    the CLI (50 listed) said "in progress 37", the MCP tool (20 listed) fewer, of the same 141 patterns."""
    failures = [
        ("Planner agent timed out calling flights search", "trip-planner", "TimeoutError", "read timed out"),
        ("Refund agent double charged a card on retry", "refunds", "DuplicateCharge", "charge created twice"),
        ("Support bot quoted a refund window that does not exist", "helpdesk", "PolicyMismatch", "90 day window"),
    ]
    firsts = []
    for title, agent, error_type, message in failures:
        for n in range(2):
            capture = IncidentCreate(title=title, agent=agent, error_type=error_type, error_message=message)
            incident_id = svc.capture_incident(capture).id
            svc.resolve_incident(incident_id)
            firsts += [incident_id] if n == 0 else []
    svc.add_action_item(firsts[2], ActionItemCreate(title="Check the refund window against the policy"))
    every = svc.fix_effectiveness(min_size=2)
    one = svc.fix_effectiveness(min_size=2, limit=1)
    counts = ("holding", "recurred", "in_progress", "without_items", "fix_date_unknown")
    assert [getattr(one, c) for c in counts] == [getattr(every, c) for c in counts] == [0, 0, 1, 2, 0]
    assert len(one.patterns) == 1 and one.total == 3


def test_each_similar_incident_at_capture_and_classify_carries_its_action_items(svc: PostmortemService) -> None:
    """Capture's `similar` showed every past incident with `action_items: []`, also one whose fix was tracked and
    completed, so a client's model answered that nothing had been done about it; search showed the same hit's items."""
    first = planner_timeout(svc, 1)
    item = svc.add_action_item(first, ActionItemCreate(title="Add a deadline to flights.search"))
    svc.update_action_item(item.id, status="completed")
    svc.resolve_incident(first)
    again = planner_capture(title="Trip planner hung on flights search")
    for result in (svc.classify_incident(again), svc.capture_incident(again)):
        [hit] = [s for s in result.similar if s.id == first]
        assert [(a.id, a.status) for a in hit.action_items] == [(item.id, "completed")]


def test_a_repeat_of_a_recurrence_names_the_pattern_fix_that_did_not_hold(svc: PostmortemService, clock: Clock) -> None:
    """A failure captured again after its pattern's fix was answered recurred_after_fix with the completed items; its
    next occurrence (a repeat of that open incident, which has no items of its own) was answered recurred_after_fix
    with fixed_action_items [] and open_action_items []: which fix did not hold was said nowhere."""
    first = planner_timeout(svc, 1)
    item = svc.add_action_item(first, ActionItemCreate(title="Add a deadline to flights.search"))
    svc.update_action_item(item.id, status="completed")
    svc.resolve_incident(first)
    clock.advance(days=3)
    again = svc.capture_incident(planner_capture(2))
    assert not again.deduplicated and again.recurred_after_fix
    clock.advance(hours=1)
    repeat = svc.capture_incident(planner_capture(3))
    assert repeat.deduplicated and repeat.id == again.id and repeat.recurred_after_fix
    assert [a.id for a in repeat.fixed_action_items] == [item.id] and repeat.open_action_items == []


def test_the_post_mortem_of_a_fixed_incident_says_which_completed_item_did_not_hold(
    svc: PostmortemService, clock: Clock
) -> None:
    """The post-mortem of the incident whose items were the fix showed them `[x] ... completed` after its pattern came
    back, while its runbook called them "did not hold, seen again ... in INC-2": a reviewer reading the report took
    the fix for done. The item's line now says so, with the incidents seen since it was completed."""
    first = planner_timeout(svc, 1)
    item = svc.add_action_item(first, ActionItemCreate(title="Add a deadline to flights.search"))
    svc.update_action_item(item.id, status="completed")
    svc.resolve_incident(first)
    assert "did not hold" not in svc.render_report(first, kind="full")
    clock.advance(days=3)
    second = planner_timeout(svc, 2)
    assert second != first and svc.get_incident(second).recurred_after_fix
    report = svc.render_report(first, kind="full")
    line = f"({item.id}; owner: unassigned; due: no date; completed 2026-11-27 12:00 UTC; did not hold: seen again in"
    assert f"{line} {second})" in report


def test_one_incidents_pattern_is_read_as_grouping_every_incident_reads_it(svc: PostmortemService) -> None:
    """The post-mortem reads only its own incident's pattern (from the keys, categories and signatures of all, then
    the members' rows): the same members, with the same fields, as grouping the whole knowledge base gives."""
    from agent_postmortem.ingest.jsonl import read_incidents
    from tests.factories import SEED

    ids = svc.import_incidents(read_incidents(SEED)).ids
    every = {r.pk: g for g in svc.recurrence.groups(2)[0] for r in g}
    assert len({id(g) for g in every.values()}) >= 2
    for incident_id in ids:
        [own] = svc.recurrence.pattern_of(incident_id, min_size=2) or [[]]
        want = every.get(int(incident_id.removeprefix("INC-")), [])
        assert [tuple(r) for r in own] == [tuple(r) for r in want]


def test_fix_effectiveness_names_the_smaller_patterns_whose_fix_did_not_hold(
    svc: PostmortemService, clock: Clock
) -> None:
    """Capture flags a recurrence after the fix on a pattern of two; fix_effectiveness, of patterns of 3 or more by
    default, listed nothing and said "recurred after fix 0", so the two answers to "did the fix hold?" disagreed."""
    first = planner_timeout(svc, 1)
    svc.update_action_item(svc.add_action_item(first, ActionItemCreate(title="Add a deadline")).id, status="completed")
    svc.resolve_incident(first)
    clock.advance(days=10)
    assert svc.capture_incident(
        planner_capture(title="Planner agent timed out on flights search again")
    ).recurred_after_fix
    report = svc.fix_effectiveness()
    assert (report.patterns, report.recurred, report.smaller_recurred) == ([], 0, 1)
    assert report.note == (
        "1 pattern of fewer than 3 incidents came back after its fix (capture said recurred_after_fix): min_size 2 "
        "(--min-size 2) lists it"
    )
    both = svc.fix_effectiveness(min_size=2)
    assert (both.recurred, both.smaller_recurred, both.note) == (1, 0, None)
