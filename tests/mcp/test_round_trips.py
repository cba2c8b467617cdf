"""The MCP tools end to end in memory, in both protocol eras: capture, search and its filters, timeline, action
items, drafts, blameless wording and fix verification, each answer usable by the next call."""

import json
import time
from pathlib import Path

import pytest
from mcp import Client

from agent_postmortem.service.facade import PostmortemService
from tests.factories import CAPTURE, MODES, FakeLLM, draft, make_service, server_for

pytestmark = pytest.mark.anyio


@MODES
async def test_capture_returns_classification_and_then_finds_the_similar_incident(
    service: PostmortemService, mode: str
) -> None:
    async with Client(server_for(service), mode=mode) as client:
        first = await client.call_tool("capture_incident", CAPTURE)
        second = await client.call_tool(
            "capture_incident", {**CAPTURE, "title": CAPTURE["title"] + " again", "agent": "trip-planner-v2"}
        )
    assert not first.is_error and not second.is_error
    one, two = first.structured_content, second.structured_content
    assert one is not None and two is not None
    assert one["category"] == "rate_limit" and one["severity"] == "SEV3"
    assert one["novel"] is True and one["triage"] == "full"
    assert two["novel"] is False and two["triage"] == "lightweight"
    assert two["similar"][0]["id"] == one["id"]


@MODES
async def test_timeline_resolve_actions_and_report_round_trip(service: PostmortemService, mode: str) -> None:
    async with Client(server_for(service), mode=mode) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        await client.call_tool(
            "add_timeline_event",
            {"incident_id": incident_id, "kind": "escalated", "description": "Paged the platform on-call"},
        )
        resolved = await client.call_tool("resolve_incident", {"incident_id": incident_id, "note": "Backoff shipped"})
        item = await client.call_tool(
            "add_action_item",
            {
                "incident_id": incident_id,
                "owner": "platform",
                "title": "Add jittered backoff",
                "priority": "P0",
                "due_at": "2020-01-01",
            },
        )
        overdue = await client.call_tool("list_action_items", {"overdue": True})
        item_id = item.structured_content["id"]  # type: ignore[index]
        done = await client.call_tool("update_action_item", {"action_id": item_id, "status": "completed"})
        report = await client.call_tool("render_report", {"incident_id": incident_id})
        listed = await client.call_tool("list_incidents", {"status": "resolved"})
        fetched = await client.call_tool("get_incident", {"incident_id": incident_id})
        resource = await client.read_resource(f"report://{incident_id}")
        record = await client.read_resource(f"incident://{incident_id}")
    assert resolved.structured_content["status"] == "resolved"  # type: ignore[index]
    kinds = [e["kind"] for e in resolved.structured_content["timeline"]]  # type: ignore[index]
    assert kinds == ["detected", "escalated", "resolved"]
    assert [i["id"] for i in overdue.structured_content["items"]] == [item_id]  # type: ignore[index]
    assert done.structured_content["status"] == "completed"  # type: ignore[index]
    assert [i["id"] for i in listed.structured_content["incidents"]] == [incident_id]  # type: ignore[index]
    assert fetched.structured_content["action_items"][0]["status"] == "completed"  # type: ignore[index]
    assert done.structured_content["completed_at"] is not None  # type: ignore[index]
    text = report.structured_content["text"]  # type: ignore[index]
    assert "- [x] **P0** Add jittered backoff" in text and "Paged the platform on-call" in text
    assert resource.contents[0].text.split("Rendered ")[0] == text.split("Rendered ")[0]  # type: ignore[union-attr]
    assert json.loads(record.contents[0].text)["id"] == incident_id  # type: ignore[union-attr]


@MODES
async def test_draft_analysis_stores_a_draft_and_without_a_model_hands_over_the_context(
    tmp_path: Path, mode: str
) -> None:
    llm = FakeLLM(draft())
    with_llm = make_service(tmp_path / "a", llm=llm)
    without = make_service(tmp_path / "b", llm=None)
    async with Client(server_for(with_llm), mode=mode) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        result = await client.call_tool("draft_analysis", {"incident_id": incident_id})
    async with Client(server_for(without), mode=mode) as client:
        other = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        missing = await client.call_tool("draft_analysis", {"incident_id": other})
    assert not result.is_error
    assert result.structured_content["generated_by"] == "fake"  # type: ignore[index]
    assert result.structured_content["state"] == "draft"  # type: ignore[index]
    assert with_llm.get_incident(incident_id).analysis is not None
    assert not missing.is_error and missing.structured_content["status"] == "write_it_yourself"  # type: ignore[index]
    assert "OPENAI_BASE_URL" in missing.content[0].text and without.get_incident(other).analysis is None  # type: ignore[union-attr]


@MODES
async def test_search_paginates_and_filters(service: PostmortemService, mode: str) -> None:
    async with Client(server_for(service), mode=mode) as client:
        for n in range(4):
            await client.call_tool(
                "capture_incident", {**CAPTURE, "title": f"{CAPTURE['title']} #{n}", "agent": f"agent-{n}"}
            )
        await client.call_tool(
            "capture_incident", {"title": "Agent invented a refund policy", "category": "llm_hallucination"}
        )
        first = await client.call_tool("search_incidents", {"query": "429 fares quota", "limit": 2})
        second = await client.call_tool("search_incidents", {"query": "429 fares quota", "limit": 2, "offset": 2})
        only = await client.call_tool("search_incidents", {"query": "429 fares quota", "category": "llm_hallucination"})
        empty = await client.call_tool("search_incidents", {})
    page1, page2 = first.structured_content, second.structured_content
    assert page1 is not None and page2 is not None
    assert len(page1["hits"]) == 2 and page1["next_offset"] == 2
    assert not {h["id"] for h in page1["hits"]} & {h["id"] for h in page2["hits"]}
    assert [h["category"] for h in only.structured_content["hits"]] == ["llm_hallucination"]  # type: ignore[index]
    assert empty.is_error and "query" in empty.content[0].text  # type: ignore[union-attr]


@MODES
async def test_check_blameless_tool_returns_spans_and_rewrites(service: PostmortemService, mode: str) -> None:
    async with Client(server_for(service), mode=mode) as client:
        result = await client.call_tool("check_blameless", {"text": "The developer should have added a timeout."})
    [finding] = result.structured_content["findings"]  # type: ignore[index]
    assert finding["rule"] == "person_as_cause" and finding["text"] == "The developer should have"
    assert finding["suggestion"] == "A timeout was not added, and no step or check in the process required it."


@MODES
async def test_check_blameless_refuses_blank_text(service: PostmortemService, mode: str) -> None:
    async with Client(server_for(service), mode=mode) as client:
        result = await client.call_tool("check_blameless", {"text": " \n "})
    assert result.is_error and "give the text to check" in result.content[0].text  # type: ignore[union-attr]


@MODES
async def test_verify_fix_tool_gives_a_verdict_and_rejects_impossible_counts(
    service: PostmortemService, mode: str
) -> None:
    async with Client(server_for(service), mode=mode) as client:
        ok = await client.call_tool(
            "verify_fix", {"before_failures": 12, "before_trials": 200, "after_failures": 0, "after_trials": 200}
        )
        bad = await client.call_tool(
            "verify_fix", {"before_failures": 5, "before_trials": 3, "after_failures": 0, "after_trials": 1}
        )
    assert ok.structured_content["verdict"] == "improved"  # type: ignore[index]
    assert ok.structured_content["more_trials_needed"] == 181  # type: ignore[index]
    assert bad.is_error and "failures <= trials" in bad.content[0].text  # type: ignore[union-attr]


@MODES
async def test_verify_fix_answers_at_once_for_the_largest_counts_it_accepts(
    service: PostmortemService, mode: str
) -> None:
    """Ten million trials a side: the Fisher test summed exact binomials and took hours."""
    counts = {"before_failures": 5_000_000, "before_trials": 10_000_000, "after_trials": 10_000_000}
    started = time.monotonic()
    async with Client(server_for(service), mode=mode) as client:
        same = await client.call_tool("verify_fix", {**counts, "after_failures": 5_000_000})
        fewer = await client.call_tool("verify_fix", {**counts, "after_failures": 4_990_000})
    assert time.monotonic() - started < 5
    assert same.structured_content["verdict"] == "not_shown"  # type: ignore[index]  # the same rate: not lowered, no rise
    assert 0.45 < same.structured_content["p_value"] < 0.55  # type: ignore[index]
    assert fewer.structured_content["p_value"] < 1e-4  # type: ignore[index]

    async with Client(server_for(service), mode=mode) as client:
        tiny = await client.call_tool("verify_fix", {**counts, "after_failures": 0, "target": 1e-9})
    assert tiny.structured_content["verdict"] == "improved"  # type: ignore[index]  # 1e7 clean runs cannot show 1e-9
    assert tiny.structured_content["more_trials_needed"] == 3_831_458_817  # type: ignore[index]


@MODES
async def test_search_filters_by_agent_tool_model_and_date_range(service: PostmortemService, mode: str) -> None:
    async with Client(server_for(service), mode=mode) as client:
        await client.call_tool("capture_incident", {**CAPTURE, "model": "gpt-4.1-mini"})
        await client.call_tool(
            "capture_incident", {**CAPTURE, "agent": "other-agent", "tool": "crm.lookup", "model": "mistral-large"}
        )
        by_agent = await client.call_tool("search_incidents", {"query": "429", "agent": "other-agent"})
        by_model = await client.call_tool("search_incidents", {"query": "429", "model": "gpt-4.1-mini"})
        future = await client.call_tool("search_incidents", {"query": "429", "since": "2999-01-01"})
        past = await client.call_tool("search_incidents", {"query": "429", "until": "2999-01-01T00:00:00Z"})
        bad = await client.call_tool("search_incidents", {"query": "429", "since": "last tuesday"})
    assert [h["id"] for h in by_agent.structured_content["hits"]] == ["INC-2"]  # type: ignore[index]
    assert [h["id"] for h in by_model.structured_content["hits"]] == ["INC-1"]  # type: ignore[index]
    assert future.structured_content["hits"] == []  # type: ignore[index]
    assert len(past.structured_content["hits"]) == 2  # type: ignore[index]
    assert bad.is_error and "since" in bad.content[0].text and "tuesday" not in bad.content[0].text  # type: ignore[union-attr]


async def test_a_timeline_event_dated_in_the_future_is_refused(service: PostmortemService) -> None:
    """As found: an event `at` 2030 was stored and sorted after everything that happened since."""
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        args = {"incident_id": incident_id, "description": "Rolled back"}
        future = await client.call_tool("add_timeline_event", {**args, "at": "2030-01-01T00:00:00Z"})
        past = await client.call_tool("add_timeline_event", {**args, "at": "2024-03-01T10:00:00Z"})
    assert future.is_error and "in the future" in future.content[0].text  # type: ignore[union-attr]
    assert not past.is_error
    timeline = service.get_incident(incident_id).timeline
    assert [e.at.year for e in timeline if e.description == "Rolled back"] == [2024]


async def test_a_repeat_capture_says_it_is_no_novel_failure_and_why_its_incident_is_triaged_so(tmp_path: Path) -> None:
    """A repeat answered with its first capture's decision: `novel: true` and "novel failure mode (nothing in the
    knowledge base to compare with)", though the failure was that very incident, now seen twice."""
    service = make_service(tmp_path)
    async with Client(server_for(service)) as client:
        first = (await client.call_tool("capture_incident", CAPTURE)).structured_content
        again = await client.call_tool("capture_incident", {**CAPTURE, "title": "Fares API 429 again"})
    repeat = again.structured_content
    assert first is not None and repeat is not None
    assert first["novel"] and first["triage"] == "full" and not first["deduplicated"]
    assert repeat["deduplicated"] and repeat["id"] == first["id"] and repeat["occurrences"] == 2
    assert repeat["novel"] is False and repeat["triage"] == first["triage"]  # the incident's own triage stands
    assert repeat["triage_reasons"] == [
        f"occurrence 2 of {first['id']}, an open incident with the same failure signature",
        *(f"at its first capture: {r}" for r in first["triage_reasons"]),
    ]
    assert json.loads(again.content[0].text)["novel"] is False  # type: ignore[union-attr]
    assert service.get_incident(first["id"]).novel  # the incident's record is left as it was decided


async def test_reopen_and_verify_fix_say_in_their_descriptions_what_they_do(service: PostmortemService) -> None:
    """reopen_incident on an open incident answered as a reopen would, though it only added the note, and verify_fix
    promised "95% intervals" whatever confidence it was given: an assistant read both descriptions as what happened."""
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        reopened = await client.call_tool("reopen_incident", {"incident_id": incident_id, "note": "still failing"})
        checked = await client.call_tool(
            "verify_fix",
            {"before_failures": 5, "before_trials": 50, "after_failures": 0, "after_trials": 50, "confidence": 0.99},
        )
        tools = {t.name: t.description or "" for t in (await client.list_tools()).tools}
    record = reopened.structured_content
    assert record is not None and record["status"] == "open"
    assert record["timeline"][-1]["description"] == "still failing"
    assert "already open stays as it is; only the note" in tools["reopen_incident"]
    assert checked.structured_content["confidence"] == 0.99  # type: ignore[index]
    assert "95% intervals" not in tools["verify_fix"] and "at the given confidence" in tools["verify_fix"]
