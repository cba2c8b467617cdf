"""Follow-through: action items (tracked with their history), the ones a draft proposes, and completion figures
overall, per owner, per priority and per recurring pattern."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from agent_postmortem.errors import ActionItemChanged
from agent_postmortem.render.exports import due_text
from agent_postmortem.service.recurrence import Recurrence, label, pattern_id
from agent_postmortem.service.results import ActionItemList, ActionStats, Completion, PatternCompletion
from agent_postmortem.store.models import ActionItem, ActionItemCreate
from agent_postmortem.store.records.actions import ActionStore
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.redact import PLACEHOLDER, redact, redact_text


def past_due(item: ActionItem) -> str | None:
    """What to say of an item added with a due date already past: it is kept (a follow-up recorded late is still one),
    but it is overdue from the moment it is added, which was said nowhere. A time given is named with the day: "the due
    date 2026-12-07 is in the past" on 2026-12-07 read as wrong."""
    if not item.overdue or item.due_at is None:
        return None
    return f"the due date {due_text(item.due_at)} is in the past: {item.id} is overdue already"


def reopened(item: ActionItem) -> bool:
    """Its last change took it from done back to open or in progress (a status set to what it was is no change).
    Moving an open item to in progress is not reopening it: it was said to be overdue "already" as if just set."""
    last = next((c for c in reversed(item.history) if c.field == "status"), None)
    return last is not None and last.old not in ("open", "in_progress") and last.new in ("open", "in_progress")


def redacted_owner(given: str | None, item: ActionItem) -> str | None:
    """What to say of an owner given as an email address (or with a phone number, a token): it is stored as its
    placeholder, which every such owner shares, so the item cannot be filtered on it and `action_item_stats` counts
    all of them as one owner; the answer said nothing, and showed the placeholder as if it were the owner."""
    if not given or item.owner is None or not _holds_secret(given):
        return None
    return (
        f"the owner given holds personal data or a secret (an email address, a phone number, a token), redacted "
        f"before it is stored: {item.id}'s owner is {item.owner!r}, shared with every owner given so, so it cannot be "
        "filtered on or counted apart: give the owner as a name or a handle"
    )


def said_of(item: ActionItem, *, owner: str | None, due: bool) -> str | None:
    """The notes on an item just added or changed: its due date already past (`due`: a due date was set or the item
    reopened), an owner that was redacted."""
    notes = (past_due(item) if due else None, redacted_owner(owner, item))
    return "; ".join(n for n in notes if n) or None


class FollowUp:
    def __init__(
        self,
        *,
        store: IncidentStore,
        actions: ActionStore,
        recurrence: Recurrence,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.actions = actions
        self.recurrence = recurrence
        self.clock = clock

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

    def update_action_item(
        self,
        /,
        action_id: str,
        *,
        by: str | None = None,
        check: Callable[[ActionItem], None] | None = None,
        **changes: Any,
    ) -> ActionItem:
        """Change the given fields (title, owner, priority, due_at, status); a field given as None is left as it is,
        `owner=""` unassigns the item and `due_at=""` takes its due date off. `check` sees the item as it is when
        written (it raises to refuse the change): a form's "not changed since it was shown"."""
        return self.actions.update(action_id, now=self.clock(), by=by, check=check, **changes)

    def edit_action_item(
        self, /, action_id: str, *, by: str | None = None, expected_changes: int | None = None, **changes: Any
    ) -> tuple[ActionItem, bool]:
        """As `update_action_item`, and whether anything changed. `expected_changes`: how many changes the item's
        history held when the caller read it; a change made since refuses the update (ActionItemChanged), checked
        in the store's compare-and-set, so one landing after the check is not written over either."""
        counted: list[int] = []

        def unchanged(_: ActionItem) -> None:
            history = self.get_action_item(action_id).history
            counted.append(len(history))
            if expected_changes is not None and len(history) != expected_changes:
                since = [f"{c.field}: {c.old} -> {c.new}" + (f" by {c.by}" if c.by else "") for c in history]
                raise ActionItemChanged(
                    action_id, given=expected_changes, since=since[expected_changes:], now=len(history)
                )

        item = self.update_action_item(action_id, by=by, check=unchanged, **changes)
        return item, len(item.history) > counted[-1]

    def list_action_items(self, /, *, limit: int = 50, offset: int = 0, **filters: Any) -> ActionItemList:
        now = self.clock()
        items = self.actions.list_items(now=now, limit=limit + 1, offset=offset, **filters)
        page = items[:limit]
        total, completed = self.actions.completion(now=now, **filters)  # of every item the filters match, not the page
        rate = round(completed / total, 3) if total else None
        return ActionItemList(
            items=page,
            offset=offset,
            next_offset=offset + limit if len(items) > limit else None,
            completion_rate=rate,
            total=total,
            empty_because=None if page else self._why_empty(total, offset, filters),
        )

    def _why_empty(self, total: int, offset: int, filters: dict[str, Any]) -> str:
        """Why a page has no items, in words: filters that cannot both hold, an owner no item has (with the owners
        there are), filters that match nothing (and how many items there are), or a page past the end."""
        given = {k: v for k, v in filters.items() if v is not None and v is not False}
        if given.get("overdue") and given.get("status") == "completed":
            return (
                "no action items match: overdue and completed cannot both hold (overdue: not completed by its due date)"
            )
        if total:
            matching = f"{total} action item(s) match{_described(given)}"
            return f"offset {offset} is past the end: {matching} (offsets 0 to {total - 1})"
        in_all = self.actions.completion(now=self.clock())[0]
        if not in_all:
            return "there are no action items yet"
        said = f"no action items match{_described(given)} ({in_all} in all)"
        owner = given.get("owner")
        if not owner or self.actions.completion(now=self.clock(), owner=owner)[0]:
            return said
        owners = self.actions.rates("owner", now=self.clock())
        known = sorted(((n, o) for o, (n, _, _) in owners.items() if o != "(none)"), reverse=True)[:8]
        listed = ", ".join(f"{o!r} has {n}" for n, o in known) or "no item has one"
        alone = f"no items owned by {redact(owner)!r} (owners are matched ignoring case)"
        if _holds_secret(owner):  # an email, a phone number, a token: stored as its placeholder, shared by all such
            alone += (
                "; personal data or a secret in an owner (an email address, a phone number, a token) is redacted "
                "before it is stored, so it cannot be matched: give owners a name or a handle"
            )
        return f"{alone}; owners: {listed}" if len(given) == 1 else f"{said}; {alone}; owners: {listed}"

    def action_item_stats(self, *, min_size: int = 3) -> ActionStats:
        """Completion overall, per owner, per priority and per recurring pattern."""
        now = self.clock()
        by_owner = {k: Completion.of(*v) for k, v in self.actions.rates("owner", now=now).items()}
        by_priority = {k: Completion.of(*v) for k, v in self.actions.rates("priority", now=now).items()}
        totals = np.array([[c.items, c.completed, c.overdue] for c in by_priority.values()] or [[0, 0, 0]]).sum(0)
        found = self.recurrence.grouped(min_size)[0]
        tracked = [(pks, items) for pks, items in zip(found, self.recurrence.items_of(found), strict=True) if items]
        by_pattern = [  # the member rows read only of the patterns with items: their labels
            PatternCompletion(
                pattern_id=pattern_id(rows), label=label(rows), **Completion.of(*_tally(items)).model_dump()
            )
            for rows, (_, items) in zip(self.recurrence.rows_of([pks for pks, _ in tracked]), tracked, strict=True)
        ]
        return ActionStats(
            overall=Completion.of(*(int(x) for x in totals)),
            by_owner=by_owner,
            by_priority=by_priority,
            by_pattern=by_pattern,
            owners_note=placeholder_owners(list(by_owner)),
        )


def _described(given: dict[str, Any]) -> str:
    """The filters as words: ` incident INC-1, owner 'dana', status open, overdue`."""
    words = []
    for name, value in given.items():
        if name == "owner":
            words.append(f"owner {redact(value)!r}" if value.strip() else "no owner")  # as stored: never echoed
        elif name == "overdue":
            words.append("overdue")
        else:
            words.append(f"{name.removesuffix('_id')} {value}")
    return " " + ", ".join(words) if words else ""


def placeholder_owners(owners: list[str]) -> str | None:
    """What a row such as "[REDACTED:email]" counts: two people given by their addresses were one owner there, read
    as one person's items."""
    shown = [o for o in owners if PLACEHOLDER.split("{}")[0] in o]  # "[REDACTED:" and a type
    if not shown:
        return None
    return (
        f"{', '.join(shown)}: every owner given as an email address, a phone number or a token, redacted before it "
        "was stored and counted as one owner: give owners a name or a handle"
    )


def _holds_secret(owner: str) -> bool:
    """Whether redaction puts a placeholder in `owner`: invisible characters it strips (an escape sequence) are not
    personal data, and the owner stays one of its own."""
    return any(kind != "invisible_characters" for kind in redact_text(owner)[1])


def _tally(items: list[ActionItem]) -> tuple[int, int, int]:
    return len(items), sum(a.status == "completed" for a in items), sum(a.overdue for a in items)
