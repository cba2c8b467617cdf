"""Lessons: the lightweight review of a known pattern, runbook entries and regression eval cases.

A mixin of `PostmortemService` on top of `FollowUp`.
"""

import contextlib
from collections import Counter
from typing import Any

from agent_postmortem.analysis import patterns
from agent_postmortem.analysis.learn import (
    RUNBOOK_INCIDENTS,
    RegressionCase,
    RunbookEntry,
    regression_case,
    runbook_entry,
)
from agent_postmortem.errors import ActionItemNotFound, InvalidId, NotAnalysed, UnknownRunbook
from agent_postmortem.render import report
from agent_postmortem.service.followup import FollowUp, Seen, effect, pattern_member
from agent_postmortem.service.results import Learned
from agent_postmortem.store.ids import incident_id as to_incident_id
from agent_postmortem.store.ids import incident_pk
from agent_postmortem.store.models import ActionItem, Category, Incident, SimilarIncident

LEARN_ALL_LIMIT = 100_000


class Lessons(FollowUp):
    def _review(self, incident: Incident, similar: list[SimilarIncident]) -> str:
        members, items = self._recurrence(similar, incident.signature)
        members = [m for m in members if m != incident.id]
        known = {s.id: s for s in similar}
        pattern = [known[m] for m in members if m in known]
        pattern += self._similar_records([m for m in members if m not in known], incident)
        same = (
            {to_incident_id(pk) for pk in self.store.pks_with_signature(incident.signature)}
            if incident.signature
            else set()
        )
        own = self.actions.for_incidents([incident_pk(incident.id)], now=self.clock())
        items = [*own, *(a for a in items if a.incident_id != incident.id)]
        return report.render_review(incident, pattern=pattern, items=items, same_signature=same, now=self.clock())

    def _full_report(self, incident: Incident, similar: list[SimilarIncident]) -> str:
        """The post-mortem, with the open items that the draft's proposals repeat (`duplicate_of`)."""
        wanted = (
            {p.duplicate_of for p in incident.analysis.action_items if p.duplicate_of} if incident.analysis else set()
        )
        linked = {}
        for action_id in sorted(wanted):
            with contextlib.suppress(ActionItemNotFound, InvalidId):
                linked[action_id] = self.actions.get(action_id, now=self.clock())
        return report.render_markdown(incident, similar=similar, now=self.clock(), linked=linked)

    def _similar_records(self, ids: list[str], incident: Incident) -> list[SimilarIncident]:
        """Same-signature members that the similarity search did not return, scored against the incident."""
        if not ids:
            return []
        vector = self._vector_of(incident)
        records = self.store.summaries([incident_pk(i) for i in ids])
        found = []
        for record in records.values():
            other = self.store.vector(record.id, model=self.knowledge.embedder.model_id)
            score = float(vector @ other) if other is not None and other.shape == vector.shape else 0.0
            found.append(
                SimilarIncident(
                    id=record.id,
                    title=record.title,
                    category=record.category,
                    severity=record.severity,
                    status=record.status,
                    score=round(score, 4),
                    why="same failure signature",
                    created_at=record.created_at,
                    root_cause=record.analysis.root_cause if record.analysis else None,
                )
            )
        return found

    # --- learn: runbook entries and regression eval cases --------------------------------------

    def runbook(self, key: str, *, min_size: int = 3, groups: list[list[Any]] | None = None) -> RunbookEntry:
        """The runbook entry of a category or a recurring pattern (PAT-n), from its analysed incidents."""
        key = key.strip().upper()
        found = self._pattern_groups(min_size)[0] if groups is None else groups
        rows: list[Any] | None = None
        if key.startswith("PAT-"):
            rows = {f"PAT-{g[0].pk}": g for g in found}.get(key)
            if rows is None:
                raise UnknownRunbook()
            members = [self.store.get_or_raise(to_incident_id(r.pk)) for r in reversed(rows)]
            category = Category(patterns.top(Counter(r.category for r in rows))[0])
            title = f"{patterns.label([pattern_member(r) for r in rows])} ({category})"
        else:
            try:
                category = Category(key.lower())
            except ValueError:
                raise UnknownRunbook() from None
            pks = self.store.analysed_pks(category=category.value, limit=RUNBOOK_INCIDENTS)
            members = [self.store.get_or_raise(to_incident_id(pk)) for pk in pks]
            key, title = category.value, category.value.replace("_", " ")
        analysed = [m for m in members if m.analysis is not None][:RUNBOOK_INCIDENTS]
        items = self._pattern_items([m.id for m in analysed])
        verdict = None
        if rows is not None:  # the pattern's verdict over all its members and items, as fix_effectiveness gives it
            label = patterns.label([pattern_member(r) for r in rows])
            every = self._pattern_items([to_incident_id(r.pk) for r in rows])
            verdict = effect(key, label, [_seen(r) for r in rows], every, now=self.clock()).verdict
        recurred = self._recurred(items, found, rows, members)
        return runbook_entry(
            key, title, analysed, items, category, now=self.clock(), recurred=recurred, fix_verdict=verdict
        )

    def _recurred(
        self, items: list[ActionItem], groups: list[list[Any]], pattern: list[Any] | None, members: list[Incident]
    ) -> dict[str, list[str]]:
        """For each completed item: the incidents of its pattern (or its own incident, when it is in none) first
        seen or seen again after the item was completed."""
        of_incident = {to_incident_id(r.pk): g for g in groups for r in g}
        own = {m.id: Seen(m.id, m.created_at, m.last_seen_at or m.created_at) for m in members}
        recurred = {}
        for a in items:
            if a.status != "completed" or a.completed_at is None:
                continue
            rows = pattern if pattern is not None else of_incident.get(a.incident_id)
            seen = [_seen(r) for r in rows] if rows else [own[a.incident_id]] if a.incident_id in own else []
            closed = a.completed_at
            recurred[a.id] = [
                s.incident_id for s in sorted(seen, key=lambda s: s.first) if s.first > closed or s.last > closed
            ]
        return recurred

    def regression_case(self, incident_id: str) -> RegressionCase:
        incident = self.store.get_or_raise(incident_id)
        if incident.analysis is None:
            raise NotAnalysed(incident.id)
        return regression_case(incident)

    def learn(self, incident_id: str, *, min_size: int = 3) -> Learned:
        """For an analysed incident: its regression eval case, and the runbook entry of its pattern (or category)."""
        case = self.regression_case(incident_id)
        groups = self._pattern_groups(min_size)[0]
        entry = self.runbook(_runbook_key(case, groups), min_size=min_size, groups=groups)
        return Learned(eval_case=case, runbook=entry, runbook_markdown=report.render_runbook(entry))

    def learn_all(
        self, *, min_size: int = 3, limit: int = LEARN_ALL_LIMIT
    ) -> tuple[list[RegressionCase], list[RunbookEntry]]:
        """Every analysed incident's regression case (newest first) and every runbook entry they belong to."""
        groups = self._pattern_groups(min_size)[0]
        pks = self.store.analysed_pks(limit=limit)
        cases = [self.regression_case(to_incident_id(pk)) for pk in pks]
        keys = dict.fromkeys(_runbook_key(c, groups) for c in cases)
        return cases, [self.runbook(k, min_size=min_size, groups=groups) for k in keys]


def _seen(row: Any) -> Seen:
    return Seen(to_incident_id(row.pk), row.created_at, row.last_seen_at or row.created_at)


def _runbook_key(case: RegressionCase, groups: list[list[Any]]) -> str:
    pk = incident_pk(case.incident_id)
    return next((f"PAT-{g[0].pk}" for g in groups if pk in {r.pk for r in g}), case.category.value)
