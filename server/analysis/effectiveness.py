"""Did the fixes hold? Per recurring pattern: incidents before and after its last action item was completed, the
rates per 30 days, and a verdict in words. A pure function of when the members were seen and of the items.

A rate is given only over a window of at least MIN_WINDOW: one incident minutes before the fix is not "30 per 30
days". Over a shorter window the rate is None, with the count and the window's length instead (`rate_note`)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from agent_postmortem.analysis.wording import counted
from agent_postmortem.store.models import ActionItem

MONTH = timedelta(days=30)
MIN_WINDOW = timedelta(days=7)  # shorter windows are not extrapolated to a rate per 30 days


class PatternEffect(BaseModel):
    """Whether a pattern's action items stopped it: incidents before and after the last item closed."""

    pattern_id: str
    label: str
    size: int
    items: int
    completed: int
    undated: int = Field(
        default=0,
        description="completed items whose completion date is unknown (imported without one): with any, when the fix "
        "landed is unknown, so there is no before/after split and no verdict on whether it held",
    )
    last_closed_at: datetime | None = Field(description="when the most recently completed item was completed")
    fixed: bool = Field(description="true when every item on the pattern is completed")
    incidents_before: int = Field(
        description="members first seen up to the last item's completion (0 when a completion date is unknown)"
    )
    incidents_after: int = Field(description="members first seen after it")
    seen_again_after: int = Field(
        description="earlier members that occurred again after it, or were resolved and then reopened after it"
    )
    reopened_after: int = Field(
        default=0,
        description="members resolved and then reopened after it (the fix did not hold), counted as recurrences "
        "after the fix at the reopen time: in seen_again_after, or incidents_after for a member first seen after it",
    )
    per_30_days_before: float | None = Field(
        description="incidents per 30 days from the first member to the fix; null when the fix's date is unknown or "
        "the window is shorter than 7 days (rate_note says so)"
    )
    per_30_days_after: float | None = Field(
        description="recurrences per 30 days since the fix: incidents_after plus seen_again_after, the members that "
        "occurred after it; null when its date is unknown or under 7 days ago"
    )
    days_before: float | None = Field(default=None, description="the window before the fix, in days")
    days_after: float | None = Field(default=None, description="the window since the fix, in days")
    rate_note: str | None = Field(
        default=None, description="why a rate is null although the fix's date is known: the count over a short window"
    )
    recurred_ids: list[str] = Field(description="members first seen after the last item closed (at most 20)")
    verdict: str

    def rates(self) -> tuple[str, str]:
        """Each side's rate ("1.2 per 30 d"), or over a window too short for one its count and length ("1 in 12
        min"); "-" with no dated fix."""
        if self.last_closed_at is None or self.days_before is None or self.days_after is None:
            return "-", "-"
        sides = (
            (self.per_30_days_before, self.incidents_before, self.days_before),
            (self.per_30_days_after, self.incidents_after + self.seen_again_after, self.days_after),
        )
        before, after = (f"{r} per 30 d" if r is not None else f"{n} in {span(timedelta(days=d))}" for r, n, d in sides)
        return before, after


@dataclass(frozen=True)
class Seen:
    incident_id: str
    first: datetime
    last: datetime
    reopened: tuple[datetime, ...] = ()  # when it was set back to open after being resolved

    def again_after(self, moment: datetime) -> bool:
        """Occurred again, or was reopened after being resolved (the fix did not hold), after `moment`."""
        return self.last > moment or any(r > moment for r in self.reopened)


def after_fix(items: list[ActionItem], at: datetime | None) -> bool:
    """Whether a failure came after the fix of `items` (all completed): one recorded as it happens (`at` None) did,
    since they were completed before it; one dated `at` (an `occurred_at` given) did when every item's completion
    date is known and earlier. An item completed on a date not recorded leaves a dated one unknown, so not after."""
    dates = [a.completed_at for a in items]
    return at is None or (None not in dates and at > max(d for d in dates if d is not None))


def effect(pattern_id: str, label: str, seen: list[Seen], items: list[ActionItem], *, now: datetime) -> PatternEffect:
    """A pattern's before/after-fix figures (a pure function of when its members were seen and of its items). A
    completed item with no completion date (imported without one) is done at an unknown time: with any such item
    there is no before/after split, since when the fix landed is not known."""
    completed = [a for a in items if a.status == "completed"]
    undated = sum(a.completed_at is None for a in completed)
    done = [a.completed_at for a in completed if a.completed_at is not None]
    closed = max(done) if done and not undated else None
    before = [s for s in seen if closed is None or s.first <= closed]
    after = [s for s in seen if closed is not None and s.first > closed]
    again = [s for s in before if closed is not None and s.again_after(closed)]
    reopened = [s for s in seen if closed is not None and any(r > closed for r in s.reopened)]
    windows = (closed - min(s.first for s in seen), now - closed) if closed is not None and seen else None
    # after the fix, a repeat of an earlier member (or its reopen) is as much a recurrence as a new member: counting
    # new members only gave "recurred after the fix: 0 new incidents and 1 repeat" a rate after of 0.0 per 30 days
    recurred = len(after) + len(again)
    return PatternEffect(
        pattern_id=pattern_id,
        label=label,
        size=len(seen),
        items=len(items),
        completed=len(completed),
        undated=undated,
        last_closed_at=closed,
        fixed=bool(items) and len(completed) == len(items),
        incidents_before=0 if undated else len(before),
        incidents_after=len(after),
        seen_again_after=len(again),
        reopened_after=len(reopened),
        per_30_days_before=_rate(len(before), windows[0]) if windows else None,
        per_30_days_after=_rate(recurred, windows[1]) if windows else None,
        days_before=_days(windows[0]) if windows else None,
        days_after=_days(windows[1]) if windows else None,
        rate_note=_note(len(before), recurred, windows) if windows else None,
        recurred_ids=[s.incident_id for s in sorted(after, key=lambda s: s.first)][:20],
        verdict=_verdict(items, len(completed), undated, closed, after, again, reopened, now=now),
    )


def _days(window: timedelta) -> float:
    """A window in days, to a tenth of a second: rounded to two decimals (14 minutes), a fix closed 7 minutes after
    the first incident had days_before 0.0, and `rates()`, which reads it, said "1 in under 1 min"."""
    return round(window / timedelta(days=1), 6)


def _rate(count: int, window: timedelta) -> float | None:
    return round(count / (window / MONTH), 2) if window >= MIN_WINDOW else None


def _note(before: int, after: int, windows: tuple[timedelta, timedelta]) -> str | None:
    short = [
        f"{side} {counted(n, 'incident')} in {span(w)}"
        for side, n, w in (("before the fix", before, windows[0]), ("after the fix", after, windows[1]))
        if w < MIN_WINDOW
    ]
    if not short:
        return None
    return f"{'; '.join(short)}: under {MIN_WINDOW.days} days, too short a window for a rate per 30 days"


def span(window: timedelta) -> str:
    """A window's length in the unit that reads best: "12 min", "5 h", "3.5 days"."""
    minutes = max(window, timedelta(0)) / timedelta(minutes=1)
    if minutes < 1:  # "1 in 0 min" read as a division by zero
        return "under 1 min"
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 24 * 60:
        return f"{minutes / 60:.0f} h"
    return f"{minutes / (24 * 60):.1f} days"


def _verdict(
    items: list[ActionItem],
    completed: int,
    undated: int,
    closed: datetime | None,
    after: list[Seen],
    again: list[Seen],
    reopened: list[Seen],
    *,
    now: datetime,
) -> str:
    if not items:
        return "no action items: nothing was done to stop this pattern"
    unknown = f"completion date unknown for {counted(undated, 'item')}" if undated else ""
    if completed < len(items):
        return f"in progress: {completed} of {counted(len(items), 'item')} completed" + (
            f" ({unknown})" if unknown else ""
        )
    if unknown:
        return f"fixed; {unknown}: recurrence after the fix cannot be told"
    if after or again:
        return (
            f"recurred after the fix: {counted(len(after), 'new incident')} and {counted(len(again), 'repeat')} "
            "since the last item closed"
            + (f" ({len(reopened)} reopened after being resolved: the fix did not hold)" if reopened else "")
        )
    window = now - closed if closed else timedelta(0)
    if window < timedelta(minutes=1):  # not "in the under 1 min since"
        return "holding: no recurrence since the last item closed, under 1 min ago"
    since = counted(window.days, "day") if window >= timedelta(days=1) else span(window)  # not "the 0 days"
    return f"holding: no recurrence in the {since} since the last item closed"
