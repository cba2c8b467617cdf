"""Recurrence: the recurring patterns of the knowledge base, the pattern a new failure joins, and whether the fixes of
each pattern held. Capture, follow-up and lessons all ask this one about patterns."""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from agent_postmortem.analysis import patterns
from agent_postmortem.analysis.classify import NOVELTY_THRESHOLD
from agent_postmortem.analysis.effectiveness import Seen, effect
from agent_postmortem.analysis.grouping import Grouping
from agent_postmortem.service.results import EffectivenessReport, Pattern, PatternList
from agent_postmortem.store.ids import PATTERN_PREFIX, action_pk, incident_pk, to_incident_id, to_pattern_id
from agent_postmortem.store.models import ActionItem, Category, SimilarIncident
from agent_postmortem.store.records.actions import ActionStore
from agent_postmortem.store.records.batch import CHUNK
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.records.reopens import reopened_after_resolve
from agent_postmortem.store.search.knowledge import KnowledgeBase

Rows = list[Any]  # a pattern's member rows (pk, title, category, signature, agent, tool, created_at, last_seen_at)


@dataclass(kw_only=True)
class Recurrence:
    store: IncidentStore
    actions: ActionStore
    knowledge: KnowledgeBase
    clock: Callable[[], datetime]
    grouping: Grouping = field(default_factory=Grouping)

    def recurring_patterns(self, *, min_size: int = 3, limit: int = 20) -> PatternList:
        """Groups of at least `min_size` incidents that are the same failure (similar and/or same signature)."""
        found, considered = self.grouped(min_size)
        shown = self.rows_of(found[:limit])  # the members of the patterns listed only
        return PatternList(
            patterns=[
                self._pattern(rows, items) for rows, items in zip(shown, self.items_of(keys(shown)), strict=True)
            ],
            incidents_considered=considered,
            min_size=min_size,
            total=len(found),
            left_out=_left_out(len(found), limit, min_size),
        )

    def fix_effectiveness(self, *, min_size: int = 3, limit: int = 50) -> EffectivenessReport:
        """Per recurring pattern: did its action items stop it? Incidents before and after the last item closed."""
        now = self.clock()
        every = self.grouped(min(min_size, 2))[0]  # patterns of 2 too: capture's recurred_after_fix reads them
        found = self.rows_of([pks for pks in every if len(pks) >= min_size])
        smaller = self._recurred_after_fix([pks for pks in every if len(pks) < min_size], now)
        # every pattern's verdict, for the totals: counted over the listed ones only, the CLI (50 listed) and the MCP
        # tool (20) gave the same 141 patterns different totals, neither of them the knowledge base's
        seen = self.seen([r for rows in found for r in rows])  # every member's, read at once
        at = {s.incident_id: s for s in seen}
        effects = [
            effect(pattern_id(rows), label(rows), [at[to_incident_id(r.pk)] for r in rows], items, now=now)
            for rows, items in zip(found, self.items_of(keys(found)), strict=True)
        ]
        return EffectivenessReport(
            patterns=effects[:limit],
            total=len(found),
            left_out=_left_out(len(found), limit, min_size),
            holding=sum(e.fixed and not e.undated and not (e.incidents_after or e.seen_again_after) for e in effects),
            recurred=sum(e.fixed and bool(e.incidents_after or e.seen_again_after) for e in effects),
            in_progress=sum(e.items > 0 and not e.fixed for e in effects),
            without_items=sum(e.items == 0 for e in effects),
            fix_date_unknown=sum(e.fixed and bool(e.undated) for e in effects),
            smaller_recurred=smaller,
            note=_smaller_note(smaller, min_size),
        )

    def _recurred_after_fix(self, found: list[list[int]], now: datetime) -> int:
        """How many of these patterns (their members' keys) came back after every item was completed (their items
        read in one pass, the members only of the patterns whose items are all completed)."""
        fixed = [
            (pks, items)
            for pks, items in zip(found, self.items_of(found), strict=True)
            if items and all(a.status == "completed" for a in items)
        ]
        recurred = 0
        for rows, (_, items) in zip(self.rows_of([pks for pks, _ in fixed]), fixed, strict=True):
            e = effect(pattern_id(rows), label(rows), self.seen(rows), items, now=now)
            recurred += e.fixed and bool(e.incidents_after or e.seen_again_after)
        return recurred

    def groups(self, min_size: int) -> tuple[list[Rows], int]:
        """Every pattern's member rows (oldest first), largest pattern first; and how many incidents were looked at."""
        found, considered = self.grouped(min_size)
        return self.rows_of(found), considered

    def grouped(self, min_size: int) -> tuple[list[list[int]], int]:
        """Every pattern's member keys, as `groups` gives its rows; and how many incidents were looked at. The
        grouping is kept while the incidents' keys, categories, signatures and vectors are the ones it was made from
        (analysis/grouping.py): those are read each time, the rows of the members only when asked for."""
        keys, vectors = self._embedded(self.knowledge.feed.pattern_keys)
        return [pks for pks in self.grouping.of(keys, vectors) if len(pks) >= min_size], len(keys)

    def rows_of(self, found: list[list[int]]) -> list[Rows]:
        """The member rows of these patterns (given by their members' keys), read in one pass; a member deleted
        since it was grouped is left out."""
        wanted = sorted({pk for pks in found for pk in pks})
        model, read = self.knowledge.embedder.model_id, self.knowledge.feed.pattern_rows
        rows = {
            r.pk: r for start in range(0, len(wanted), CHUNK) for r, _ in read(model=model, pks=wanted[start:][:CHUNK])
        }
        return [[rows[pk] for pk in pks if pk in rows] for pks in found]

    def pattern_of(self, incident_id: str, *, min_size: int) -> list[Rows]:
        """The pattern that `groups(min_size)` puts the incident in, as a list of one (none: empty), found from the
        incidents linked to it rather than by grouping every incident (what one post-mortem needs)."""
        found = self.patterns_of([incident_id], min_size=min_size)
        return [found[incident_id]] if incident_id in found else []

    def pattern_by_id(self, pattern: str, *, min_size: int) -> Rows | None:
        """The members of PAT-n as `groups(min_size)` gives them (none: no such pattern): the pattern of incident n,
        when n is its first member. One runbook needs one pattern, not every pattern of the knowledge base."""
        pk = int(pattern.removeprefix(PATTERN_PREFIX))
        rows = self.patterns_of([to_incident_id(pk)], min_size=min_size).get(to_incident_id(pk))
        return rows if rows and rows[0].pk == pk else None

    def incident_pattern(self, incident_id: str, *, min_size: int = 3) -> Pattern | None:
        """The recurring pattern the incident is in now, as `recurring_patterns` would list it (none: in no pattern
        of `min_size`), found from the incidents linked to it: an incident's page took it from a list of every
        pattern kept for a minute, which did not have a capture that had just joined one."""
        rows = self.patterns_of([incident_id], min_size=min_size).get(incident_id)
        return self._pattern(rows, self.items_of([[r.pk for r in rows]])[0]) if rows else None

    def patterns_of(self, incident_ids: Sequence[str], *, min_size: int) -> dict[str, Rows]:
        """For each of these incidents in a pattern of `min_size` or more, the pattern's member rows as
        `groups(min_size)` gives them; each pattern found once, from the incidents linked to it."""
        keys, vectors = self._embedded(self.knowledge.feed.pattern_keys)  # what links them: not titles and dates
        at = {r.pk: n for n, r in enumerate(keys)}
        group: dict[int, list[int]] = {}
        for pk in (incident_pk(i) for i in incident_ids):
            if pk in at and pk not in group:
                # the rows stand for members: linking reads only their category and signature
                members = [keys[n].pk for n in patterns.group_of(keys, vectors, at[pk])]
                group.update((member, members) for member in members)
        wanted = list({members[0]: members for members in group.values() if len(members) >= min_size}.values())
        of_group = {members[0]: rows for members, rows in zip(wanted, self.rows_of(wanted), strict=True)}
        found = {}
        for incident_id in incident_ids:
            members = group.get(incident_pk(incident_id), [])
            if len(members) >= min_size:
                found[incident_id] = of_group[members[0]]
        return found

    def _embedded(self, read: Callable[..., list[tuple[Any, np.ndarray]]]) -> tuple[Rows, np.ndarray]:
        """The rows of the incidents embedded by the current model, as `read` reads them, and their vectors."""
        dimension = self.knowledge.embedder.dimension
        pairs = [(r, v) for r, v in read(model=self.knowledge.embedder.model_id) if v.shape[0] == dimension]
        vectors = np.vstack([v for _, v in pairs]) if pairs else np.zeros((0, dimension), np.float32)
        return [r for r, _ in pairs], vectors

    def seen(self, rows: Rows) -> list[Seen]:
        """When each member was first and last seen, and reopened after being resolved (a fix that did not hold)."""
        reopened = reopened_after_resolve(self.store.engine, [r.pk for r in rows])
        return [seen_of(r, reopened.get(r.pk, ())) for r in rows]

    def items(self, incident_ids: list[str]) -> list[ActionItem]:
        """Every action item of these incidents."""
        return self.actions.for_incidents([incident_pk(i) for i in incident_ids], now=self.clock())

    def items_of(self, found: list[list[int]]) -> list[list[ActionItem]]:
        """Each pattern's action items (given by its members' keys), read in one pass instead of a query per
        pattern; by item key, as `items` gives them."""
        of: dict[str, list[ActionItem]] = {}
        for item in self.items([to_incident_id(pk) for pk in sorted({pk for pks in found for pk in pks})]):
            of.setdefault(item.incident_id, []).append(item)
        return [
            sorted((a for pk in pks for a in of.get(to_incident_id(pk), ())), key=lambda a: action_pk(a.id))
            for pks in found
        ]

    def joined(self, similar: list[SimilarIncident], signature: str | None) -> tuple[list[str], list[ActionItem]]:
        """The pattern a new failure joins (its close neighbours and same-signature incidents) and their items."""
        members = [s.id for s in similar if s.score >= NOVELTY_THRESHOLD]
        if signature is not None:
            members += [to_incident_id(pk) for pk in self.store.pks_with_signature(signature)]
        members = list(dict.fromkeys(members))
        return members, self.items(members)

    def _pattern(self, rows: Rows, items: list[ActionItem]) -> Pattern:
        ids = [to_incident_id(r.pk) for r in rows]
        unfinished = [a for a in items if a.status != "completed"]
        return Pattern(
            id=pattern_id(rows),
            label=label(rows),
            size=len(rows),
            category=top_category(rows),
            incident_ids=ids[:50],
            first_seen=min(r.created_at for r in rows),
            last_seen=max(r.last_seen_at or r.created_at for r in rows),
            open_action_items=unfinished[:10],
            open_items=len(unfinished),
        )


def _smaller_note(recurred: int, min_size: int) -> str | None:
    if not recurred:
        return None
    which = "1 pattern" if recurred == 1 else f"{recurred} patterns"
    came = "came back after its fix" if recurred == 1 else "came back after their fixes"
    it = "it" if recurred == 1 else "them"
    return (
        f"{which} of fewer than {min_size} incidents {came} (capture said recurred_after_fix): min_size 2 "
        f"(--min-size 2) lists {it}"
    )


def keys(found: list[Rows]) -> list[list[int]]:
    """The members' keys of each of these patterns."""
    return [[r.pk for r in rows] for rows in found]


def member(row: Any) -> patterns.Member:
    return patterns.Member(row.pk, row.title, row.category, row.signature, row.agent, row.tool)


def seen_of(row: Any, reopened: Sequence[datetime] = ()) -> Seen:
    return Seen(to_incident_id(row.pk), row.created_at, row.last_seen_at or row.created_at, tuple(reopened))


def pattern_id(rows: Rows) -> str:
    return to_pattern_id(rows[0].pk)


def label(rows: Rows) -> str:
    return patterns.label([member(r) for r in rows])


def top_category(rows: Rows) -> Category:
    return Category(patterns.top(Counter(r.category for r in rows))[0])


def _left_out(found: int, limit: int, min_size: int) -> str | None:
    """What a limit left out, said: 35 patterns answered as 20 read as all there were."""
    if found <= limit:
        return None
    return (
        f"left out {found - limit} of the {found} patterns of {min_size} or more incidents (the largest {limit} are "
        "given): raise limit, or min_size to leave out the smaller ones"
    )
