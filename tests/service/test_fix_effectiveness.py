"""Whether fixes held: incidents before and after a pattern's last item closed, the verdicts, reopens counted at
their own time, and the same on a real store with its runbook."""

from datetime import datetime, timedelta

import pytest

from agent_postmortem.analysis.effectiveness import Seen, effect
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import ActionItem, ActionItemCreate
from tests.factories import FIXED_NOW
from tests.service.followup import Clock, planner_timeout

pytestmark = pytest.mark.usefixtures("database")  # the store contract: SQLite and PostgreSQL


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
    # the label starts with the category: "timeout: planner (…) (timeout)" said it twice
    assert runbook.title == pattern.label and runbook.title.startswith("timeout"), runbook.title
    number = pattern.pattern_id.removeprefix("PAT-")
    for written in (f"PAT {number}", f"pat{number}", f'"PAT-{number}"', f"`PAT_{number}`", f"pattern {number}"):
        assert svc.runbook(written).key == pattern.pattern_id, written  # refused as an unknown runbook before
    linked = f"[{pattern.pattern_id}](runbook://{pattern.pattern_id})"  # as a report links it
    for written in (linked, f"PAT\u2011{number}", f"\u200bPAT\u2013{number}"):  # a typographic dash, a zero-width space
        assert svc.runbook(written).key == pattern.pattern_id, written  # refused as an unknown runbook before


def test_a_reopen_counts_at_its_own_time() -> None:
    t0 = FIXED_NOW - timedelta(days=60)
    fixed = [_done(t0 + timedelta(days=6))]
    before = Seen("INC-1", t0, t0, reopened=(t0 + timedelta(days=2),))
    after = Seen("INC-1", t0, t0, reopened=(t0 + timedelta(days=2), t0 + timedelta(days=9)))
    assert effect("PAT-1", "x", [before], fixed, now=FIXED_NOW).verdict.startswith("holding")
    recurred = effect("PAT-1", "x", [after], fixed, now=FIXED_NOW)
    assert (recurred.seen_again_after, recurred.reopened_after) == (1, 1)


def test_a_verdict_with_a_count_of_one_says_it_in_the_singular() -> None:
    """The verdict said "recurred after the fix: 1 new incidents and 1 repeats", and "in progress: 0 of 1 items"."""
    t0 = FIXED_NOW - timedelta(days=60)
    seen = [Seen("INC-1", t0, t0 + timedelta(days=30)), Seen("INC-2", t0 + timedelta(days=9), t0 + timedelta(days=9))]
    recurred = effect("PAT-1", "x", seen, [_done(t0 + timedelta(days=6))], now=FIXED_NOW)
    assert recurred.verdict == "recurred after the fix: 1 new incident and 1 repeat since the last item closed"
    unfinished = ActionItem(id="AI-2", incident_id="INC-1", title="Other", created_at=t0)
    assert effect("PAT-1", "x", seen, [unfinished], now=FIXED_NOW).verdict == "in progress: 0 of 1 item completed"
    holding = effect("PAT-1", "x", seen[:1], [_done(FIXED_NOW - timedelta(days=1, hours=1))], now=FIXED_NOW)
    assert holding.verdict == "holding: no recurrence in the 1 day since the last item closed"


def test_a_completed_item_with_no_date_leaves_the_fix_undated_and_unjudged() -> None:
    """An item completed on a date not recorded counted as not done ("in progress: 0 of 1") or, imported, as done
    when its incident was created; with one known date beside it the split went by that date, earlier than the fix.
    Now it is done, the fix's date unknown: no before/after split and no verdict on whether it held."""
    t0 = FIXED_NOW - timedelta(days=60)
    seen = [Seen("INC-1", t0, t0), Seen("INC-2", t0 + timedelta(days=9), t0 + timedelta(days=9))]
    undated = ActionItem(id="AI-2", incident_id="INC-1", title="Other", status="completed", created_at=t0)
    mixed = effect("PAT-1", "x", seen, [_done(t0 + timedelta(days=6)), undated], now=FIXED_NOW)
    assert (mixed.fixed, mixed.completed, mixed.undated, mixed.last_closed_at) == (True, 2, 1, None)
    assert (mixed.incidents_before, mixed.incidents_after, mixed.seen_again_after, mixed.recurred_ids) == (0, 0, 0, [])
    assert mixed.per_30_days_before is None and mixed.per_30_days_after is None
    assert mixed.verdict == "fixed; completion date unknown for 1 item: recurrence after the fix cannot be told"
    unfinished = ActionItem(id="AI-3", incident_id="INC-1", title="Third", created_at=t0)
    progress = effect("PAT-1", "x", seen, [undated, unfinished], now=FIXED_NOW).verdict
    assert progress == "in progress: 1 of 2 items completed (completion date unknown for 1 item)"


def test_the_rate_after_the_fix_counts_repeats_as_the_after_column_does(svc: PostmortemService, clock: Clock) -> None:
    """A failure that came back as a repeat of an open member (same signature) made the pattern "recurred after the
    fix" and the after column 1, while the rate after the fix said 0.0 per 30 days: it counted new incidents only."""
    first = planner_timeout(svc, 1)
    svc.resolve_incident(first)
    clock.advance(days=10)
    second = planner_timeout(svc, 2)
    svc.resolve_incident(second)
    clock.advance(days=10)
    open_one = planner_timeout(svc, 3)  # left open: the next capture of this failure is a repeat of it
    item = svc.add_action_item(first, ActionItemCreate(title="Add a deadline to flights.search", owner="search"))
    clock.advance(hours=6)
    svc.update_action_item(item.id, status="completed")
    clock.advance(hours=6)
    assert planner_timeout(svc, 4) == open_one
    clock.advance(days=30, hours=-6)  # 30 days since the fix
    [pattern] = svc.fix_effectiveness(min_size=3).patterns
    assert (pattern.incidents_after, pattern.seen_again_after) == (0, 1)
    assert pattern.verdict.startswith("recurred after the fix")
    assert pattern.per_30_days_after == 1.0
    assert pattern.rates()[1] == "1.0 per 30 d"
    assert pattern.per_30_days_before == pytest.approx(3 / (20.25 / 30), rel=0.01)


def test_a_short_window_after_the_fix_alone_is_named_as_after_the_fix() -> None:
    """With only the window after the fix too short, the note read "since it 1 incident in 1 min: under 7 days": the
    "it" named nothing."""
    t0 = FIXED_NOW - timedelta(days=60)
    fixed_at = FIXED_NOW - timedelta(minutes=30)
    seen = [Seen("INC-1", t0, t0), Seen("INC-2", FIXED_NOW - timedelta(minutes=5), FIXED_NOW - timedelta(minutes=5))]
    result = effect("PAT-1", "planner timeouts", seen, [_done(fixed_at)], now=FIXED_NOW)
    assert result.rate_note == (
        "after the fix 1 incident in 30 min: under 7 days, too short a window for a rate per 30 days"
    )


def test_a_fix_closed_under_a_day_ago_holds_for_minutes_or_hours_not_0_days() -> None:
    """A pattern fixed half an hour before read "holding: no recurrence in the 0 days since the last item closed"."""
    t0 = FIXED_NOW - timedelta(days=60)
    seen = [Seen("INC-1", t0, t0), Seen("INC-2", t0 + timedelta(days=5), t0 + timedelta(days=5))]
    recent = effect("PAT-1", "x", seen, [_done(FIXED_NOW - timedelta(minutes=30))], now=FIXED_NOW)
    assert recent.verdict == "holding: no recurrence in the 30 min since the last item closed"
    hours = effect("PAT-1", "x", seen, [_done(FIXED_NOW - timedelta(hours=5))], now=FIXED_NOW)
    assert hours.verdict == "holding: no recurrence in the 5 h since the last item closed"


def test_the_shown_rates_over_minutes_give_the_window_the_note_gives() -> None:
    """A fix closed 7 minutes after the first incident, recurring 2 minutes later: `postmortem effectiveness` showed
    "1 in under 1 min / 1 in under 1 min" while the answer's rate_note said 7 min and 2 min, since the windows were
    kept in days rounded to two decimals (days_before 0.0)."""
    t0 = FIXED_NOW - timedelta(minutes=9)
    seen = [Seen("INC-1", t0, t0), Seen("INC-2", FIXED_NOW - timedelta(minutes=1), FIXED_NOW - timedelta(minutes=1))]
    result = effect("PAT-1", "kiam", seen, [_done(t0 + timedelta(minutes=7))], now=FIXED_NOW)
    assert result.rates() == ("1 in 7 min", "1 in 2 min")
    assert result.rate_note is not None and result.rate_note.startswith(
        "before the fix 1 incident in 7 min; after the fix 1 incident in 2 min"
    )
    assert result.days_before and result.days_before * 24 * 60 == pytest.approx(7, abs=0.01)


def test_a_fix_closed_seconds_ago_holds_in_words_that_read() -> None:
    """An item completed seconds before read "holding: no recurrence in the under 1 min since the last item closed"."""
    t0 = FIXED_NOW - timedelta(days=60)
    seen = [Seen("INC-1", t0, t0), Seen("INC-2", t0 + timedelta(days=5), t0 + timedelta(days=5))]
    just = effect("PAT-1", "x", seen, [_done(FIXED_NOW - timedelta(seconds=6))], now=FIXED_NOW)
    assert just.verdict == "holding: no recurrence since the last item closed, under 1 min ago"
