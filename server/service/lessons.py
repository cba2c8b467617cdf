"""Lessons: runbook entries (per category or recurring pattern) and regression eval cases, built from the records by
`analysis.learn`; this gathers the incidents, items and pattern verdicts they are built from. Only accepted analyses
count: an unreviewed or rejected draft is not a lesson."""

import re
from collections.abc import Callable
from datetime import datetime

from agent_postmortem.analysis.effectiveness import Seen, effect
from agent_postmortem.analysis.learn import (
    RUNBOOK_INCIDENTS,
    RegressionCase,
    RunbookEntry,
    regression_case,
    runbook_entry,
)
from agent_postmortem.errors import NotAnalysed, UnknownRunbook
from agent_postmortem.render import report
from agent_postmortem.service.recurrence import Recurrence, Rows, label, pattern_id, top_category
from agent_postmortem.service.results import Learned
from agent_postmortem.store.ids import PATTERN_ID, PATTERN_PREFIX, incident_pk, to_incident_id, written_id
from agent_postmortem.store.models import ActionItem, Category, Incident
from agent_postmortem.store.records.batch import CHUNK
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.records.reopens import reopened_after_resolve

LEARN_ALL_LIMIT = 100_000
SMALLEST_PATTERN = 2  # the least min_size that patterns, fix_effectiveness and action_item_stats take


class Lessons:
    def __init__(self, *, store: IncidentStore, recurrence: Recurrence, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.recurrence = recurrence
        self.clock = clock

    def runbook(self, key: str, *, min_size: int | None = None, groups: list[Rows] | None = None) -> RunbookEntry:
        """The runbook entry of a category or a recurring pattern (PAT-n), from its analysed incidents. A pattern id
        is looked up among patterns of any size (min_size only leaves small ones out, their ids are the same), so a
        PAT-n that `patterns --min-size 2` or fix_effectiveness named has its runbook; a category's items are placed
        in patterns of `min_size` (3) or more. `groups`: every pattern of two or more, when the caller has them
        (else only the patterns needed are found: the pattern's, or those of the category's completed items).
        Whether a completed item held is read from the patterns of two or more whatever `min_size`: a capture is
        flagged `recurred_after_fix` on a pattern of two, and the category's runbook called those items ✅."""
        key = written_id(key)  # a pattern id as written in prose or linked: `runbook://"PAT-1"` was an unknown runbook
        if min_size is None:
            min_size = SMALLEST_PATTERN if key.startswith(PATTERN_PREFIX) else 3
        if key.startswith(PATTERN_PREFIX):
            if groups is not None:
                rows = {pattern_id(g): g for g in groups if len(g) >= min_size}.get(key)
            elif PATTERN_ID.fullmatch(key):
                rows = self.recurrence.pattern_by_id(key, min_size=max(min_size, SMALLEST_PATTERN))
            else:
                rows = None
            if rows is None:
                raise UnknownRunbook(key if PATTERN_ID.fullmatch(key) else None)
            newest = sorted(rows, key=lambda r: (r.created_at, r.pk), reverse=True)  # by time, as a category's are:
            # ids follow the order of capture and import, and an imported history comes after the captures
            members = self.store.get_many_or_raise([to_incident_id(r.pk) for r in newest], accepted=True)
            category = top_category(rows)
            title = label(rows)  # it starts with the category: "timeout: planner (…) (timeout)" said it twice
        else:
            rows, category = None, _category(key)
            newest_pks = self.store.analysed_pks(category=category.value, limit=RUNBOOK_INCIDENTS)
            members = self.store.get_many_or_raise([to_incident_id(pk) for pk in newest_pks], accepted=True)
            key, title = category.value, category.value.replace("_", " ")
        analysed = [m for m in members if m.analysis is not None]
        # the entry is built from the newest few: "Built from 20 analysed incident(s)" read as all of a category of 41
        total = len(analysed) if rows is not None else self.store.count_analysed(category=category.value)
        analysed = analysed[:RUNBOOK_INCIDENTS]
        items = self.recurrence.items([m.id for m in analysed])
        verdict = None
        if rows is not None:  # the pattern's verdict over all its members and items, as fix_effectiveness gives it
            every = self.recurrence.items([to_incident_id(r.pk) for r in rows])
            verdict = effect(key, label(rows), self.recurrence.seen(rows), every, now=self.clock()).verdict
        if groups is None and rows is None:  # the patterns of the items that can have failed to hold, not all
            done = [a.incident_id for a in items if a.status == "completed" and a.completed_at is not None]
            groups = list(
                {id(g): g for g in self.recurrence.patterns_of(done, min_size=SMALLEST_PATTERN).values()}.values()
            )
        recurred = recurred_after(items, groups or [], rows, members, self.recurrence)
        return runbook_entry(
            key,
            title,
            analysed,
            items,
            category,
            now=self.clock(),
            recurred=recurred,
            fix_verdict=verdict,
            analysed_total=total,
        )

    def regression_case(self, incident_id: str) -> RegressionCase:
        return _case(self.store.get_or_raise(incident_id, accepted=True))

    def learn(self, incident_id: str, *, min_size: int = 3) -> Learned:
        """For an analysed incident: its regression eval case, and the runbook entry of its pattern (or category)."""
        case = self.regression_case(incident_id)
        # its own pattern, found from the incidents linked to it: grouping every incident took seconds at 10,000
        own = self.recurrence.pattern_of(case.incident_id, min_size=max(min_size, SMALLEST_PATTERN))
        if own:  # a pattern's runbook reads only that pattern
            entry = self.runbook(pattern_id(own[0]), min_size=min_size, groups=own)
        else:
            entry = self.runbook(case.category.value, min_size=min_size)
        return Learned(eval_case=case, runbook=entry, runbook_markdown=report.render_runbook(entry))

    def learn_all(
        self, *, min_size: int = 3, limit: int = LEARN_ALL_LIMIT
    ) -> tuple[list[RegressionCase], list[RunbookEntry]]:
        """Every analysed incident's regression case (newest first) and every runbook entry they belong to."""
        groups = self.recurrence.groups(SMALLEST_PATTERN)[0]
        pks = self.store.analysed_pks(limit=limit)
        ids = [to_incident_id(pk) for pk in pks]
        cases = [  # a chunk at a time, in a few statements each (records/batch.py): one chunk's incidents held
            _case(incident)
            for start in range(0, len(ids), CHUNK)
            for incident in self.store.get_many_or_raise(ids[start : start + CHUNK], accepted=True)
        ]
        keys = dict.fromkeys(_runbook_key(c, groups, min_size) for c in cases)
        return cases, [self.runbook(k, min_size=min_size, groups=groups) for k in keys]


def _case(incident: Incident) -> RegressionCase:
    if incident.analysis is None:
        raise NotAnalysed(incident.id)
    return regression_case(incident)


def _category(key: str) -> Category:
    try:
        return Category(re.sub(r"[\s-]+", "_", key.strip()).lower())  # rate-limit, "rate limit"
    except ValueError:
        raise UnknownRunbook() from None


def recurred_after(
    items: list[ActionItem], groups: list[Rows], pattern: Rows | None, members: list[Incident], recurrence: Recurrence
) -> dict[str, list[str]]:
    """For each completed item: the incidents of its pattern (or its own incident, when it is in none) first seen,
    seen again or reopened after being resolved, after the item was completed (runbooks, and the post-mortem's
    items)."""
    of_incident = {to_incident_id(r.pk): g for g in groups for r in g}
    reopened = reopened_after_resolve(recurrence.store.engine, [incident_pk(m.id) for m in members])
    own = {
        m.id: Seen(m.id, m.created_at, m.last_seen_at or m.created_at, tuple(reopened.get(incident_pk(m.id), ())))
        for m in members
    }
    recurred, of_pattern = {}, {}  # a pattern's members as seen, read once per pattern
    for a in items:
        if a.status != "completed" or a.completed_at is None:
            continue
        rows = pattern if pattern is not None else of_incident.get(a.incident_id)
        if rows and rows[0].pk not in of_pattern:
            of_pattern[rows[0].pk] = recurrence.seen(rows)
        seen = of_pattern[rows[0].pk] if rows else [own[a.incident_id]] if a.incident_id in own else []
        closed = a.completed_at
        recurred[a.id] = [
            s.incident_id for s in sorted(seen, key=lambda s: s.first) if s.first > closed or s.again_after(closed)
        ]
    return recurred


def _runbook_key(case: RegressionCase, groups: list[Rows], min_size: int) -> str:
    pk = incident_pk(case.incident_id)
    found = (pattern_id(g) for g in groups if len(g) >= min_size and pk in {r.pk for r in g})
    return next(found, case.category.value)
