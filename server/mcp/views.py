"""An incident as the MCP tools and the `incident://` resource give it: the record, with the timeline's repeated
"Occurred again" notes folded into a count. Each repeat of a known failure adds one such note (the SDK's Recorder
captures every failure of an agent in a retry loop), and the record carried all of them: 1,500 repeats made
`get_incident` 252 KB, and every `add_timeline_event` or `resolve_incident` answer as long, in the calling model's
context. `occurrences` and `last_seen_at` say the same; the notes are kept in the store (the report and the CLI
fold them too: server/render/timeline.py)."""

import json
from typing import TYPE_CHECKING, Any

from mcp.types import CallToolResult, TextContent

from agent_postmortem.render.timeline import KEPT_REPEATS, is_repeat

if TYPE_CHECKING:
    from agent_postmortem.store.models import Incident


def incident_data(incident: "Incident") -> dict[str, Any]:
    data = incident.model_dump(mode="json")
    timeline: list[dict[str, Any]] = data.get("timeline") or []
    repeats = [n for n, e in enumerate(incident.timeline) if is_repeat(e)]
    folded = set(repeats[:-KEPT_REPEATS]) if len(repeats) > KEPT_REPEATS else set()
    if folded:
        data["timeline"] = [e for n, e in enumerate(timeline) if n not in folded]
        data["timeline_folded"] = (
            f"{len(folded)} earlier 'Occurred again' notes are left out here (the latest {KEPT_REPEATS} are shown; "
            "occurrences and last_seen_at count them all; the store keeps every note)"
        )
    return data


def incident_result(incident: "Incident") -> CallToolResult:
    data = incident_data(incident)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def incident_json(incident: "Incident") -> str:
    return json.dumps(incident_data(incident), indent=2, ensure_ascii=False)
