"""What real MCP clients put in arguments that unit tests never do, through the SDK's client in memory: JSON-looking
text in every text parameter of every tool, objects and numbers where text is expected, and an analysis sent as the
JSON text of its JSON."""

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from agent_postmortem.mcp.server import create_server
from tests.factories import CAPTURE, draft, make_service, tool_arguments

pytestmark = pytest.mark.anyio


# what clients put in text arguments: JSON they were given, and words JSON would parse
JSON_LOOKING = ['{"order": "A-1001"}', '{"error":{"code":429}}', '["a","b"]', "null", "true", "42", '"quoted"', "[]"]


def text_parameters(schema: dict[str, Any]) -> list[str]:
    """The parameters that take free text (a string that is not one of a few choices)."""
    return [
        name
        for name, prop in schema["properties"].items()
        if prop.get("type") == "string" and "enum" not in prop and "anyOf" not in prop
    ]


async def test_every_text_parameter_of_every_tool_takes_json_looking_text(tmp_path: Path) -> None:
    """The SDK parses JSON in a string argument unless its parameter is exactly `str`: `{"order": "A-1001"}` then
    arrived as an object and was rejected ("Input should be a valid string"). New text parameters are covered as
    they appear in tools/list."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        valid = await tool_arguments(client)
        checked = 0
        for tool in (await client.list_tools()).tools:
            required = {name: valid[name] for name in tool.input_schema.get("required", [])}  # new: add it to `valid`
            for name in text_parameters(tool.input_schema):
                shortest = tool.input_schema["properties"][name].get("minLength", 0)
                for text in (t for t in JSON_LOOKING if len(t) >= shortest):
                    result = await client.call_tool(tool.name, {**required, name: text})
                    said = result.content[0].text if result.is_error else ""  # type: ignore[union-attr]
                    assert "valid string" not in said and f"{name} must be text" not in said, (tool.name, name, said)
                    checked += 1
    assert checked >= 150


async def test_json_text_in_a_capture_is_stored_as_the_exact_text(tmp_path: Path) -> None:
    service = make_service(tmp_path, llm=None)
    texts = {
        "tool_args": '{"order": "A-1001", "amount": 12.5}',
        "error_message": '{"error":{"code":429,"message":"quota"}}',
        "impact": '["eu-west","us-east"]',
        "environment": "null",
        "agent": "true",
        "model": "42",
    }
    async with Client(create_server(lambda: service)) as client:
        captured = await client.call_tool("capture_incident", {"title": "Refund agent hit the rate limit", **texts})
        found = await client.call_tool("search_incidents", {"query": '["rate","limit"]'})
        note = await client.call_tool(
            "resolve_incident",
            {"incident_id": captured.structured_content["id"], "note": '["a","b"]'},  # type: ignore[index]
        )
    assert not captured.is_error and not found.is_error and not note.is_error
    stored = service.get_incident(captured.structured_content["id"])  # type: ignore[index]
    assert {name: getattr(stored, name) for name in texts} == texts
    assert stored.timeline[-1].description.endswith('["a","b"]')


async def test_tool_arguments_in_a_code_fence_are_stored_as_the_json_inside(tmp_path: Path) -> None:
    """An assistant wrote tool_args as it writes JSON in chat: in a fence, with a sentence around it. The fence and
    the prose were stored and the regression case gave them as the arguments to replay."""
    service = make_service(tmp_path, llm=None)
    sent = {
        "object": (
            'Here are the args:\n```json\n{"order": "A-7", "note": "`quoted`"}\n```\nThanks',
            '{"order": "A-7", "note": "`quoted`"}',
        ),
        "array": ('```\n["kubectl", "delete", "ns"]\n```', '["kubectl", "delete", "ns"]'),
        "not json": ("```\norder=A-7\n```", "```\norder=A-7\n```"),
    }
    stored = {}
    async with Client(create_server(lambda: service)) as client:
        for name, (args, _) in sent.items():
            title = f"Refund agent sent a malformed {name} call"
            captured = await client.call_tool("capture_incident", {"title": title, "tool_args": args})
            stored[name] = service.get_incident(captured.structured_content["id"]).tool_args  # type: ignore[index]
    assert stored == {name: kept for name, (_, kept) in sent.items()}


async def test_objects_and_numbers_sent_for_text_are_kept_as_their_json_text(tmp_path: Path) -> None:
    """Models often send the object itself where the schema asks for its JSON text."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        captured = await client.call_tool(
            "capture_incident",
            {"title": "Refund agent hit the rate limit", "tool_args": {"order": "A-1001"}, "agent": 42, "model": None},
        )
        incident_id = captured.structured_content["id"]  # type: ignore[index]
        recorded = await client.call_tool(
            "record_analysis", {"incident_id": incident_id, "analysis_json": draft().model_dump(mode="json")}
        )
    assert not captured.is_error and not recorded.is_error, (captured.content, recorded.content)
    stored = service.get_incident(incident_id)
    assert (stored.tool_args, stored.agent, stored.model) == ('{"order": "A-1001"}', "42", None)
    assert stored.analysis is not None and stored.analysis.root_cause == draft().root_cause


async def test_an_analysis_sent_as_a_json_string_of_its_json_is_read_as_the_object(tmp_path: Path) -> None:
    """A client that JSON-encodes every argument sent the analysis's JSON text encoded again ("{\\"whys\\": ...}"):
    it was refused as "Invalid JSON: key must be a string at line 1 column 2", which no field of it could fix."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        captured = await client.call_tool("capture_incident", {"title": "Refund agent hit the rate limit"})
        incident_id = captured.structured_content["id"]  # type: ignore[index]
        text = draft().model_dump_json()
        for sent in (json.dumps(text), json.dumps(json.dumps(text))):
            recorded = await client.call_tool("record_analysis", {"incident_id": incident_id, "analysis_json": sent})
            assert not recorded.is_error, recorded.content
        still = await client.call_tool("record_analysis", {"incident_id": incident_id, "analysis_json": '"Sure!"'})
    assert still.is_error and "no JSON object" in still.content[0].text  # type: ignore[union-attr]
    stored = service.get_incident(incident_id)
    assert stored.analysis is not None and stored.analysis.root_cause == draft().root_cause


async def test_a_choice_or_a_time_sent_as_json_text_or_in_backticks_is_read_as_the_value_inside(tmp_path: Path) -> None:
    """A client that encodes every argument once more sent '"mitigated"' and was told 'status must be one of
    mitigated, resolved', a value it had sent; '"2026-12-31"' as until was told until must be a day such as
    2026-12-15. Quotes or backticks around a choice or a time are read as a model writes an id in them."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        resolved = await client.call_tool("resolve_incident", {"incident_id": incident_id, "status": '"mitigated"'})
        noted = await client.call_tool(
            "add_timeline_event", {"incident_id": incident_id, "description": "Paged on-call", "kind": "`note`"}
        )
        item = await client.call_tool(
            "add_action_item",
            {"incident_id": incident_id, "title": "Add a retry budget", "priority": "'p0'", "due_at": '"2026-12-31"'},
        )
        found = await client.call_tool("search_incidents", {"query": "429", "since": '"2026-01"', "until": "`2099`"})
        wrong = await client.call_tool("resolve_incident", {"incident_id": incident_id, "status": '"closed"'})
    assert not resolved.is_error and resolved.structured_content["status"] == "mitigated", resolved.content  # type: ignore[index]
    assert not noted.is_error and noted.structured_content["timeline"][-1]["kind"] == "note", noted.content  # type: ignore[index]
    assert not item.is_error, item.content
    assert item.structured_content["priority"] == "P0" and item.structured_content["due_at"].startswith("2026-12-31")  # type: ignore[index]
    assert [h["id"] for h in found.structured_content["hits"]] == [incident_id], found.content  # type: ignore[index]
    assert wrong.is_error and "status must be one of mitigated, resolved" in wrong.content[0].text  # type: ignore[union-attr]


async def test_a_fraction_sent_as_its_json_text_is_read_as_the_number(tmp_path: Path) -> None:
    """'"0.05"' for verify_fix's target was refused with 'target must be a number greater than 0 and less than 1',
    though an integer sent so ('"27"') was read as the integer: a fraction in quotes is now the fraction."""
    service = make_service(tmp_path, llm=None)
    counts = {"before_failures": 5, "before_trials": 20, "after_failures": 0, "after_trials": 40}
    async with Client(create_server(lambda: service)) as client:
        quoted = await client.call_tool("verify_fix", {**counts, "target": '"0.05"', "confidence": '"0.9"'})
        plain = await client.call_tool("verify_fix", {**counts, "target": 0.05, "confidence": 0.9})
        percent = await client.call_tool("verify_fix", {**counts, "target": "5%", "confidence": '"90 %"'})
        wrong = await client.call_tool("verify_fix", {**counts, "target": '"5 percent"'})
        over = await client.call_tool("verify_fix", {**counts, "target": "150%"})
    assert not quoted.is_error, quoted.content
    assert quoted.structured_content == plain.structured_content
    # a rate sent as a percentage (what a person types, and what the outside tester sent) is that fraction
    assert not percent.is_error and percent.structured_content == plain.structured_content, percent.content
    assert wrong.is_error and "target must be a number" in wrong.content[0].text  # type: ignore[union-attr]
    assert over.is_error and "target must be a number" in over.content[0].text  # type: ignore[union-attr]


async def test_the_required_counts_of_verify_fix_sent_as_text_are_read_and_a_wrong_one_says_what_to_send(
    tmp_path: Path,
) -> None:
    """verify_fix's four counts are the only required numbers of the tools: sent as the Inspector and some clients
    send them (`--tool-arg before_failures=5` as text, or as JSON text with its quotes) they are read as numbers."""
    service = make_service(tmp_path, llm=None)
    counts = {"before_failures": 5, "before_trials": 20, "after_failures": 0, "after_trials": 40}
    async with Client(create_server(lambda: service)) as client:
        plain = await client.call_tool("verify_fix", counts)
        as_text = await client.call_tool("verify_fix", {k: str(v) for k, v in counts.items()})
        quoted = await client.call_tool("verify_fix", {**counts, "before_trials": '"20"'})
        wrong = await client.call_tool("verify_fix", {**counts, "before_failures": "five"})
    assert as_text.structured_content == plain.structured_content == quoted.structured_content, as_text.content
    said = wrong.content[0].text  # type: ignore[union-attr]
    assert wrong.is_error and said.endswith(
        "before_failures must be an integer between 0 and 1,000,000,000,000,000."
    ), said


async def test_a_flag_sent_as_its_json_text_is_read_as_the_flag(tmp_path: Path) -> None:
    """'"true"' for user_facing (the Inspector CLI sends an optional flag's value as typed, quotes and all, now that
    the schema has it nullable) was refused with 'user_facing must be true or false'."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        quoted = await client.call_tool("capture_incident", {**CAPTURE, "user_facing": '"true"'})
        wrong = await client.call_tool("capture_incident", {**CAPTURE, "user_facing": '"maybe"'})
    assert not quoted.is_error, quoted.content
    assert service.get_incident(quoted.structured_content["id"]).user_facing is True  # type: ignore[index]
    assert wrong.is_error and "user_facing must be true or false" in wrong.content[0].text  # type: ignore[union-attr]


async def test_a_text_sent_as_the_tools_arguments_again_is_checked_as_the_text_inside(tmp_path: Path) -> None:
    """check_blameless of '{"text": "Bob was careless ..."}' (the arguments written again inside the text) checked
    the braces and the key too, and its suggested rewrite ended 'The deploy."} was not checked': JSON punctuation
    in a sentence meant for the post-mortem. The text inside is checked, as search_incidents reads its query; and
    each finding's `start` and `end` point into the text as sent, as documented and as the CLI's do (they pointed
    into the text inside: `{"text": "Alice broke prod"}` gave 0 to 11, `{"text": "A`), escapes included."""
    service = make_service(tmp_path, llm=None)
    sentence = "Zo\u00eb's \U0001f680 release.\nBob was careless and should have checked the deploy."
    sent = json.dumps({"text": sentence})  # the accent and the rocket as \u escapes, the line break as \n
    async with Client(create_server(lambda: service)) as client:
        wrapped = await client.call_tool("check_blameless", {"text": sent})
        plain = await client.call_tool("check_blameless", {"text": sentence})
    found, alone = wrapped.structured_content["findings"], plain.structured_content["findings"]  # type: ignore[index]
    assert not wrapped.is_error and len(found) == len(alone) >= 1, wrapped.content
    assert [{**f, "start": 0, "end": 0} for f in found] == [{**f, "start": 0, "end": 0} for f in alone]
    for finding, inside in zip(found, alone, strict=True):
        assert sentence[inside["start"] : inside["end"]] == inside["text"]
        assert json.loads(f'"{sent[finding["start"] : finding["end"]]}"') == finding["text"], (finding, sent)


async def test_tool_arguments_in_a_fence_nested_too_deep_to_parse_are_stored_as_sent(tmp_path: Path) -> None:
    """Reading the JSON out of a fence parsed it with the recursing standard parser: under 2,000 characters of
    `[[[...]]]` in tool_args raised RecursionError and the capture failed instead of storing the text."""
    service = make_service(tmp_path, llm=None)
    args = "```json\n" + "[" * 990 + "]" * 990 + "\n```"  # within the 2,000 characters tool_args may hold
    async with Client(create_server(lambda: service)) as client:
        captured = await client.call_tool("capture_incident", {"title": "Agent sent a deep call", "tool_args": args})
    assert not captured.is_error, captured.content
    assert service.get_incident(captured.structured_content["id"]).tool_args == args  # type: ignore[index]


async def test_a_choice_sent_as_brackets_nested_too_deep_to_parse_is_refused_as_a_wrong_choice(tmp_path: Path) -> None:
    """A choice sent as the JSON text of a list of one was read with the recursing standard parser: 10 KB of
    `[[[...]]]` for a category raised RecursionError, and the client read its message ("maximum recursion depth
    exceeded while decoding a JSON array") instead of what the category takes."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        sent = {"title": "Agent sent a deep category", "category": "[" * 5000 + "]" * 5000}
        captured = await client.call_tool("capture_incident", sent)
    said = captured.content[0].text  # type: ignore[union-attr]
    assert captured.is_error and "category" in said and "Error executing tool" not in said, said
