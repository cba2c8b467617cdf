"""The dashboard's figures, computed from the service's public reads (a pure function of them and `now`)."""

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, get_args

from agent_postmortem.service.followup import placeholder_owners
from agent_postmortem.service.results import Completion, EffectivenessReport, IncidentSummary
from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.ids import action_pk
from agent_postmortem.store.models import ActionItem, Category, Severity
from agent_postmortem.store.models.actions import by_owner

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService

MAX_ROWS = 200_000


@dataclass(frozen=True)
class Spread:
    n: int
    median_h: float | None
    p90_h: float | None


@dataclass
class Dashboard:
    weeks: list[str]
    per_category: dict[str, list[int]]
    severity: dict[str, int]
    mitigate: dict[str, Spread]
    resolve: dict[str, Spread]
    overall: Completion
    effectiveness: EffectivenessReport
    incidents: int = 0
    resolved_untimed: int = 0  # resolved with no resolution time (imported without one): in no time to resolve
    owners: list[tuple[str, int, int, int]] = field(default_factory=list)  # owner, items, completed, overdue
    owners_note: str | None = None  # what a row such as "[REDACTED:email]" counts, as the CLI and MCP stats say it


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0-1) of `values`, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def spread(hours: list[float]) -> Spread:
    median, p90 = percentile(hours, 0.5), percentile(hours, 0.9)
    return Spread(len(hours), None if median is None else round(median, 1), None if p90 is None else round(p90, 1))


def week_start(when: datetime) -> datetime:
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def durations(rows: list[IncidentSummary]) -> tuple[dict[str, Spread], dict[str, Spread]]:
    """Hours from capture to mitigation and to resolution, overall and per severity."""
    mitigate: dict[str, list[float]] = {"all": []}
    resolve: dict[str, list[float]] = {"all": []}
    for r in rows:
        for found, into in ((r.mitigated_at, mitigate), (r.resolved_at, resolve)):
            if found is not None and found >= r.created_at:
                hours = (found - r.created_at).total_seconds() / 3600
                into["all"].append(hours)
                into.setdefault(r.severity, []).append(hours)
    order = ["all", *get_args(Severity)]
    return (
        {k: spread(mitigate[k]) for k in order if k in mitigate},
        {k: spread(resolve[k]) for k in order if k in resolve},
    )


def owners(items: list[ActionItem]) -> list[tuple[str, int, int, int]]:
    """(owner, items, completed, overdue) per owner, most items first; items without one under "(none)"."""
    counted = by_owner((a.owner, action_pk(a.id), (1, a.status == "completed", a.overdue)) for a in items)
    rows = [(o, n, done, late) for o, (n, done, late) in counted.items()]
    return sorted(rows, key=lambda r: (-r[1], r[0].lower()))


def dashboard(
    service: "PostmortemService", *, now: datetime, effectiveness: EffectivenessReport, weeks: int = 12
) -> Dashboard:
    """Incidents per category per week and the severity mix over the last `weeks` weeks, times to mitigate and
    resolve for the incidents captured in them, action-item completion per owner, recurrence after fix per pattern
    (`effectiveness`, which the patterns page shares)."""
    first = week_start(now) - timedelta(weeks=weeks - 1)
    rows = service.list_incidents(limit=MAX_ROWS, filters=SearchFilters(since=first)).incidents
    starts = [first + timedelta(weeks=n) for n in range(weeks)]
    per_category = {c.value: [0] * weeks for c in Category}
    for r in rows:
        index = (week_start(r.created_at) - first).days // 7
        if 0 <= index < weeks:
            per_category[r.category.value][index] += 1
    mitigate, resolve = durations(rows)
    items = service.list_action_items(limit=MAX_ROWS).items
    by_owner = owners(items)
    return Dashboard(
        weeks=[f"{s:%m-%d}" for s in starts],
        per_category=per_category,
        severity=dict(sorted(Counter(r.severity for r in rows).items())),
        mitigate=mitigate,
        resolve=resolve,
        overall=Completion.of(len(items), sum(a.status == "completed" for a in items), sum(a.overdue for a in items)),
        effectiveness=effectiveness,
        incidents=len(rows),
        resolved_untimed=sum(r.status == "resolved" and r.resolved_at is None for r in rows),
        owners=by_owner[:15],
        owners_note=placeholder_owners([o for o, *_ in by_owner[:15]]),
    )
