"""The MCP surface in memory, in both protocol eras: flat input schemas within their budget, and arguments, ids and
resources that are wrong told in one sentence that never repeats what was sent."""

import json
from pathlib import Path

import pytest
from mcp import Client, MCPError

from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import CAPTURE, MODES, SEED, make_service, server_for

pytestmark = pytest.mark.anyio
TOOLS_LIST_BUDGET = 21_000  # bytes of the tools/list result as compact JSON (+500: optional numbers and flags nullable;
# +500: `track` on draft_analysis and record_analysis, the CLI's `draft --track`)


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
async def test_unknown_incident_id_is_a_tool_error_naming_list_incidents(service: PostmortemService, mode: str) -> None:
    async with Client(server_for(service), mode=mode) as client:
        result = await client.call_tool("get_incident", {"incident_id": "INC-404"})
        malformed = await client.call_tool("render_report", {"incident_id": "banana"})
    assert result.is_error and "list_incidents" in result.content[0].text  # type: ignore[union-attr]
    assert malformed.is_error and "INC-42" in malformed.content[0].text  # type: ignore[union-attr]


async def test_a_pattern_id_for_an_incident_names_its_runbook_resource_not_a_command(
    service: PostmortemService,
) -> None:
    """The store's error named `postmortem runbook PAT-3`; a tool's answer points at the runbook resource instead."""
    async with Client(server_for(service)) as client:
        result = await client.call_tool("get_incident", {"incident_id": "PAT-3"})
    said = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and "PAT-3 is a pattern id" in said and "runbook://PAT-3" in said
    assert "postmortem" not in said


async def test_a_pattern_id_in_a_resource_or_a_prompt_names_its_runbook_as_the_tools_do(
    service: PostmortemService,
) -> None:
    """report://PAT-3 (and the other incident resources and prompts) said "PAT-3 is a pattern id, not an incident id"
    and "list incidents with the list_incidents tool", where the tools point at runbook://PAT-3."""
    async with Client(server_for(service)) as client:
        answer = (await client.call_tool("get_incident", {"incident_id": "PAT-3"})).content[0].text  # type: ignore[union-attr]
        tool = answer.removeprefix("Error executing tool get_incident: ")
        said = []
        for uri in ("incident://PAT-3", "report://PAT-3", "review://PAT-3", "report-html://PAT-3", "evalcase://PAT-3"):
            with pytest.raises(MCPError) as resource:
                await client.read_resource(uri)
            said.append(str(resource.value))
        for prompt in ("postmortem", "five_whys"):
            with pytest.raises(MCPError) as asked:
                await client.get_prompt(prompt, {"incident_id": "PAT-3"})
            said.append(str(asked.value))
        with pytest.raises(MCPError) as unknown:  # an incident id that names none: still pointed at list_incidents
            await client.read_resource("report://INC-404")
    for text in said:
        assert tool in text and "runbook://PAT-3" in text and "list_incidents" not in text, text
    assert "list_incidents" in str(unknown.value)


async def test_a_report_names_its_incident_by_its_id_however_the_id_was_written(service: PostmortemService) -> None:
    """render_report answered `incident_id: "incident 1"` (or "inc-1", "#1"), as sent, where every other answer
    names the incident INC-1: a program reading the id from the answer could not use it."""
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        number = incident_id.removeprefix("INC-")
        for written in (f"incident {number}", incident_id.lower(), f"#{number}"):
            report = await client.call_tool("render_report", {"incident_id": written})
            assert report.structured_content["incident_id"] == incident_id, written  # type: ignore[index]


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


async def test_the_capture_limit_on_all_text_together_is_in_the_tool_description(service: PostmortemService) -> None:
    """Every field within its maxLength (20,000 characters of description, 20,000 of stack trace) was refused for
    their total, a limit tools/list did not state: a client had no way to know it before the call."""
    from agent_postmortem.store.models.fields import MAX_CAPTURE_BYTES

    limit = f"{MAX_CAPTURE_BYTES // 1024} KiB"
    long = {"title": "Agent crashed", "description": "d" * 20_000, "stack_trace": "s" * 20_000, "impact": "i" * 2_000}
    async with Client(server_for(service)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        refused = await client.call_tool("capture_incident", long)
    assert refused.is_error and limit in refused.content[0].text  # type: ignore[union-attr]
    assert f"text fields together at most {limit}" in (tools["capture_incident"].description or "")


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


async def test_a_pasted_stack_trace_is_searched_whole_and_not_echoed_whole(service: PostmortemService) -> None:
    """A 15,000-character stack trace came back whole as the result's `query`: a 19 KB answer for 5 hits of 4 KB,
    into a model's context that held the trace already, and again on every page. The start and the length are
    echoed; the search still reads the error at the end of the trace."""
    frames = "".join(
        f'  File "/srv/app/pkg/module_{n}.py", line {n * 7}, in handler_{n}\n    return await nxt(request)\n'
        for n in range(170)
    )
    trace = f"Traceback (most recent call last):\n{frames}RateLimitError: 429 Too Many Requests from the fares API"
    assert len(trace) > 15_000
    async with Client(server_for(service)) as client:
        await client.call_tool("capture_incident", CAPTURE)
        found = await client.call_tool("search_incidents", {"query": trace})
        again = await client.call_tool("search_incidents", {"query": trace, "offset": 1})
    assert not found.is_error and found.structured_content is not None
    assert [h["title"] for h in found.structured_content["hits"]] == [CAPTURE["title"]]
    for result in (found, again):
        shown = result.structured_content["query"]  # type: ignore[index]
        assert shown.startswith("Traceback (most recent call last):") and f"{len(trace):,} characters" in shown
        assert len(shown) < 400 and len(result.content[0].text) < 4_000  # type: ignore[union-attr]


async def test_a_search_given_a_query_and_an_incident_id_is_refused_not_half_answered(
    service: PostmortemService,
) -> None:
    """search_incidents took both and dropped the query without a word: the incident's neighbours came back as if
    they matched the words sent. Both of one incident (the query its id) is one search; anything else is refused."""
    async with Client(server_for(service)) as client:
        first = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        injected = {"title": "Prompt injection in a retrieved web page", "agent": "browser", "tool": "web.fetch"}
        await client.call_tool("capture_incident", injected)
        both = await client.call_tool("search_incidents", {"query": "prompt injection", "incident_id": first})
        other = await client.call_tool("search_incidents", {"query": "INC-2", "incident_id": first})
        same = await client.call_tool("search_incidents", {"query": f"incident {first[4:]}", "incident_id": first})
    for refused in (both, other):
        text = refused.content[0].text  # type: ignore[union-attr]
        assert refused.is_error and "send a query or an incident_id, not both" in text, text
    assert not same.is_error and same.structured_content is not None
    assert [h["id"] for h in same.structured_content["hits"]] == ["INC-2"]


async def test_a_search_tells_a_weak_best_match_beside_its_hits(tmp_path: Path, embedder: Embedder) -> None:
    """search_incidents answered a question with nothing like it in the knowledge base with hits at cosine 0.05,
    shown as plainly as real matches; the answer now says the match is weak (fields added, none changed)."""
    service = make_service(tmp_path, embedder=embedder)
    service.import_incidents(read_incidents(SEED))
    async with Client(server_for(service)) as client:
        weak = await client.call_tool("search_incidents", {"query": "how do I bake sourdough bread at home"})
        real = await client.call_tool("search_incidents", {"query": "order agent overwrote delivery addresses"})
    found, matched = weak.structured_content, real.structured_content
    assert found is not None and matched is not None and len(found["hits"]) == 5
    assert found["weak_match"] is True and found["best_score"] < 0.38
    assert found["match_note"].startswith("weak match: nothing in the knowledge base matches well")
    assert "weak match" in weak.content[0].text  # type: ignore[union-attr]
    assert (matched["weak_match"], matched["match_note"]) == (False, None) and matched["best_score"] >= 0.38
    assert {"query", "hits", "offset", "next_offset", "empty_because"} <= found.keys()


async def test_a_query_sent_as_json_is_searched_for_the_text_inside(tmp_path: Path, embedder: Embedder) -> None:
    """A model that wrote the arguments again inside the query (`{"query": "rate limit"}`) had the braces and the key
    searched as text: its best hit was a weak match, and not the one the words inside find."""
    service = make_service(tmp_path, embedder=embedder)
    service.import_incidents(read_incidents(SEED))
    words = "order agent overwrote delivery addresses"
    async with Client(server_for(service)) as client:
        plain = await client.call_tool("search_incidents", {"query": words})
        wrapped = await client.call_tool("search_incidents", {"query": json.dumps({"query": words})})
        alone = await client.call_tool("search_incidents", {"query": json.dumps({"text": words})})
        braces = await client.call_tool("search_incidents", {"query": "{not json} order agent overwrote"})
    hits = [[h["id"] for h in r.structured_content["hits"]] for r in (plain, wrapped, alone)]  # type: ignore[index]
    assert hits[0] == hits[1] == hits[2] and wrapped.structured_content["query"] == words  # type: ignore[index]
    assert braces.structured_content["query"] == "{not json} order agent overwrote"  # type: ignore[index]


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
    assert text.startswith("Invalid arguments: before_failures must be an integer between 0 and 1,000,000,000,000,000;")
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
    it is about 20 KB; a new tool or a longer description must fit in the budget or earn a bigger one."""
    async with Client(server_for(service)) as client:
        tools = (await client.list_tools()).tools
    listed = json.dumps(
        {"tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]}, separators=(",", ":")
    )
    assert len(listed.encode()) <= TOOLS_LIST_BUDGET, len(listed.encode())
    assert all(t.output_schema is None for t in tools)  # the result's JSON text says all the schemas did
    assert all("\n" not in (t.description or "") and "  " not in (t.description or "") for t in tools)


async def test_a_question_naming_a_stored_incident_says_how_to_read_it(tmp_path: Path, embedder: Embedder) -> None:
    """ "what happened in INC-27?" searched the sentence's words, and INC-27 itself was not among the hits, without a
    word of how to read it or find incidents like it."""
    service = make_service(tmp_path, embedder=embedder)
    service.import_incidents(read_incidents(SEED))
    async with Client(server_for(service)) as client:
        asked = await client.call_tool("search_incidents", {"query": "what happened in inc-27?"})
        unknown = await client.call_tool("search_incidents", {"query": "what happened in INC-9999?"})
        plain = await client.call_tool("search_incidents", {"query": "order agent overwrote delivery addresses"})
    named = asked.structured_content["named"]  # type: ignore[index]
    assert named.startswith("the query names INC-27: to read it, get it by its id (get_incident"), named
    assert "search its id alone (incident_id" in named and "named" in asked.content[0].text  # type: ignore[union-attr]
    assert "postmortem" not in named  # the tools to call, not shell commands to run
    assert unknown.structured_content["named"] is None and plain.structured_content["named"] is None  # type: ignore[index]
    assert asked.structured_content["named_ids"] == ["INC-27"]  # type: ignore[index]  # as data, not only a sentence
    assert unknown.structured_content["named_ids"] == plain.structured_content["named_ids"] == []  # type: ignore[index]


@pytest.mark.parametrize("title", ["\u200b\u200b\u200b\u200b", "\x1b[31m\x1b[0m", "\\u200b\\u200b"])
async def test_a_title_of_invisible_characters_alone_is_refused_as_having_nothing_visible(
    tmp_path: Path, title: str
) -> None:
    """It was refused as "title: String should have at least 3 characters", though four characters were sent."""
    async with Client(server_for(make_service(tmp_path, llm=None))) as client:
        result = await client.call_tool("capture_incident", {**CAPTURE, "title": title})
    said = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and "title: has no visible character" in said and "at least 3" not in said, said
