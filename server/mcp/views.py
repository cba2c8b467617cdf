"""An incident as the MCP tools and the `incident://` resource give it: the record, with the timeline's repeated
"Occurred again" notes folded into a count. Each repeat of a known failure adds one such note (the SDK's Recorder
captures every failure of an agent in a retry loop), and the record carried all of them: 1,500 repeats made
`get_incident` 252 KB, and every `add_timeline_event` or `resolve_incident` answer as long, in the calling model's
context. `occurrences` and `last_seen_at` say the same; the notes are kept in the store (the report and the CLI
fold them too: server/render/timeline.py). Of the other events, the first and the latest KEPT_EVENTS are given."""

import json
from typing import TYPE_CHECKING, Any

from mcp.types import CallToolResult, TextContent

from agent_postmortem.render.timeline import KEPT_REPEATS, is_repeat

if TYPE_CHECKING:
    from agent_postmortem.store.models import Incident


UNDATED = "completion date unknown (completed on a date not recorded)"
# the latest events an answer carries besides the first: an incident a bot narrated all day (400 events) made
# get_incident, and each add_timeline_event answer, 930 KB, more than a client takes from one tool call
KEPT_EVENTS = 30
ITEM_KEYS = frozenset({"status", "completed_at", "priority", "incident_id"})


def with_undated(data: Any) -> None:
    """Make every completed action item in `data` (a result as JSON) that has no completion date say so in
    `completed_at_note`: the tools gave such an item (imported as completed without a date) `completed_at: null`
    alone, which reads as "not completed" or "completed just now", where the CLI and reports say the date is unknown.
    """
    if isinstance(data, list):
        for value in data:
            with_undated(value)
    elif isinstance(data, dict):
        if ITEM_KEYS <= data.keys() and data["status"] == "completed" and data["completed_at"] is None:
            data["completed_at_note"] = UNDATED
        for value in data.values():
            with_undated(value)


def incident_data(incident: "Incident") -> dict[str, Any]:
    data = incident.model_dump(mode="json")
    with_undated(data)
    timeline: list[dict[str, Any]] = data.get("timeline") or []
    repeats = [n for n, e in enumerate(incident.timeline) if is_repeat(e)]
    folded = set(repeats[:-KEPT_REPEATS]) if len(repeats) > KEPT_REPEATS else set()
    shown = [n for n in range(len(timeline)) if n not in folded]
    older = set(shown[1:-KEPT_EVENTS]) if len(shown) > KEPT_EVENTS + 1 else set()
    notes = []
    if folded:
        notes.append(
            f"{len(folded)} earlier 'Occurred again' notes are left out here (the latest {KEPT_REPEATS} are shown; "
            "occurrences and last_seen_at count them all; the store keeps every note)"
        )
    if older:
        notes.append(
            f"{len(older)} earlier events are left out here (the first and the latest {KEPT_EVENTS} are shown); "
            "render_report and the report:// resource give the whole timeline"
        )
    if notes:
        data["timeline"] = [e for n, e in enumerate(timeline) if n not in folded | older]
        data["timeline_folded"] = "; ".join(notes)
    return data


def incident_result(incident: "Incident") -> CallToolResult:
    data = incident_data(incident)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def incident_json(incident: "Incident") -> str:
    return json.dumps(incident_data(incident), indent=2, ensure_ascii=False)
