"""An incident as the MCP tools and resource give it, for a failure that repeats."""

import json

import pytest
from mcp import Client

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import TimelineEventCreate
from tests.factories import capture, server_for

pytestmark = pytest.mark.anyio


async def test_a_failure_repeated_many_times_gives_a_record_of_bounded_size(service: PostmortemService) -> None:
    """Each repeat of a known failure adds an "Occurred again" note; the record carried all of them, so an agent
    failing in a retry loop 1,500 times made get_incident 252 KB, and each add_timeline_event and resolve_incident
    answer as long. The notes beyond the latest few are folded into a sentence that says so; other events stay."""
    incident_id = capture(service)
    for _ in range(199):
        assert capture(service) == incident_id
    async with Client(server_for(service)) as client:
        await client.call_tool("add_timeline_event", {"incident_id": incident_id, "description": "Paged on-call"})
        got = await client.call_tool("get_incident", {"incident_id": incident_id})
        resolved = await client.call_tool("resolve_incident", {"incident_id": incident_id, "note": "quota raised"})
        resource = await client.read_resource(f"incident://{incident_id}")
    record = got.structured_content
    assert record is not None and record["occurrences"] == 200
    descriptions = [e["description"] for e in record["timeline"]]
    assert sum(d.startswith("Occurred again: ") for d in descriptions) == 3 and "Paged on-call" in descriptions
    assert record["timeline_folded"].startswith("196 earlier 'Occurred again' notes are left out here")
    assert len(got.content[0].text) < 8_000 and json.loads(got.content[0].text) == record  # type: ignore[union-attr]
    assert resolved.structured_content is not None and len(resolved.content[0].text) < 8_000  # type: ignore[union-attr]
    assert resolved.structured_content["status"] == "resolved"
    assert json.loads(resource.contents[0].text)["timeline_folded"] == record["timeline_folded"]  # type: ignore[union-attr]
    assert len(service.get_incident(incident_id).timeline) == 202  # the store keeps every note


async def test_an_incident_narrated_event_by_event_gives_a_record_of_bounded_size(service: PostmortemService) -> None:
    """An incident a bot narrated all day (400 events of up to 2,000 characters, one every few minutes) made
    get_incident and the incident:// resource 930 KB, and each add_timeline_event answer grew as long: more than a
    client takes from one tool call. The first event and the latest 30 are given; the rest are counted, with where
    the whole timeline is read."""
    incident_id = capture(service)
    for n in range(400):
        service.add_timeline_event(
            incident_id, TimelineEventCreate(description=f"status {n}: " + "still degraded, retrying the sync. " * 55)
        )
    async with Client(server_for(service)) as client:
        added = await client.call_tool("add_timeline_event", {"incident_id": incident_id, "description": "Paged"})
        got = await client.call_tool("get_incident", {"incident_id": incident_id})
        resource = await client.read_resource(f"incident://{incident_id}")
        report = await client.call_tool("render_report", {"incident_id": incident_id})
        described = next(t for t in (await client.list_tools()).tools if t.name == "get_incident")
    record = got.structured_content
    assert record is not None and not added.is_error
    descriptions = [e["description"] for e in record["timeline"]]
    assert len(descriptions) == 31 and descriptions[0].startswith("Captured: ") and descriptions[-1] == "Paged"
    assert descriptions[1].startswith("status 371: ")
    assert record["timeline_folded"] == (
        "371 earlier events are left out here (the first and the latest 30 are shown); render_report and the "
        "report:// resource give the whole timeline"
    )
    assert len(got.content[0].text) < 80_000 and len(added.content[0].text) < 80_000  # type: ignore[union-attr]
    assert json.loads(resource.contents[0].text) == record  # type: ignore[union-attr]
    assert "status 0: " in report.structured_content["text"]  # type: ignore[index]
    assert "timeline_folded counts the rest" in (described.description or "")
    assert len(service.get_incident(incident_id).timeline) == 402  # the store keeps every event
