"""`track` on draft_analysis and record_analysis: the MCP counterpart of `postmortem draft --track`, which tracks the
proposed action items of the stored draft (an item an open one repeats is not tracked twice)."""

from pathlib import Path

import pytest
from mcp import Client

from agent_postmortem.mcp.server import create_server
from tests.factories import CAPTURE, FakeLLM, draft, make_service

pytestmark = pytest.mark.anyio


async def test_a_draft_with_track_tracks_its_proposed_items_once_as_the_cli_does(tmp_path: Path) -> None:
    """Only the CLI could track a draft's proposed items: a client had to add each one with add_action_item."""
    service = make_service(tmp_path, llm=FakeLLM(draft(), draft()))
    async with Client(create_server(lambda: service), raise_exceptions=True) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        first = await client.call_tool("draft_analysis", {"incident_id": incident_id, "track": True})
        assert not first.is_error, first.content
        [tracked] = first.structured_content["tracked"]  # type: ignore[index]
        assert tracked["id"] == "AI-1" and tracked["title"] == draft().action_items[0].title
        assert tracked["incident_id"] == incident_id and tracked["priority"] == "P1"
        again = await client.call_tool("draft_analysis", {"incident_id": incident_id, "track": True})
        assert again.structured_content["tracked"] == []  # type: ignore[index]  # open AI-1 repeats it
        assert again.structured_content["action_items"][0]["duplicate_of"] == "AI-1"  # type: ignore[index]
        written = draft().model_dump_json()
        recorded = await client.call_tool(
            "record_analysis", {"incident_id": incident_id, "analysis_json": written, "track": True}
        )
        assert recorded.structured_content["tracked"] == []  # type: ignore[index]
        items = (await client.call_tool("list_action_items", {})).structured_content["items"]  # type: ignore[index]
    assert [i["id"] for i in items] == ["AI-1"]


async def test_without_track_nothing_is_tracked_and_an_unknown_id_is_the_same_error(tmp_path: Path) -> None:
    service = make_service(tmp_path, llm=FakeLLM(draft()))
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        written = draft().model_dump_json()
        plain = await client.call_tool("record_analysis", {"incident_id": incident_id, "analysis_json": written})
        assert "tracked" not in plain.structured_content  # type: ignore[operator]
        assert (await client.call_tool("list_action_items", {})).structured_content["items"] == []  # type: ignore[index]
        untracked = await client.call_tool("draft_analysis", {"incident_id": "INC-999"})
        unknown = await client.call_tool("draft_analysis", {"incident_id": "INC-999", "track": True})
    assert unknown.is_error and unknown.content == untracked.content


async def test_track_is_described_to_the_calling_model(tmp_path: Path) -> None:
    async with Client(create_server(lambda: make_service(tmp_path))) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("draft_analysis", "record_analysis"):
        track = tools[name].input_schema["properties"]["track"]
        assert {"type": "boolean"} in track.get("anyOf", [track]) and track["default"] is False
        assert "action items" in track["description"] and "track" in (tools[name].description or "")
