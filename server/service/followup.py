"""Follow-through: action items, recurring patterns, recurrence after a fix and whether fixes held.

A mixin of `PostmortemService` (kept apart so each file stays readable); it uses only the service's store,
action store, knowledge base and clock.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from agent_postmortem.analysis import patterns
from agent_postmortem.analysis.classify import NOVELTY_THRESHOLD
from agent_postmortem.service.results import (
    ActionItemList,
    ActionStats,
    Completion,
    EffectivenessReport,
    Pattern,
    PatternCompletion,
    PatternEffect,
    PatternList,
)
from agent_postmortem.service.retrieval import Retrieval
from agent_postmortem.store.ids import incident_id as to_incident_id
from agent_postmortem.store.ids import incident_pk
from agent_postmortem.store.models import ActionItem, ActionItemCreate, Category, SimilarIncident
from agent_postmortem.store.records.actions import ActionStore
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.search.knowledge import KnowledgeBase

MONTH = timedelta(days=30)


class FollowUp(Retrieval):
    store: IncidentStore
    actions: ActionStore
    knowledge: KnowledgeBase
    clock: Callable[[], datetime]

    # --- action items -------------------------------------------------------------------------

    def add_action_item(self, incident_id: str, item: ActionItemCreate, *, by: str | None = None) -> ActionItem:
        return self.actions.add(incident_id, item, now=self.clock(), by=by)

    def add_drafted_action_items(self, incident_id: str) -> list[ActionItem]:
        """Track the action items the current analysis proposes, with due dates from its `due_in_days`; items that
        repeat an open item (`duplicate_of`) are not tracked twice."""
        incident = self.store.get_or_raise(incident_id)
        if incident.analysis is None:
            return []
        now = self.clock()
        return [
            self.add_action_item(
                incident_id,
                ActionItemCreate(
                    title=p.title, owner=p.owner_role, priority=p.priority, due_at=now + timedelta(days=p.due_in_days)
                ),
            )
            for p in incident.analysis.action_items
            if p.duplicate_of is None  # already tracked: follow that item up instead
        ]

    def get_action_item(self, action_id: str) -> ActionItem:
        """One item with its full edit history."""
        return self.actions.get(action_id, now=self.clock())

    def update_action_item(self, action_id: str, *, by: str | None = None, **changes: Any) -> ActionItem:
        return self.actions.update(action_id, now=self.clock(), by=by, **changes)

    def list_action_items(self, *, limit: int = 50, offset: int = 0, **filters: Any) -> ActionItemList:
        items = self.actions.list_items(now=self.clock(), limit=limit + 1, offset=offset, **filters)
        page = items[:limit]
        rate = round(sum(i.status == "completed" for i in page) / len(page), 3) if page else None
        return ActionItemList(
            items=page, offset=offset, next_offset=offset + limit if len(items) > limit else None, completion_rate=rate
        )

    def action_item_stats(self, *, min_size: int = 3) -> ActionStats:
        """Completion overall, per owner, per priority and per recurring pattern."""
        now = self.clock()
        by_owner = {k: Completion.of(*v) for k, v in self.actions.rates("owner", now=now).items()}
        by_priority = {k: Completion.of(*v) for k, v in self.actions.rates("priority", now=now).items()}
        totals = np.array([[c.items, c.completed, c.overdue] for c in by_priority.values()] or [[0, 0, 0]]).sum(0)
        by_pattern = []
        for rows in self._pattern_groups(min_size)[0]:
            items = self._pattern_items([to_incident_id(r.pk) for r in rows])
            if items:
                label = patterns.label([pattern_member(r) for r in rows])
                tally = Completion.of(*_tally(items)).model_dump()
                by_pattern.append(PatternCompletion(pattern_id=f"PAT-{rows[0].pk}", label=label, **tally))
        return ActionStats(
            overall=Completion.of(*(int(x) for x in totals)),
            by_owner=by_owner,
            by_priority=by_priority,
            by_pattern=by_pattern,
        )

    def _open_items(self, incident_ids: list[str]) -> list[ActionItem]:
        items = self.actions.for_incidents([incident_pk(i) for i in incident_ids], now=self.clock())
        return [a for a in items if a.status != "completed"][:10]

    def _pattern_items(self, incident_ids: list[str]) -> list[ActionItem]:
        return self.actions.for_incidents([incident_pk(i) for i in incident_ids], now=self.clock())

    # --- recurrence after a fix ---------------------------------------------------------------

    def _recurrence(self, similar: list[SimilarIncident], signature: str | None) -> tuple[list[str], list[ActionItem]]:
        """The pattern a new failure joins (its close neighbours and same-signature incidents) and their items."""
        members = [s.id for s in similar if s.score >= NOVELTY_THRESHOLD]
        if signature is not None:
            members += [to_incident_id(pk) for pk in self.store.pks_with_signature(signature)]
        members = list(dict.fromkeys(members))
        return members, self._pattern_items(members)

    # --- patterns -----------------------------------------------------------------------------

    def recurring_patterns(self, *, min_size: int = 3, limit: int = 20) -> PatternList:
        """Groups of at least `min_size` incidents that are the same failure (similar and/or same signature)."""
        found, considered = self._pattern_groups(min_size)
        return PatternList(
            patterns=[self._pattern(rows) for rows in found[:limit]], incidents_considered=considered, min_size=min_size
        )

    def _pattern_groups(self, min_size: int) -> tuple[list[list[Any]], int]:
        """Every pattern's member rows (oldest first), largest pattern first; and how many incidents were looked at."""
        rows = self.store.pattern_rows(model=self.knowledge.embedder.model_id)
        dimension = self.knowledge.embedder.dimension
        rows = [(r, v) for r, v in rows if v.shape[0] == dimension]
        members = [pattern_member(r) for r, _ in rows]
        vectors = np.vstack([v for _, v in rows]) if rows else np.zeros((0, dimension), np.float32)
        return [[rows[i][0] for i in g] for g in patterns.groups(members, vectors, min_size=min_size)], len(rows)

    def _pattern(self, rows: list[Any]) -> Pattern:
        ids = [to_incident_id(r.pk) for r in rows]
        return Pattern(
            id=f"PAT-{rows[0].pk}",
            label=patterns.label([pattern_member(r) for r in rows]),
            size=len(rows),
            category=Category(patterns.top(Counter(r.category for r in rows))[0]),
            incident_ids=ids[:50],
            first_seen=min(r.created_at for r in rows),
            last_seen=max(r.last_seen_at or r.created_at for r in rows),
            open_action_items=self._open_items(ids),
        )

    def fix_effectiveness(self, *, min_size: int = 3, limit: int = 50) -> EffectivenessReport:
        """Per recurring pattern: did its action items stop it? Incidents before and after the last item closed."""
        now = self.clock()
        effects = []
        for rows in self._pattern_groups(min_size)[0][:limit]:
            seen = [Seen(to_incident_id(r.pk), r.created_at, r.last_seen_at or r.created_at) for r in rows]
            items = self._pattern_items([s.incident_id for s in seen])
            effects.append(
                effect(f"PAT-{rows[0].pk}", patterns.label([pattern_member(r) for r in rows]), seen, items, now=now)
            )
        return EffectivenessReport(
            patterns=effects,
            holding=sum(e.fixed and not (e.incidents_after or e.seen_again_after) for e in effects),
            recurred=sum(e.fixed and bool(e.incidents_after or e.seen_again_after) for e in effects),
            in_progress=sum(e.items > 0 and not e.fixed for e in effects),
            without_items=sum(e.items == 0 for e in effects),
        )


def pattern_member(row: Any) -> patterns.Member:
    return patterns.Member(row.pk, row.title, row.category, row.signature, row.agent, row.tool)


@dataclass(frozen=True)
class Seen:
    incident_id: str
    first: datetime
    last: datetime


def _tally(items: list[ActionItem]) -> tuple[int, int, int]:
    return len(items), sum(a.status == "completed" for a in items), sum(a.overdue for a in items)


def effect(pattern_id: str, label: str, seen: list[Seen], items: list[ActionItem], *, now: datetime) -> PatternEffect:
    """A pattern's before/after-fix figures (a pure function of when its members were seen and of its items)."""
    done = [a.completed_at for a in items if a.status == "completed" and a.completed_at is not None]
    closed = max(done) if done else None
    fixed = bool(items) and len(done) == len(items)
    before = [s for s in seen if closed is None or s.first <= closed]
    after = [s for s in seen if closed is not None and s.first > closed]
    again = [s for s in before if closed is not None and s.last > closed]
    rate_before = rate_after = None
    if closed is not None:
        first = min(s.first for s in seen)
        rate_before = round(len(before) / (max(closed - first, timedelta(days=1)) / MONTH), 2)
        rate_after = round(len(after) / (max(now - closed, timedelta(days=1)) / MONTH), 2)
    if not items:
        verdict = "no action items: nothing was done to stop this pattern"
    elif not fixed:
        verdict = f"in progress: {len(done)} of {len(items)} items completed"
    elif after or again:
        verdict = (
            f"recurred after the fix: {len(after)} new incidents and {len(again)} repeats since the last item closed"
        )
    else:
        verdict = (
            f"holding: no recurrence in the {(now - closed).days if closed else 0} days since the last item closed"
        )
    return PatternEffect(
        pattern_id=pattern_id,
        label=label,
        size=len(seen),
        items=len(items),
        completed=len(done),
        last_closed_at=closed,
        fixed=fixed,
        incidents_before=len(before),
        incidents_after=len(after),
        seen_again_after=len(again),
        per_30_days_before=rate_before,
        per_30_days_after=rate_after,
        recurred_ids=[s.incident_id for s in sorted(after, key=lambda s: s.first)][:20],
        verdict=verdict,
    )
