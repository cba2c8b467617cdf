"""`postmortem` commands that close the loop: action items, fix effectiveness, runbooks and regression cases."""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from server.cli_common import JsonOpt, emit, err, out, service, user_errors
from store.models import ActionItemCreate

ACTION_STATUSES = ("open", "in_progress", "completed")


def actions(
    incident: str | None = None,
    owner: str | None = None,
    status: str | None = None,
    overdue: bool = False,
    add: Annotated[str | None, typer.Option(help="add an item with this title (needs --incident)")] = None,
    priority: Annotated[str | None, typer.Option(help="P0, P1 or P2")] = None,
    due: Annotated[str | None, typer.Option(help="due date, ISO 8601")] = None,
    title: Annotated[str | None, typer.Option(help="new title (with --item)")] = None,
    set_status: Annotated[str | None, typer.Option(help="open, in_progress or completed (with --item)")] = None,
    item: Annotated[str | None, typer.Option(help="the item id to update or show")] = None,
    by: Annotated[str | None, typer.Option(help="who makes the change (kept in the item's history)")] = None,
    stats: Annotated[bool, typer.Option(help="completion overall, per owner, priority and pattern")] = False,
    export: Annotated[str | None, typer.Option(help="print the listed items as json, csv or markdown")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List action items (by incident, owner, status, overdue); add one (--incident --add); show one with its
    history (--item) or change it (--item with --set-status/--owner/--priority/--due/--title); --stats."""
    with user_errors():
        svc = service()
        if set_status is not None and set_status not in ACTION_STATUSES:
            raise ValueError("--set-status must be open, in_progress or completed")
        if add is not None:
            if incident is None:
                raise ValueError("--add needs --incident")
            data = ActionItemCreate.model_validate(
                {"title": add, "owner": owner, "priority": priority or "P1", "due_at": due}
            )
            emit(svc.add_action_item(incident, data, by=by), True)
            return
        if item is not None:
            _change_item(svc, item, by=by, status=set_status, owner=owner, priority=priority, title=title, due=due)
            return
        if stats:
            emit(svc.action_item_stats(), True)
            return
        result = svc.list_action_items(
            incident_id_=incident, owner=owner, status=status, overdue=overdue, limit=10_000 if export else 50
        )
        if export is not None:
            from server.exports import FORMATS

            if export not in FORMATS:
                raise ValueError(f"--export must be one of {', '.join(FORMATS)}")
            sys.stdout.write(FORMATS[export](result.items))
            return
    if not emit(result, as_json):
        from server.view import actions_table

        out.print(actions_table(result.items))


def _change_item(svc: Any, item: str, *, by: str | None, due: str | None, **changes: str | None) -> None:
    """Apply the given changes (validated like a new item) and print the item; with none, print it with history."""
    values: dict[str, Any] = {k: v for k, v in changes.items() if v is not None}
    if due is not None:
        values["due_at"] = due
    if not values:
        emit(svc.get_action_item(item), True)
        return
    checked = ActionItemCreate.model_validate({"title": "unchanged", **values})
    emit(svc.update_action_item(item, by=by, **{k: getattr(checked, k) for k in values}), True)


def effectiveness(min_size: int = 3, as_json: JsonOpt = False) -> None:
    """Did the fixes hold? Per recurring pattern: incidents before and after its last action item closed."""
    with user_errors():
        result = service().fix_effectiveness(min_size=max(2, min(min_size, 100)))
    if emit(result, as_json):
        return
    table = Table("pattern", "items done", "fixed on", "before", "after", "per 30 d before/after", "verdict")
    for p in result.patterns:
        rates = f"{p.per_30_days_before} / {p.per_30_days_after}" if p.last_closed_at else "-"
        fixed_on = f"{p.last_closed_at:%Y-%m-%d}" if p.last_closed_at else "-"
        table.add_row(
            escape(f"{p.pattern_id} {p.label}"),
            f"{p.completed}/{p.items}",
            fixed_on,
            str(p.incidents_before),
            str(p.incidents_after + p.seen_again_after),
            rates,
            escape(p.verdict),
        )
    out.print(table)
    out.print(
        f"holding {result.holding} · recurred after fix {result.recurred} · in progress {result.in_progress} · "
        f"no items {result.without_items}"
    )


def runbook(
    key: Annotated[str, typer.Argument(help="a category (e.g. rate_limit) or a pattern id (PAT-n)")],
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Render the runbook entry of a category or recurring pattern, from its analysed incidents."""
    from server.report import render_runbook

    with user_errors():
        entry = service().runbook(key)
        if emit(entry, as_json):
            return
        _write(render_runbook(entry), output)


def learn(
    incident_id: Annotated[str | None, typer.Argument(help="an analysed incident; omit with --all")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every analysed incident")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="write runbooks/*.md and evals/*.json here")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Turn completed post-mortems into runbook entries and regression eval cases (printed, or written as files)."""
    from server.report import render_runbook

    with user_errors():
        svc = service()
        if all_ == (incident_id is not None):
            raise ValueError("give an incident id or --all")
        if incident_id is not None:
            learned = svc.learn(incident_id)
            cases, entries = [learned.eval_case], [learned.runbook]
        else:
            cases, entries = svc.learn_all()
        if out_dir is None:
            if not emit(
                {
                    "eval_cases": [c.model_dump(mode="json") for c in cases],
                    "runbooks": [e.model_dump(mode="json") for e in entries],
                },
                as_json,
            ):
                for entry in entries:
                    sys.stdout.write(render_runbook(entry) + "\n")
                for case in cases:
                    sys.stdout.write(case.model_dump_json(indent=2) + "\n")
            return
        (out_dir / "runbooks").mkdir(parents=True, exist_ok=True)
        (out_dir / "evals").mkdir(parents=True, exist_ok=True)
        for entry in entries:
            (out_dir / "runbooks" / f"{entry.key}.md").write_text(render_runbook(entry), encoding="utf-8")
        for case in cases:
            (out_dir / "evals" / f"{case.id}.json").write_text(case.model_dump_json(indent=2) + "\n", encoding="utf-8")
        lines = "".join(case.model_dump_json() + "\n" for case in cases)
        (out_dir / "evals" / "regressions.jsonl").write_text(lines, encoding="utf-8")
        err.print(f"wrote {len(entries)} runbook entries and {len(cases)} regression cases under {out_dir}")


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")


COMMANDS = (actions, effectiveness, runbook, learn)
