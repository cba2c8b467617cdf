"""An assistant's whole workflow over MCP, as Claude Desktop or an IDE drives it: capture a failure from a public
post-mortem's text, look up similar incidents, read resources and prompts, draft, review, track items, render and
learn; every answer something a model can act on."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CreateMessageRequestParams, ErrorData

from agent_postmortem.ingest.jsonl import read_incidents
from tests.factories import CAPTURE, MODES, SEED, draft, make_service, server_for
from tests.processes import stdio_server

pytestmark = pytest.mark.anyio


@MODES
async def test_a_query_that_is_only_an_incident_id_finds_that_incidents_neighbours(tmp_path: Path, mode: str) -> None:
    """As found over stdio: an assistant holding INC-46 searched with query "INC-46" (not incident_id); the words
    matched the number 46 in another incident's text, and on an empty base the incident itself came back."""
    service = make_service(tmp_path)
    service.import_incidents(read_incidents(SEED))
    async with Client(server_for(service), mode=mode) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        by_query = await client.call_tool("search_incidents", {"query": f" {incident_id.lower()} "})
        by_id = await client.call_tool("search_incidents", {"incident_id": incident_id})
        missing = await client.call_tool("search_incidents", {"query": "INC-99999"})
    hits = [h["id"] for h in by_query.structured_content["hits"]]  # type: ignore[index]
    assert hits == [h["id"] for h in by_id.structured_content["hits"]] and incident_id not in hits  # type: ignore[index]
    assert by_query.structured_content["query"] == CAPTURE["title"]  # type: ignore[index]
    assert missing.is_error and "list_incidents or search_incidents" in json.dumps(missing.content[0].text)  # type: ignore[union-attr]


@MODES
async def test_a_due_date_that_is_not_iso_8601_says_what_to_send(tmp_path: Path, mode: str) -> None:
    """As found with the Inspector CLI: `due_at="next week"` answered pydantic's "Input should be a valid datetime
    or date, input is too short", which says neither the format nor an example."""
    service = make_service(tmp_path)
    async with Client(server_for(service), mode=mode) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        add = {"incident_id": incident_id, "title": "Alert on subnet IP use", "due_at": "next week"}
        added = await client.call_tool("add_action_item", add)
        item = await client.call_tool("add_action_item", {**add, "due_at": "2027-01-10"})
        item_id = item.structured_content["id"]  # type: ignore[index]
        updated = await client.call_tool("update_action_item", {"action_id": item_id, "due_at": "tomorrow"})
    for answer in (added, updated):
        text = answer.content[0].text  # type: ignore[union-attr]
        assert answer.is_error and "due_at must be an ISO 8601 date or time, e.g. 2026-11-27" in text, text
        assert "too short" not in text and "next week" not in text and "tomorrow" not in text
    assert item.structured_content["due_at"].startswith("2027-01-10T23:59:59")  # type: ignore[index]


@pytest.mark.slow
async def test_one_stdio_session_from_capture_to_a_learned_regression_case_with_a_client_that_declines_sampling(
    tmp_path: Path,
) -> None:
    """The real `postmortem serve` in the handshake era, as Claude Desktop drives it, its user declining the sampling
    request: every step answers with something the next step can use."""

    async def decline(context: Any, params: CreateMessageRequestParams) -> ErrorData:
        return ErrorData(code=-1, message="User rejected sampling request")

    async with Client(
        stdio_server(tmp_path, {"POSTMORTEM_LLM": "auto"}), mode="legacy", sampling_callback=decline
    ) as c:
        incident_id = (await c.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        found = await c.call_tool("search_incidents", {"query": incident_id})
        asked = await c.call_tool("draft_analysis", {"incident_id": incident_id})
        await c.call_tool("record_analysis", {"incident_id": incident_id, "analysis_json": draft().model_dump_json()})
        await c.call_tool("review_analysis", {"incident_id": incident_id, "decision": "accept", "by": "lee"})
        item = await c.call_tool("add_action_item", {"incident_id": incident_id, "title": "Cap retries", "due_at": "x"})
        learned = await c.call_tool("learn_from_incident", {"incident_id": incident_id})
        case = await c.read_resource(f"evalcase://{incident_id}")
    assert not found.is_error and found.structured_content["query"] == CAPTURE["title"]  # type: ignore[index]
    assert asked.structured_content["status"] == "write_it_yourself"  # type: ignore[index]
    assert "did not answer the first sampling request (User rejected sampling request)" in asked.content[0].text  # type: ignore[union-attr]
    assert item.is_error and "due_at must be an ISO 8601 date" in item.content[0].text  # type: ignore[union-attr]
    assert not learned.is_error and json.loads(case.contents[0].text)["incident_id"] == incident_id  # type: ignore[union-attr]


def _unstamped(text: str) -> str:
    return re.sub(r"Rendered \d{4}-\d\d-\d\d \d\d:\d\d UTC", "Rendered", text)


@MODES
async def test_render_report_gives_the_html_file_to_a_client_that_reads_no_resources(tmp_path: Path, mode: str) -> None:
    """As found: an assistant asked render_report for HTML (format="html") and was told the tool takes only
    incident_id and kind; the HTML file was reachable only as the report-html:// resource, which many clients that
    call tools never read."""
    service = make_service(tmp_path)
    async with Client(server_for(service), mode=mode) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        html = await client.call_tool("render_report", {"incident_id": incident_id, "format": "html"})
        resource = await client.read_resource(f"report-html://{incident_id}")
    assert not html.is_error and html.structured_content["format"] == "html"  # type: ignore[index]
    # the two renderings may fall either side of a minute: only their "Rendered <time> UTC" line may differ
    assert _unstamped(html.structured_content["text"]) == _unstamped(resource.contents[0].text)  # type: ignore[index,union-attr]
    assert html.structured_content["text"].startswith("<!doctype html>")  # type: ignore[index]
