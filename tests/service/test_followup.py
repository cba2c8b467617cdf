"""Follow-through: action-item history and completion rates, recurrence after a fix, and whether fixes held."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from agent_postmortem.analysis.effectiveness import Seen, effect
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import ActionItem, ActionItemCreate, IncidentCreate
from tests.factories import FIXED_NOW, make_service

pytestmark = pytest.mark.usefixtures("database")  # the store contract: SQLite and PostgreSQL


class Clock:
    def __init__(self) -> None:
        self.now = FIXED_NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def svc(tmp_path: Path, clock: Clock) -> PostmortemService:
    return make_service(tmp_path, clock=clock)


def planner_capture(n: int = 1, **changes: object) -> IncidentCreate:
    """The same failure each time: one agent, one tool, one error (ids masked), so one signature."""
    return IncidentCreate.model_validate(
        {
            "title": f"Planner agent timed out calling flights search (run {n})",
            "agent": "trip-planner",
            "tool": "flights.search",
            "error_type": "TimeoutError",
            "error_message": f"read timed out after 30 s (request {n * 7919})",
            **changes,
        }
    )


def planner_timeout(service: PostmortemService, n: int = 1) -> str:
    return service.capture_incident(planner_capture(n)).id


def test_every_edit_of_an_item_is_kept_with_when_and_who(svc: PostmortemService, clock: Clock) -> None:
    incident = planner_timeout(svc)
    item = svc.add_action_item(incident, ActionItemCreate(title="Add a deadline to flights.search"), by="dana")
    clock.advance(hours=2)
    svc.update_action_item(item.id, owner="search-team", priority="P0", by="lee")
    svc.update_action_item(item.id, priority="P0")  # no change: nothing recorded
    clock.advance(days=1)
    svc.update_action_item(item.id, status="completed")
    history = svc.get_action_item(item.id).history
    assert [(h.field, h.old, h.new, h.by) for h in history] == [
        ("created", None, "Add a deadline to flights.search", "dana"),
        ("owner", None, "search-team", "lee"),
        ("priority", "P1", "P0", "lee"),
        ("status", "open", "completed", None),
    ]
    assert history[1].at == FIXED_NOW + timedelta(hours=2) and history[3].at == FIXED_NOW + timedelta(days=1, hours=2)
    with pytest.raises(ValueError, match="cannot change"):
        svc.update_action_item(item.id, incident_id="INC-2")


def test_an_owner_given_by_mistake_can_be_taken_off_again(svc: PostmortemService) -> None:
    """`owner=None` meant "no change" and nothing meant "no owner": an item given to the wrong person kept them."""
    incident = planner_timeout(svc)
    item = svc.add_action_item(incident, ActionItemCreate(title="Add a deadline to flights.search", owner="ana"))
    svc.update_action_item(item.id, owner=None, priority="P0")  # not given: left as it is
    assert svc.get_action_item(item.id).owner == "ana"
    svc.update_action_item(item.id, owner="", by="lee")
    now = svc.get_action_item(item.id)
    last = now.history[-1]
    assert now.owner is None and (last.field, last.old, last.new, last.by) == ("owner", "ana", None, "lee")
    svc.update_action_item(item.id, owner="  ")  # already unassigned: nothing recorded
    assert len(svc.get_action_item(item.id).history) == len(now.history)
    assert svc.add_action_item(incident, ActionItemCreate(title="Cap retries", owner="")).owner is None
    assert svc.action_item_stats().by_owner["(none)"].items == 2
    assert [i.id for i in svc.list_action_items(owner="").items] == [item.id, "AI-2"]  # "" lists the unassigned


def test_a_due_date_can_be_taken_off_again(svc: PostmortemService) -> None:
    """`due_at=None` meant "no change" and an empty due date was refused: a date set by mistake could not be undone."""
    incident = planner_timeout(svc)
    item = svc.add_action_item(incident, ActionItemCreate(title="Add a deadline", due_at=FIXED_NOW - timedelta(days=1)))
    assert svc.get_action_item(item.id).overdue
    svc.update_action_item(item.id, due_at=None, priority="P0")  # not given: left as it is
    assert svc.get_action_item(item.id).due_at is not None
    svc.update_action_item(item.id, due_at="", by="lee")
    now = svc.get_action_item(item.id)
    last = now.history[-1]
    assert now.due_at is None and not now.overdue and (last.field, last.new, last.by) == ("due_at", None, "lee")
    svc.update_action_item(item.id, due_at=" ")  # already without a date: nothing recorded
    assert len(svc.get_action_item(item.id).history) == len(now.history)
    assert svc.list_action_items(overdue=True).items == []


def test_owners_are_matched_ignoring_case_and_an_empty_list_says_why(svc: PostmortemService) -> None:
    """`owner="Platform"` found nothing when the stored owner was "platform", and every empty list (filters that
    cannot both hold, an owner no item has, a page past the end) came back with no word of why."""
    incident = planner_timeout(svc)
    for title in ("Add a deadline", "Cap retries", "Add backoff"):
        svc.add_action_item(incident, ActionItemCreate(title=title, owner="platform"))
    svc.add_action_item(incident, ActionItemCreate(title="Page the on-call", owner="Émile"))
    assert [i.owner for i in svc.list_action_items(owner="Platform").items] == ["platform"] * 3
    assert svc.list_action_items(owner=" PLATFORM ").total == 3
    assert [i.title for i in svc.list_action_items(owner="Émile").items] == ["Page the on-call"]
    assert svc.list_action_items(owner="Platform").empty_because is None
    contradiction = svc.list_action_items(overdue=True, status="completed")
    assert contradiction.items == [] and "overdue and completed cannot both hold" in str(contradiction.empty_because)
    assert svc.list_action_items(owner="platfrom").empty_because == (
        "no items owned by 'platfrom' (owners are matched ignoring case); owners: 'platform' has 3, 'Émile' has 1"
    )
    assert svc.list_action_items(owner="Platform", status="completed").empty_because == (
        "no action items match owner 'Platform', status completed (4 in all)"
    )
    svc.add_action_item(incident, ActionItemCreate(title="Rotate the key", owner="ana@example.com"))
    mailed = svc.list_action_items(owner="ana@example.com")  # stored as [REDACTED:email], as every such owner is
    assert mailed.items == [] and "redacted before it is stored, so it cannot be matched" in str(mailed.empty_because)
    assert "redacted before" not in str(svc.list_action_items(owner="platfrom").empty_because)
    past = svc.list_action_items(owner="platform", offset=1000)
    assert past.total == 3 and past.empty_because == (
        "offset 1000 is past the end: 3 action item(s) match owner 'platform' (offsets 0 to 2)"
    )


def test_completion_rates_per_owner_and_priority(svc: PostmortemService, clock: Clock) -> None:
    incident = planner_timeout(svc)
    due = FIXED_NOW + timedelta(days=1)
    a = svc.add_action_item(incident, ActionItemCreate(title="Item a", owner="ana", priority="P0", due_at=due))
    svc.add_action_item(incident, ActionItemCreate(title="Item b", owner="ana", priority="P1", due_at=due))
    svc.add_action_item(incident, ActionItemCreate(title="Item c", priority="P1"))
    svc.update_action_item(a.id, status="completed")
    clock.advance(days=2)  # b is now overdue
    stats = svc.action_item_stats()
    assert (stats.overall.items, stats.overall.completed, stats.overall.overdue) == (3, 1, 1)
    assert stats.overall.rate == 0.333
    assert stats.by_owner["ana"].rate == 0.5 and stats.by_owner["ana"].overdue == 1
    assert stats.by_owner["(none)"].items == 1 and stats.by_owner["(none)"].rate == 0.0
    assert stats.by_priority["P0"].rate == 1.0 and stats.by_priority["P1"].rate == 0.0


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


def test_the_completion_rate_of_a_list_is_of_every_item_it_matches(svc: PostmortemService) -> None:
    """It was of the page shown: an incident with 2 of 3 items done read 1.0 with limit=1, and a page of open ones 0."""
    first = planner_timeout(svc, 1)
    items = [svc.add_action_item(first, ActionItemCreate(title=f"Item {n}", priority="P0")) for n in range(3)]
    for item in items[:2]:
        svc.update_action_item(item.id, status="completed")
    pages = [svc.list_action_items(incident_id=first, limit=1, offset=n) for n in range(3)]
    assert [len(p.items) for p in pages] == [1, 1, 1]
    assert [p.completion_rate for p in pages] == [0.667, 0.667, 0.667]
    assert svc.list_action_items(incident_id=first, status="open").completion_rate == 0.0
    assert svc.list_action_items(owner="nobody").completion_rate is None


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


def _done(at: datetime, n: int = 1) -> ActionItem:
    return ActionItem(
        id=f"AI-{n}", incident_id="INC-1", title="Fix it", status="completed", created_at=at, completed_at=at
    )


def test_fix_effectiveness_counts_incidents_before_and_after_the_last_item_closed() -> None:
    t0 = FIXED_NOW - timedelta(days=90)
    seen = [Seen(f"INC-{i}", t0 + timedelta(days=10 * i), t0 + timedelta(days=10 * i)) for i in range(1, 7)]
    fixed_at = t0 + timedelta(days=35)  # after INC-1..3, before INC-4..6
    result = effect("PAT-1", "planner timeouts", seen, [_done(fixed_at), _done(t0, 2)], now=FIXED_NOW)
    assert result.fixed and result.last_closed_at == fixed_at
    assert (result.incidents_before, result.incidents_after) == (3, 3)
    assert result.recurred_ids == ["INC-4", "INC-5", "INC-6"]
    assert result.verdict.startswith("recurred after the fix")
    assert result.per_30_days_before == pytest.approx(3 / (25 / 30), rel=0.01)
    assert result.per_30_days_after == pytest.approx(3 / (55 / 30), rel=0.01)


def test_fix_effectiveness_verdicts() -> None:
    t0 = FIXED_NOW - timedelta(days=60)
    seen = [Seen("INC-1", t0, t0), Seen("INC-2", t0 + timedelta(days=5), t0 + timedelta(days=5))]
    holding = effect("PAT-1", "x", seen, [_done(t0 + timedelta(days=6))], now=FIXED_NOW)
    assert (
        holding.fixed
        and holding.incidents_after == 0
        and holding.verdict.startswith("holding: no recurrence in the 54")
    )
    repeated = [Seen("INC-1", t0, t0), Seen("INC-2", t0, t0 + timedelta(days=30))]  # seen again after the fix
    again = effect("PAT-1", "x", repeated, [_done(t0 + timedelta(days=6))], now=FIXED_NOW)
    assert again.seen_again_after == 1 and again.verdict.startswith("recurred")
    unfinished = ActionItem(id="AI-2", incident_id="INC-1", title="Other", created_at=t0)
    progress = effect("PAT-1", "x", seen, [_done(t0), unfinished], now=FIXED_NOW)
    assert not progress.fixed and progress.verdict == "in progress: 1 of 2 items completed"
    assert effect("PAT-1", "x", seen, [], now=FIXED_NOW).verdict.startswith("no action items")


def test_fix_effectiveness_and_pattern_rates_on_a_real_store(svc: PostmortemService, clock: Clock) -> None:
    ids = [planner_timeout(svc, n) for n in (1, 2, 3)]  # the same signature: repeats count on one incident...
    assert len(set(ids)) == 1
    svc.resolve_incident(ids[0])
    for n in (4, 5):  # ...until it is resolved; then new incidents join the pattern
        clock.advance(days=1)
        svc.resolve_incident(planner_timeout(svc, n))
    item = svc.add_action_item(ids[0], ActionItemCreate(title="Add a deadline to flights.search", owner="search"))
    clock.advance(days=1)
    svc.update_action_item(item.id, status="completed")
    clock.advance(days=3)
    late = planner_timeout(svc, 6)
    report = svc.fix_effectiveness(min_size=3)
    [pattern] = report.patterns
    assert pattern.fixed and pattern.incidents_before == 3 and pattern.recurred_ids == [late]
    assert report.recurred == 1 and report.holding == 0
    [rate] = svc.action_item_stats(min_size=3).by_pattern
    assert rate.pattern_id == pattern.pattern_id and rate.rate == 1.0


def test_a_reopen_after_the_fix_is_a_recurrence_after_it_and_the_verdict_says_so(
    svc: PostmortemService, clock: Clock
) -> None:
    """Reopening a resolved incident of a fixed pattern left the pattern "holding": the fix that did not hold was
    counted nowhere. A reopen from mitigated, or before the fix closed, is no recurrence after it."""
    first = planner_timeout(svc, 1)
    svc.resolve_incident(first)
    clock.advance(days=1)
    second = planner_timeout(svc, 2)
    svc.resolve_incident(second)
    svc.resolve_incident(second, status="open", note="reopened before the fix: not after it")
    svc.resolve_incident(second)
    clock.advance(days=1)
    third = planner_timeout(svc, 3)
    svc.resolve_incident(third, status="mitigated")
    item = svc.add_action_item(first, ActionItemCreate(title="Add a deadline to flights.search", owner="search"))
    clock.advance(days=1)
    svc.update_action_item(item.id, status="completed")
    clock.advance(days=2)
    svc.resolve_incident(third, status="open", note="mitigated, never resolved")
    [holding] = svc.fix_effectiveness(min_size=3).patterns
    assert holding.verdict.startswith("holding") and holding.reopened_after == 0
    svc.resolve_incident(first, status="open", note="the timeouts are back")
    report = svc.fix_effectiveness(min_size=3)
    [pattern] = report.patterns
    assert (pattern.seen_again_after, pattern.reopened_after, report.recurred, report.holding) == (1, 1, 1, 0)
    assert "(1 reopened after being resolved: the fix did not hold)" in pattern.verdict
    runbook = svc.runbook(pattern.pattern_id, min_size=3)
    assert runbook.fix_verdict == pattern.verdict


def test_the_runbook_of_a_pattern_of_two_that_effectiveness_named(svc: PostmortemService, clock: Clock) -> None:
    """`effectiveness --min-size 2` and `patterns --min-size 2` named PAT-n, and `runbook PAT-n` answered "no recurring
    pattern PAT-n now": the runbook looked for patterns of three or more only."""
    first = planner_timeout(svc, 1)
    item = svc.add_action_item(first, ActionItemCreate(title="Add a deadline to flights.search", owner="search"))
    svc.update_action_item(item.id, status="completed")
    svc.resolve_incident(first)
    clock.advance(days=1)
    planner_timeout(svc, 2)
    [pattern] = svc.fix_effectiveness(min_size=2).patterns
    runbook = svc.runbook(pattern.pattern_id)
    assert runbook.key == pattern.pattern_id and runbook.fix_verdict == pattern.verdict


def test_a_reopen_counts_at_its_own_time() -> None:
    t0 = FIXED_NOW - timedelta(days=60)
    fixed = [_done(t0 + timedelta(days=6))]
    before = Seen("INC-1", t0, t0, reopened=(t0 + timedelta(days=2),))
    after = Seen("INC-1", t0, t0, reopened=(t0 + timedelta(days=2), t0 + timedelta(days=9)))
    assert effect("PAT-1", "x", [before], fixed, now=FIXED_NOW).verdict.startswith("holding")
    recurred = effect("PAT-1", "x", [after], fixed, now=FIXED_NOW)
    assert (recurred.seen_again_after, recurred.reopened_after) == (1, 1)


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
