"""The patterns page, the action-item board (with its change form) and the dashboard."""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import get_args
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from agent_postmortem.errors import ActionItemNotFound, InvalidId, validation_problems
from agent_postmortem.service.followup import past_due, reopened
from agent_postmortem.service.results import EffectivenessReport
from agent_postmortem.store.models import ActionItem, ActionItemCreate, ActionStatus, Priority, utcnow
from agent_postmortem.store.models.actions import owner_key
from agent_postmortem.web import charts, reads
from agent_postmortem.web.app import Ctx, Rendered, Web, page
from agent_postmortem.web.auth import return_to
from agent_postmortem.web.metrics import dashboard as figures

BOARD_LIMIT = 50  # cards per column (each holds a form: about 1 KB)
PAST_DUE = "past_due"  # the board's parameter naming the item a save gave a due date already past
LEFT = "left"  # the board's parameter naming the item a save took out of the view it was made in
LAST_PAGE = 10**12  # a page past it is past any column's end; the offset of one before it fits the store's integers


def patterns(ctx: Ctx) -> Rendered:
    found = ctx.cached("patterns", lambda: reads.patterns(ctx.service))
    effects = {e.pattern_id: e for e in _effectiveness(ctx).patterns}
    return Rendered("patterns.html.j2", {"patterns": found.patterns, "effects": effects, "considered": found})


def _effectiveness(ctx: Ctx) -> EffectivenessReport:
    return ctx.cached("effectiveness", lambda: reads.effectiveness(ctx.service))


def board(ctx: Ctx) -> Rendered:
    """The three columns' first cards, or (`?status=`) one column paged through, so that no item is out of reach. A
    filter that cannot be used comes back on the board, as typed, with what is wrong with it."""
    try:
        owner, one, at = _view(ctx.params)
    except reads.FormError as e:
        owner_typed = ctx.params.get("owner", "")[:500]
        typed = {
            "owner": owner_typed,
            "problem": str(e),
            "link": None,
            "here": "/actions",
            "past_due": None,
            "left": None,
        }
        return Rendered("actions.html.j2", {**_choices(), **typed, "columns": {}, "one": None, "past": False}, 400)
    shown = (one,) if one else get_args(ActionStatus)
    offset = (min(at, LAST_PAGE) - 1) * BOARD_LIMIT if one else 0
    columns = {
        status: ctx.service.list_action_items(status=status, owner=owner, limit=BOARD_LIMIT, offset=offset)
        for status in shown
    }
    here = {k: v for k, v in (("owner", owner), ("status", one)) if v}
    total = columns[one].total if one else 0
    # an owner no item has, said with the owners there are (each column said "None.": a typo read as nothing to do)
    nobody = None
    if owner and not any(c.total for c in columns.values()):
        nobody = ctx.service.list_action_items(owner=owner, limit=1).empty_because
    return Rendered(
        "actions.html.j2",
        {
            **_choices(),
            "columns": columns,
            "owner": owner or "",
            "one": one,
            "page": at,
            # past the column's end (a page typed by hand, a bookmark kept while items were completed): its last page
            "last": max(1, -(-total // BOARD_LIMIT)),
            "past": bool(one and at > 1 and not columns[one].items),
            "link": lambda **changes: "/actions?" + urlencode({**here, **changes}),
            # where a card's Save leads back to: this view of the board, at that card
            "here": "/actions" + ("?" + urlencode({**here, "page": at} if at > 1 else here) if here else ""),
            "problem": None,
            "nobody": nobody,
            "past_due": _past_due_note(ctx),
            "left": _left(ctx, owner, one),
            "now": utcnow(),  # how long an overdue card is late
        },
    )


def _view(params: Mapping[str, str]) -> tuple[str | None, str | None, int]:
    owner = reads.text(params, "owner", 200, label="Owner") or None
    one = params.get("status") or None
    if one is not None and one not in get_args(ActionStatus):
        raise reads.FormError(f"status must be one of: {', '.join(get_args(ActionStatus))}")
    at = reads.page_number(params)
    if at > 1 and one is None:  # the whole board shows each column's first cards: page 3 of it showed page 1
        raise reads.FormError(
            f"page {at} needs a status: the board shows each column's first {BOARD_LIMIT}, and one column is paged "
            f"through alone (/actions?status=open&page={at})"
        )
    return owner, one, at


def _choices() -> dict[str, object]:
    return {"statuses": get_args(ActionStatus), "priorities": get_args(Priority), "limit": BOARD_LIMIT}


def change_item(ctx: Ctx) -> Response:
    """Status, owner, priority and due date from the card's form; only the fields the person changed on the card are
    sent, so a card left open in another tab does not put back what was changed since it was shown."""
    status = _edited(ctx, "status", ctx.form.get("status") or None)
    if status is not None and status not in get_args(ActionStatus):
        raise reads.FormError(f"status must be one of: {', '.join(get_args(ActionStatus))}")
    priority = _edited(ctx, "priority", ctx.form.get("priority") or None)
    if priority is not None and priority not in get_args(Priority):
        raise reads.FormError(f"priority must be one of: {', '.join(get_args(Priority))}")
    owner = _edited(ctx, "owner", reads.text(ctx.form, "owner", 200)) if "owner" in ctx.form else None  # "": none
    due = _edited(ctx, "due", reads.text(ctx.form, "due", 40)) if "due" in ctx.form else None  # "": take it off
    by = reads.text(ctx.form, "by", 200) or None
    due_at = _due(due)
    edited = {"status": status, "owner": owner, "priority": priority, "due": due}
    item = ctx.service.update_action_item(
        ctx.params["action_id"],
        by=by,
        check=lambda current: _unchanged_since_shown(ctx, current, **edited),
        status=status,
        owner=owner,
        priority=priority,
        due_at=due_at,
    )
    back = return_to(ctx.form.get("back"))
    back = back if back.startswith("/actions") else "/actions"
    # a due date moved into the past, or an item reopened after it: the board says it, as the CLI and MCP do
    if (due_at or (status and reopened(item))) and past_due(item):
        back = back.partition("#")[0]
        back += ("&" if "?" in back else "?") + urlencode({PAST_DUE: item.id})
    view = dict(parse_qsl(urlsplit(back).query))
    if not _in_view(item, view.get("owner") or None, view.get("status") or None):  # its card is not there to land on
        back = back.partition("#")[0]
        back += ("&" if "?" in back else "?") + urlencode({LEFT: item.id})
    return RedirectResponse(f"{back}#{item.id}", status_code=303)


def _past_due_note(ctx: Ctx) -> str | None:
    """What the board says of the item whose due date a save just moved into the past (`?past_due=AI-n`): that it is
    overdue already, while it still is."""
    named = ctx.params.get(PAST_DUE, "")
    if not re.fullmatch(r"AI-\d{1,12}", named):
        return None
    try:
        return past_due(ctx.service.get_action_item(named))
    except (ActionItemNotFound, InvalidId):
        return None


def _in_view(item: ActionItem, owner: str | None, one: str | None) -> bool:
    """Whether the board filtered by `owner` (ignoring case, as the filter matches) and `one` status shows `item`."""
    return (one is None or item.status == one) and (owner is None or owner_key(item.owner or "") == owner_key(owner))


def _left(ctx: Ctx, owner: str | None, one: str | None) -> ActionItem | None:
    """The item a save just took out of this view (`?left=AI-n`), to say where it went, while it is still out."""
    named = ctx.params.get(LEFT, "")
    if not re.fullmatch(r"AI-\d{1,12}", named):
        return None
    try:
        item = ctx.service.get_action_item(named)
    except (ActionItemNotFound, InvalidId):
        return None
    return None if _in_view(item, owner, one) else item


def _unchanged_since_shown(ctx: Ctx, item: ActionItem, **edited: str | None) -> None:
    """Refuse (409) a field the person changed on the card when someone else changed that same field since the card
    was shown (another tab, a colleague, the command line): saving would overwrite their change unseen. A field set
    to what it now is already is no conflict; nothing is saved when one field conflicts. `item` is as the save reads
    it (in its compare-and-set), so a change landing after this check cannot be written over either."""
    now = {
        "status": item.status,
        "owner": item.owner or "",
        "priority": item.priority,
        "due": item.due_at.strftime("%Y-%m-%d") if item.due_at else "",
    }
    for name, value in edited.items():
        if value is None or f"shown_{name}" not in ctx.form:
            continue
        current = _one_line(now[name])
        if _one_line(ctx.form[f"shown_{name}"]) != current and _one_line(value) != current:
            was = now[name] or ("unassigned" if name == "owner" else "no date")
            raise reads.EditConflict(
                f"{item.id}'s {name} was changed to {was} after this card was shown, so your change of it was not "
                "saved (nor the rest of the card): look at the board again, then make your change there."
            )


def _due(given: str | None) -> datetime | str | None:
    """A due date read as `postmortem actions --due` reads it (a day is due by its end, UTC; a time as given), refused
    in the same words; "" takes the date off, None leaves it."""
    if not given:
        return given
    try:
        return ActionItemCreate.model_validate({"title": "due date", "due_at": given}).due_at
    except ValidationError as e:
        raise reads.FormError("invalid input: " + validation_problems(e, names={"due_at": "Due"})) from None


def _edited(ctx: Ctx, name: str, value: str | None) -> str | None:
    """The value, or None when it is what the card showed (`shown_<name>`): the person left that field alone. An
    emptied owner is "", which the service takes as "no owner" (None would leave the owner as it is)."""
    if f"shown_{name}" in ctx.form and _one_line(value or "") == _one_line(ctx.form[f"shown_{name}"]):
        return None
    return value


def _one_line(value: str) -> str:
    """A value as a card's one-line box holds it and the form reads it back: a browser drops line breaks from such a
    box (and posts a hidden field's as CRLF), the form reads runs of spaces as one. Compared as stored, an owner of
    two spaces in a row or a line break never matched its own card, and every save of that card was refused as
    changed meanwhile."""
    return " ".join(value.replace("\r", "").replace("\n", "").split())


def dashboard(ctx: Ctx) -> Rendered:
    effects = _effectiveness(ctx)
    d = ctx.cached("dashboard", lambda: figures(ctx.service, now=utcnow(), effectiveness=effects))
    shown = [e for e in d.effectiveness.patterns if e.items][:15]
    pictures = {
        "weekly": charts.stacked_columns(d.weeks, d.per_category, label="Incidents per category per week"),
        "severity": charts.hbars(
            [(s, [n]) for s, n in d.severity.items()], series=["incidents"], label="Severity mix of these incidents"
        ),
        "mitigate": charts.hbars(
            [(k, [s.median_h or 0, s.p90_h or 0]) for k, s in d.mitigate.items()],
            series=["median", "p90"],
            label="Hours from capture to mitigation, median and p90",
            unit=" h",
        ),
        "resolve": charts.hbars(
            [(k, [s.median_h or 0, s.p90_h or 0]) for k, s in d.resolve.items()],
            series=["median", "p90"],
            label="Hours from capture to resolution, median and p90",
            unit=" h",
        ),
        "owners": charts.hbars(
            [(o, [done, late]) for o, _, done, late in d.owners],
            series=["completed", "overdue"],
            label="Action items completed and overdue by owner",
        ),
        "recurrence": charts.hbars(
            [(f"{e.pattern_id} {e.label}", [e.incidents_before, e.incidents_after]) for e in shown if not e.undated],
            series=["before the fix", "after the fix"],
            label="Incidents of each pattern before and after its last action item closed",
        ),
    }
    return Rendered("dashboard.html.j2", {"d": d, "charts": pictures, "effects": shown})


def routes(web: Web) -> list[Route]:
    return [
        Route("/patterns", page(web, patterns), methods=["GET"]),
        Route("/actions", page(web, board), methods=["GET"]),
        Route("/actions/{action_id}", page(web, change_item, post=True), methods=["POST"]),
        Route("/dashboard", page(web, dashboard), methods=["GET"]),
    ]
