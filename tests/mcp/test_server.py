"""The MCP surface, end to end in memory, in both protocol eras."""

import json
import threading
import time
from pathlib import Path

import pytest
from mcp import Client, MCPError

from agent_postmortem.mcp.server import create_server
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.runtime import LazyService
from tests.factories import CAPTURE, MODES, FakeLLM, draft, make_service, server_for

pytestmark = pytest.mark.anyio
TOOLS_LIST_BUDGET = 20_000  # bytes of the tools/list result as compact JSON


@MODES
async def test_every_tool_has_a_flat_input_schema(service: PostmortemService, mode: str) -> None:
    async with Client(server_for(service), mode=mode) as client:
        tools = (await client.list_tools()).tools
    assert {t.name for t in tools} >= {
        "capture_incident",
        "search_incidents",
        "get_incident",
        "add_timeline_event",
        "resolve_incident",
        "draft_analysis",
        "add_action_item",
        "update_action_item",
        "list_action_items",
        "render_report",
        "knowledge_stats",
        "list_incidents",
    }
    for tool in tools:
        schema = json.dumps(tool.input_schema)
        assert "$ref" not in schema and "$defs" not in schema, tool.name
    reads = {t.name for t in tools if t.annotations and t.annotations.read_only_hint}
    assert {"search_incidents", "get_incident", "render_report", "list_action_items", "recurring_patterns"} <= reads
    assert "capture_incident" not in reads


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
async def test_unknown_incident_id_is_a_tool_error_naming_list_incidents(service: PostmortemService, mode: str) -> None:
    async with Client(server_for(service), mode=mode) as client:
        result = await client.call_tool("get_incident", {"incident_id": "INC-404"})
        malformed = await client.call_tool("render_report", {"incident_id": "banana"})
    assert result.is_error and "list_incidents" in result.content[0].text  # type: ignore[union-attr]
    assert malformed.is_error and "INC-42" in malformed.content[0].text  # type: ignore[union-attr]


@MODES
async def test_invalid_arguments_are_rejected_without_echoing_the_value(service: PostmortemService, mode: str) -> None:
    secret = "sk-proj-CANARY0123456789abcdef"
    async with Client(server_for(service), mode=mode) as client:
        short = await client.call_tool("capture_incident", {"title": "sk"})
        bad_date = await client.call_tool(
            "add_action_item", {"incident_id": "INC-1", "title": "Rotate the key", "due_at": secret}
        )
        too_long = await client.call_tool("capture_incident", {"title": secret * 20})
        stats = await client.call_tool("knowledge_stats", {})
    for result in (short, bad_date, too_long):
        assert result.is_error
        assert secret not in result.content[0].text  # type: ignore[union-attr]
        assert "'sk'" not in result.content[0].text  # type: ignore[union-attr]
    assert stats.structured_content is not None and stats.structured_content["incidents"] == 0


@MODES
async def test_a_search_never_echoes_the_secrets_of_its_query(service: PostmortemService, mode: str) -> None:
    """Found over HTTP with POSTMORTEM_LOG_LEVEL=DEBUG: the result echoed the query as sent, so the key pasted with a
    log line was in the client's transcript and the server's log, while every stored text had it redacted."""
    secret = "sk-proj-4fQm2X9vLk8sT7rB1nY6cW3zH5jD0pA2eR8uI4oK"
    async with Client(server_for(service), mode=mode) as client:
        await client.call_tool("capture_incident", {**CAPTURE, "error_message": f"401 for key {secret}"})
        found = await client.call_tool("search_incidents", {"query": f"401 for key {secret} jane.doe@example.com"})
    assert not found.is_error and found.structured_content is not None
    text = found.content[0].text  # type: ignore[union-attr]
    assert secret not in text and "jane.doe" not in text, text
    assert found.structured_content["query"] == "401 for key [REDACTED:openai_key] [REDACTED:email]"
    assert found.structured_content["hits"], text  # the placeholder the incident keeps matches


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
async def test_resources_and_prompt_answer_unknown_ids_with_a_hint(service: PostmortemService, mode: str) -> None:
    async with Client(server_for(service), mode=mode) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        prompt = await client.get_prompt("postmortem", {"incident_id": incident_id})
        with pytest.raises(MCPError, match="list_incidents"):
            await client.read_resource("incident://INC-999")
    text = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert "draft_analysis" in text and CAPTURE["title"] in text and "<DATA-" in text


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


async def test_handshake_does_not_wait_for_the_knowledge_base(service: PostmortemService) -> None:
    release = threading.Event()

    def slow_build() -> PostmortemService:
        release.wait(30)  # stands in for torch, the model and chromadb still loading
        return service

    lazy = LazyService(slow_build)
    async with Client(create_server(lazy.get, on_start=lazy.start)) as client:
        tools = await client.list_tools()  # answered while the build is still blocked
        assert not release.is_set() and tools.tools
        release.set()
        result = await client.call_tool("knowledge_stats", {})
    assert not result.is_error


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
    """The schema allows ten million trials a side; the Fisher test summed exact binomials and took hours."""
    counts = {"before_failures": 5_000_000, "before_trials": 10_000_000, "after_trials": 10_000_000}
    started = time.monotonic()
    async with Client(server_for(service), mode=mode) as client:
        same = await client.call_tool("verify_fix", {**counts, "after_failures": 5_000_000})
        fewer = await client.call_tool("verify_fix", {**counts, "after_failures": 4_990_000})
    assert time.monotonic() - started < 5
    assert same.structured_content["verdict"] == "not_shown"  # type: ignore[index]
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


@MODES
async def test_a_missing_resource_is_a_not_found_error_not_an_internal_one(
    service: PostmortemService, mode: str
) -> None:
    async with Client(server_for(service), mode=mode) as client:
        for uri in ("incident://INC-999", "report://INC-999", "review://banana", "evalcase://INC-999", "runbook://x"):
            with pytest.raises(MCPError) as raised:
                await client.read_resource(uri)
            # -32602 with the URI: SEP-2164, which retired the -32002 of earlier specs; -32603 is "internal error"
            assert raised.value.error.code == -32602, uri
            assert raised.value.error.data == {"uri": uri}


@MODES
async def test_a_rejected_argument_is_one_sentence_naming_it_and_what_it_allows(
    service: PostmortemService, mode: str
) -> None:
    secret = "sk-proj-CANARY0123456789abcdef"
    async with Client(server_for(service), mode=mode) as client:
        limit = await client.call_tool("search_incidents", {"query": "timeouts", "limit": 500})
        severity = await client.call_tool("list_incidents", {"severity": secret})
        missing = await client.call_tool("get_incident", {})
        two = await client.call_tool(
            "verify_fix", {"before_failures": secret, "before_trials": -1, "after_failures": 1}
        )
    assert limit.content[0].text == "Invalid argument: limit must be an integer between 1 and 50."  # type: ignore[union-attr]
    assert severity.content[0].text == "Invalid argument: severity must be one of SEV1, SEV2, SEV3, SEV4."  # type: ignore[union-attr]
    assert missing.content[0].text == (  # type: ignore[union-attr]
        "Invalid argument: incident_id is required: text of at most 24 characters (an incident id such as INC-42)."
    )
    text = two.content[0].text  # type: ignore[union-attr]
    assert text.startswith("Invalid arguments: before_failures must be an integer between 0 and 10000000; ")
    assert "before_trials must be" in text and "after_trials is required" in text and secret not in text


async def test_every_tool_rejects_a_wrong_argument_without_pydantic_text_or_the_value(
    service: PostmortemService,
) -> None:
    wrong = {"integer": "CANARY-not-a-number", "number": "CANARY", "boolean": {"CANARY": 1}, "string": ["CANARY"] * 3}
    async with Client(server_for(service)) as client:
        for tool in (await client.list_tools()).tools:
            for name, prop in tool.input_schema["properties"].items():
                kind = prop.get("type") or next(b["type"] for b in prop["anyOf"] if b["type"] != "null")
                value = "CANARY-not-a-choice" if "enum" in json.dumps(prop) else wrong[kind]
                if kind == "string" and "enum" not in json.dumps(prop):
                    value = "C" * (prop.get("maxLength", 100_000) + 1)  # any text is allowed: too long is not
                result = await client.call_tool(tool.name, {name: value})
                text = result.content[0].text  # type: ignore[union-attr]
                assert result.is_error and text.startswith("Invalid argument"), (tool.name, name, text)
                assert f"{name} must be" in text and "CANARY" not in text and "C" * 50 not in text, text
                assert "pydantic" not in text and "http" not in text and "\n" not in text, text


async def test_tools_list_stays_within_its_budget(service: PostmortemService) -> None:
    """Every client loads tools/list into its model's context each session: it was 88 KB (70 KB of output schemas),
    it is about 16 KB; a new tool or a longer description must fit in the budget or earn a bigger one."""
    async with Client(server_for(service)) as client:
        tools = (await client.list_tools()).tools
    listed = json.dumps(
        {"tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]}, separators=(",", ":")
    )
    assert len(listed.encode()) <= TOOLS_LIST_BUDGET, len(listed.encode())
    assert all(t.output_schema is None for t in tools)  # the result's JSON text says all the schemas did
    assert all("\n" not in (t.description or "") and "  " not in (t.description or "") for t in tools)


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


def test_an_empty_team_knowledge_base_is_named_with_the_command_that_fills_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server of two teams warned 'the knowledge base is empty ... `postmortem import FILE.jsonl`' twice: it did not
    say whose, and the command it gave loads the default knowledge base, not the team's."""
    for team in ("default", "payments"):
        lazy = LazyService(lambda home=tmp_path / team: make_service(home), keep_index=False, team=team)
        with caplog.at_level("WARNING", logger="agent_postmortem.service.runtime"):
            lazy.get()
            deadline = time.monotonic() + 30  # said by the opening thread just after the service is ready
            while sum("is empty" in r.getMessage() for r in caplog.records) < 1 + (team != "default"):
                assert time.monotonic() < deadline, caplog.records
                time.sleep(0.05)
    said = [r.getMessage() for r in caplog.records if "is empty" in r.getMessage()]
    assert said[0].startswith("the knowledge base is empty") and "`postmortem import FILE.jsonl`" in said[0], said
    assert said[1].startswith("team payments's knowledge base is empty"), said
    assert "`POSTMORTEM_TEAM=payments postmortem import FILE.jsonl`" in said[1], said
    assert "`POSTMORTEM_TEAM=payments postmortem init --seed`" in said[1] and len(said) == 2, said


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
