"""Action items out of the tool: JSON, CSV (spreadsheets, trackers) and GitHub-issue-ready Markdown."""

import csv
import io
import json
from collections.abc import Sequence

from agent_postmortem.render.markdown import code, inline
from agent_postmortem.store.models import ActionItem

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


def to_github_markdown(items: Sequence[ActionItem]) -> str:
    """One issue per item: a `### title` line, then a body that can be pasted into a new GitHub issue."""
    blocks = []
    for item in items:
        due = item.due_at.strftime("%Y-%m-%d") if item.due_at else "no date"
        blocks.append(  # every stored value escaped for where it lands (server/render/markdown.py)
            f"### [{item.priority}] {inline(item.title)}\n\n"
            f"- Incident: {inline(item.incident_id)} "
            f"(see its post-mortem: {code(f'postmortem report {item.incident_id}')})\n"
            f"- Action item: {inline(item.id)}, status {item.status}{' (OVERDUE)' if item.overdue else ''}\n"
            f"- Owner: {inline(item.owner or 'unassigned')}\n- Due: {due}\n\n"
            f"- [ ] Done when the change is merged and verified against the incident's reproduction.\n"
        )
    return "\n".join(blocks)


FORMATS = {"json": to_json, "csv": to_csv, "markdown": to_github_markdown}
