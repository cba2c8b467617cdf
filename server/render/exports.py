"""Action items out of the tool: JSON, CSV (spreadsheets, trackers) and GitHub-issue-ready Markdown."""

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from agent_postmortem.analysis.effectiveness import span
from agent_postmortem.render.markdown import code, inline
from agent_postmortem.store.models import ActionItem

END_OF_DAY = time(23, 59, 59)  # a due date given as a day is due then (store/models/fields.py DueBy)

FIELDS = (
    "id",
    "incident_id",
    "title",
    "owner",
    "priority",
    "status",
    "due_at",
    "overdue",
    "created_at",
    "completed_at",
)


def due_text(due: datetime | None, *, none: str = "no date") -> str:
    """A due date as people read it: a day given (due at its end, 23:59:59 UTC) as that day, a time given with its
    time in UTC ("2026-12-05 20:00 UTC"): as a bare day it read as the end of that day, hours late, or another day."""
    if due is None:
        return none
    return f"{due:%Y-%m-%d}" if due.time() == END_OF_DAY else f"{due:%Y-%m-%d %H:%M} UTC"


def completion(item: ActionItem) -> str | None:
    """When a completed item was completed (UTC) and whether that was on time: "completed 2026-11-26 00:00 UTC, 1.5
    days late"; None for an item not completed. `[x] completed` alone told neither."""
    if item.status != "completed":
        return None
    if item.completed_at is None:
        return "completed on a date not recorded"
    done = f"completed {item.completed_at:%Y-%m-%d %H:%M} UTC"
    if item.due_at is None:
        return done
    late = item.completed_at - item.due_at
    return f"{done}, {span(late)} late" if late > timedelta(0) else f"{done}, on time"


def overdue_by(item: ActionItem, now: datetime) -> str | None:
    """How long an overdue item is past its due date at `now` ("3.5 days"); None for one that is not overdue."""
    return span(now - item.due_at) if item.overdue and item.due_at is not None else None


def progress(item: ActionItem, now: datetime) -> str:
    """An item's status with its dates: "completed 2026-11-26 00:00 UTC, 1.5 days late", "open, OVERDUE by 3.5 days"
    (by `now`); the report, the Markdown export and the CLI's table say it alike."""
    late = overdue_by(item, now)
    return completion(item) or (f"{item.status}, OVERDUE by {late}" if late else item.status)


def to_json(items: Sequence[ActionItem]) -> str:
    return json.dumps([item.model_dump(mode="json", include=set(FIELDS)) for item in items], indent=2)


def to_csv(items: Sequence[ActionItem]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for item in items:
        row = item.model_dump(mode="json", include=set(FIELDS))
        # a cell starting with = + - @ is a formula to spreadsheet programs: keep incident text inert
        writer.writerow({k: f"'{v}" if isinstance(v, str) and v[:1] in "=+-@\t\r" else v for k, v in row.items()})
    return buffer.getvalue()


def to_github_markdown(items: Sequence[ActionItem], *, now: datetime) -> str:
    """One issue per item: a `### title` line, then a body that can be pasted into a new GitHub issue; how late an
    item is, by `now`."""
    blocks = []
    for item in items:
        due = due_text(item.due_at)
        blocks.append(  # every stored value escaped for where it lands (server/render/markdown.py), pinging no one
            f"### [{item.priority}] {inline(item.title)}\n\n"
            f"- Incident: {inline(item.incident_id)} "
            f"(see its post-mortem: {code(f'postmortem report {item.incident_id}')})\n"
            f"- Action item: {inline(item.id)}, status {progress(item, now)}\n"
            f"- Owner: {inline(item.owner or 'unassigned')}\n- Due: {due}\n\n"
            f"- [ ] Done when the change is merged and verified against the incident's reproduction.\n"
        )
    return "\n".join(blocks)


def export(items: Sequence[ActionItem], format: str, *, now: datetime) -> str:
    """The items as "json", "csv" or "markdown"; `now` dates how late the Markdown says an item is."""
    if format == "markdown":
        return to_github_markdown(items, now=now)
    return {"json": to_json, "csv": to_csv}[format](items)
