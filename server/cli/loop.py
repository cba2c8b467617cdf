"""`postmortem` commands that close the loop: action items, fix effectiveness, runbooks and regression cases, and
fix verification (the blameless-language check is server/cli/blameless.py). Registered by server/cli/app.py from
COMMANDS."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent_postmortem.cli.access import reading, stored_service, why_empty
from agent_postmortem.cli.common import (
    ACTION_STATUSES,
    PRIORITIES,
    ItemLimit,
    JsonOpt,
    MinSize,
    Offset,
    Output,
    choice,
    emit,
    err,
    more_note,
    out,
    user_errors,
)
from agent_postmortem.cli.options import PatternLimit, more_patterns
from agent_postmortem.cli.output import deliver, write, write_json

if TYPE_CHECKING:
    from rich.console import RenderableType

EXPORTS = ("json", "csv", "markdown")
EXPORT_LIMIT = 10_000  # items an export prints when no --limit is given


def actions(
    incident: Annotated[str | None, typer.Option(help="only this incident's items; the incident to add one to")] = None,
    owner: Annotated[
        str | None,
        typer.Option(help='filter by owner (ignoring case); the owner to set (with --item, --add); "" for none'),
    ] = None,
    status: Annotated[str | None, choice(ACTION_STATUSES, help="only items in this status")] = None,
    overdue: Annotated[bool, typer.Option(help="only items past their due date and not done")] = False,
    add: Annotated[str | None, typer.Option(help="add an item with this title (needs --incident)")] = None,
    priority: Annotated[str | None, choice(PRIORITIES, help="only items of this priority; the priority to set")] = None,
    due: Annotated[str | None, typer.Option(help='due date, ISO 8601; "" takes it off (with --item)')] = None,
    title: Annotated[str | None, typer.Option(help="new title (with --item)")] = None,
    set_status: Annotated[str | None, choice(ACTION_STATUSES, help="the item's new status (with --item)")] = None,
    item: Annotated[str | None, typer.Option(help="the item id to update or show")] = None,
    by: Annotated[str | None, typer.Option(help="who makes the change (kept in the item's history)")] = None,
    stats: Annotated[bool, typer.Option(help="completion overall, per owner, priority and pattern")] = False,
    export: Annotated[str | None, choice(EXPORTS, help="print the listed items in this format")] = None,
    limit: ItemLimit = None,
    offset: Offset = 0,
    as_json: JsonOpt = False,
) -> None:
    """Track action items: list them, add one, show one with its history, or change it. List them by incident,
    owner, status, priority or overdue; add one (--incident --add); show one with its history (--item) or change it
    (--item with --set-status/--owner/--priority/--due/--title; --owner "" unassigns it, and lists the unassigned
    items without --item; --due "" takes its due date off); --stats for completion rates."""
    from agent_postmortem.cli.view import item_view

    changes = {"status": set_status, "owner": owner, "priority": priority, "title": title, "due_at": due}
    named = {"due_at": "--due", "owner": "--owner", "priority": "--priority", "status": "--set-status"}
    with user_errors({**named, "title": "--add" if add is not None else "--title"}):
        # without --item or --add, --priority is a filter of the list, as --owner is
        _check_target(add=add, item=item, set_status=set_status, due=due, title=title, by=by)
        if add is not None:
            result: Any = _add(add, incident, by=by, owner=owner, priority=priority, due=due)
        elif item is not None and any(v is not None for v in changes.values()):
            result = _change(item, by=by, changes=changes)
        else:
            filters: dict[str, Any] = {"incident_id": incident, "owner": owner, "status": status, "overdue": overdue}
            filters["priority"] = priority
            page = {"limit": limit or (EXPORT_LIMIT if export else 50), "offset": offset}  # an export: all, unless told
            result = _read(item, stats=stats, page=page, filters=filters)
    if export is not None and not (add or item or stats):
        _export(result.items, export)
        more_note(result.next_offset, "action items")
    elif not emit(result, as_json):
        if not getattr(result, "empty_because", None):  # an empty table's head on stdout read as a display fault
            out.print(_view(result) if add is None and item is None else item_view(result))
        more_note(getattr(result, "next_offset", None) if add is None and item is None else None, "action items")
    if not as_json:  # an empty table said nothing of why
        why_empty(getattr(result, "empty_because", None))


def _check_target(*, add: str | None, item: str | None, **edits: str | None) -> None:
    """A change with no item to change was ignored: `actions --set-status completed` listed every item, exit 0."""
    given = [f"--{name.replace('_', '-')}" for name, value in edits.items() if value is not None]
    if add is None and item is None and given:
        raise ValueError(f"{', '.join(given)}: give the item to change (--item AI-n), or --add TITLE --incident INC-n")
    if add is not None and (wrong := [g for g in given if g in ("--set-status", "--title")]):
        raise ValueError(f"{', '.join(wrong)}: a new item is open and titled by --add; change it after (--item AI-n)")


def _read(item: str | None, *, stats: bool, page: dict[str, int], filters: dict[str, Any]) -> Any:
    with reading() as svc:
        if item is not None:
            return svc.get_action_item(item)
        if stats:
            return svc.action_item_stats()
        return svc.list_action_items(**page, **filters)


def _view(result: Any) -> "RenderableType":
    from agent_postmortem.cli.actions_view import actions_table
    from agent_postmortem.cli.summary import action_stats_view
    from agent_postmortem.service.results import ActionStats

    return action_stats_view(result) if isinstance(result, ActionStats) else actions_table(result.items)


def _add(title: str, incident: str | None, *, by: str | None, **values: str | None) -> Any:
    from agent_postmortem.store.models import ActionItemCreate

    if incident is None:
        raise ValueError("--add needs --incident")
    data = ActionItemCreate.model_validate(
        {"title": title, "owner": values["owner"], "priority": values["priority"] or "P1", "due_at": values["due"]}
    )
    added = stored_service().add_action_item(incident, data, by=by)
    _say(added, owner=values["owner"], due=True)
    return added


def _change(item: str, *, by: str | None, changes: dict[str, str | None]) -> Any:
    """Apply the given changes, validated like a new item; an empty `--owner ""` unassigns the item and an empty
    `--due ""` takes its due date off."""
    from agent_postmortem.store.models import ActionItemCreate

    values = {k: v for k, v in changes.items() if v is not None}
    checked = ActionItemCreate.model_validate({"title": "unchanged", **values})
    edits = {k: getattr(checked, k) for k in values}
    for field in ("owner", "due_at"):
        if field in edits and edits[field] is None:
            edits[field] = ""  # the service's "none" (None there leaves the field as it is)
    changed = stored_service().update_action_item(item, by=by, **edits)
    # moved (not taken off) or reopened: a date already past is said, as when an item is added with one
    from agent_postmortem.service.followup import reopened

    moved = bool(edits.get("due_at")) or ("status" in edits and reopened(changed))
    _say(changed, owner=values.get("owner"), due=moved)
    return changed


def _say(item: Any, *, owner: str | None, due: bool) -> None:
    """A due date already past is kept (a follow-up recorded late is one), but the item is overdue at once; an owner
    given as an email address is stored redacted: say so."""
    from agent_postmortem.service.followup import said_of

    if note := said_of(item, owner=owner, due=due):
        err.print(f"note: {note}", markup=False)


def _export(items: list[Any], format: str) -> None:
    from agent_postmortem.render.exports import export
    from agent_postmortem.store.models import utcnow

    text = export(items, format, now=utcnow())  # the CLI's service reads this clock: overdue as listed
    if format == "json":
        write_json(text)
    else:
        write(text)


def effectiveness(min_size: MinSize = 3, limit: PatternLimit = 50, as_json: JsonOpt = False) -> None:
    """Did the fixes hold? Per recurring pattern: incidents before and after its last action item closed."""
    with user_errors(), reading() as svc:
        result = svc.fix_effectiveness(min_size=min_size, limit=limit)
    if emit(result, as_json):
        return
    if result.total:
        from agent_postmortem.cli.effectiveness import EffectivenessView

        out.print(EffectivenessView(result))
        more_patterns(result.total, len(result.patterns))
    else:  # a zero summary on stdout read as fixes measured
        err.print(_nothing_to_measure(min_size), markup=False)
    if result.note:
        err.print(f"note: {result.note}", markup=False)


def _nothing_to_measure(min_size: int) -> str:
    return (
        f"nothing to measure yet: no recurring pattern ({min_size} or more incidents that are the same failure); once "
        "one has its action items done (`postmortem actions --incident INC-n --add TITLE`, then `--item AI-n "
        "--set-status completed`), this compares its incidents before and after the fix"
    )


def runbook(
    key: Annotated[str, typer.Argument(help="a category (e.g. rate_limit) or a pattern id (PAT-n)")],
    output: Output = None,
    as_json: JsonOpt = False,
) -> None:
    """Render the runbook entry of a category or recurring pattern, from its analysed incidents."""
    from agent_postmortem.render.report import render_runbook

    with user_errors():
        with reading() as svc:
            entry = svc.runbook(key)
        deliver(entry, render_runbook(entry), output, as_json)


def learn(
    incident_id: Annotated[str | None, typer.Argument(help="an analysed incident; omit with --all")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every analysed incident")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="write runbooks/*.md and evals/*.json here")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Turn completed post-mortems into runbook entries and regression eval cases (printed, or written as files)."""
    from agent_postmortem.render.report import render_runbook

    with user_errors():
        if all_ == (incident_id is not None):
            raise ValueError("give an incident id or --all")
        with reading() as svc:
            if incident_id is not None:
                learned = svc.learn(incident_id)
                cases, entries = [learned.eval_case], [learned.runbook]
            else:
                cases, entries = svc.learn_all()
        if out_dir is not None:
            from agent_postmortem.cli.learned_files import write_learned

            write_learned(out_dir, cases, entries)
            return
    from agent_postmortem.cli.learned_files import say_skipped

    say_skipped(cases, "each case's JSON (written to a file with --out DIR)")
    data = {
        "eval_cases": [c.model_dump(mode="json") for c in cases],
        "runbooks": [e.model_dump(mode="json") for e in entries],
    }
    if not emit(data, as_json):
        for entry in entries:
            write(render_runbook(entry) + "\n")
        for case in cases:
            write_json(case.model_dump_json(indent=2) + "\n")


def verify_fix(
    before_failures: int,
    before_trials: int,
    after_failures: int,
    after_trials: int,
    target: Annotated[float, typer.Option(help="the failure rate the fix must stay below")] = 0.01,
    confidence: Annotated[float, typer.Option(help="how sure the verdict must be (0.95: 95%)")] = 0.95,
    deterministic: Annotated[
        bool, typer.Option(help="the same input always failed: one passing run after the fix decides")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Decide whether a fix worked, from failure counts before and after it: both failure rates, whether the drop is
    more than chance, a verdict, and how many more clean runs would show the rate is below --target."""
    from agent_postmortem.analysis.verify import verify_fix as verify
    from agent_postmortem.cli.summary import verification_view

    with user_errors():
        counts = (before_failures, before_trials, after_failures, after_trials)
        result = verify(*counts, target, confidence, deterministic=deterministic)
    if not emit(result, as_json):
        out.print(verification_view(result))


COMMANDS: list[tuple[str, Any]] = [
    ("actions", actions),
    ("effectiveness", effectiveness),
    ("learn", learn),
    ("runbook", runbook),
    ("verify-fix", verify_fix),
]
