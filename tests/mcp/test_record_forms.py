"""record_analysis with what assistants really send: the schema's enum values in another case, the nullable fields
left out or null, the object's JSON text encoded once more as a JSON string, a key the schema does not have."""

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CreateMessageRequestParams, CreateMessageResult, TextContent

from agent_postmortem.mcp.server import create_server
from tests.factories import CAPTURE, draft, make_service

pytestmark = pytest.mark.anyio


def written() -> dict[str, Any]:
    return json.loads(draft().model_dump_json())


async def record(tmp_path: Path, analysis: object) -> tuple[Any, Any]:
    """Capture CAPTURE and send `analysis` as record_analysis's analysis_json; the result and the stored analysis."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        result = await client.call_tool("record_analysis", {"incident_id": incident_id, "analysis_json": analysis})
    return result, service.get_incident(incident_id).analysis


async def test_enum_values_in_another_case_are_read_as_the_schemas(tmp_path: Path) -> None:
    analysis = written()
    analysis["determinism"] = "Probabilistic"
    analysis["action_items"][0]["priority"] = "p1"
    result, stored = await record(tmp_path, json.dumps(analysis))
    assert not result.is_error, result.content
    assert stored.determinism == "probabilistic" and stored.action_items[0].priority == "P1"


async def test_nullable_fields_left_out_or_null_lists_are_read_as_empty(tmp_path: Path) -> None:
    analysis = written()
    for key in ("model_behavior", "runs_to_verify", "responsible", "decisive_step", "determinism"):
        del analysis[key]
    analysis["contributing_factors"] = None
    analysis["hypotheses"] = None
    result, stored = await record(tmp_path, json.dumps(analysis))
    assert not result.is_error, result.content
    assert stored.determinism == "unknown" and stored.contributing_factors == [] and stored.runs_to_verify is None
    assert stored.whys[0].answer == analysis["whys"][0]["answer"]


async def test_the_objects_json_text_sent_as_a_json_string_is_read_as_the_object(tmp_path: Path) -> None:
    result, stored = await record(tmp_path, json.dumps(draft().model_dump_json()))
    assert not result.is_error, result.content
    assert stored.root_cause == draft().root_cause


async def test_the_objects_json_text_wrapped_in_the_arguments_name_is_read_as_the_object(tmp_path: Path) -> None:
    """`{"analysis_json": "{...}"}` (the tool's own arguments sent as the argument, the analysis as text inside) was
    refused as an analysis with no whys and an unexpected key, where `{"analysis_json": {...}}` was stored."""
    result, stored = await record(tmp_path, json.dumps({"analysis_json": draft().model_dump_json()}))
    assert not result.is_error, result.content
    assert stored.root_cause == draft().root_cause
    result, stored = await record(tmp_path / "prose", json.dumps({"analysis": "not the analysis"}))
    assert result.is_error and stored is None and "whys: Field required" in result.content[0].text


async def test_wrapped_json_text_nested_too_deep_to_parse_is_refused_as_no_analysis(tmp_path: Path) -> None:
    """The analysis's JSON text wrapped in one key was parsed with the recursing standard parser: 14 KB of
    `{"a":{"a":...}}` there raised RecursionError and the client read "Error executing tool record_analysis", not
    what to send."""
    depth = 2000  # within the 20,000 characters analysis_json may hold
    deep = "{" + '"a":{' * depth + "}" * depth + "}"
    result, stored = await record(tmp_path, json.dumps({"analysis_json": deep}))
    said = result.content[0].text
    assert result.is_error and stored is None and "recursion" not in said and "whys: Field required" in said, said


async def test_a_key_the_schema_does_not_have_is_refused_naming_the_keys_it_takes(tmp_path: Path) -> None:
    analysis = written()
    analysis["sk-live-CANARY"] = "x"
    analysis["whys"][0]["evidence"] = "log line"
    result, stored = await record(tmp_path, json.dumps(analysis))
    text = result.content[0].text
    assert result.is_error and stored is None
    assert "CANARY" not in text  # a key the model wrote is never echoed
    assert "(record): unexpected key (it takes: whys, root_cause, contributing_factors" in text
    assert "whys.0: unexpected key (it takes: question, answer)" in text


async def test_a_comparison_or_a_quoted_tag_in_an_analysis_is_not_a_template_placeholder(tmp_path: Path) -> None:
    """An analysis that said "while attempts < max_attempts and delay > 0" or quoted a `<div>` was refused as "holds a
    template placeholder"; a slot such as <Title of Incident> still is."""
    analysis = written()
    analysis["root_cause"] = "The retry loop ran while attempts < max_attempts and delay > 0, with no shared budget."
    analysis["whys"][1]["answer"] = "Its retry loop had no backoff; a `<div>` in the error page hid the retry-after."
    result, stored = await record(tmp_path, json.dumps(analysis))
    assert not result.is_error, result.content
    assert stored.root_cause == analysis["root_cause"]
    analysis["root_cause"] = "The retry loop had no shared budget: <Title of Incident>."
    refused, _ = await record(tmp_path / "slot", json.dumps(analysis))
    assert refused.is_error and "template placeholder" in refused.content[0].text


async def test_a_whole_valid_analysis_is_kept_when_the_model_ran_on_to_its_token_limit_after_it(tmp_path: Path) -> None:
    """A client's model that wrote the whole analysis and then rambled on until its token limit (stop reason
    maxTokens) had its valid analysis refused as "cut off at the token limit", twice, and nothing stored."""
    asked: list[Any] = []

    async def sampler(context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        asked.append(params)
        text = f"```json\n{draft().model_dump_json()}\n```\nSome notes on why each of these whys holds, and"
        return CreateMessageResult(
            role="assistant", model="m", content=TextContent(type="text", text=text), stop_reason="maxTokens"
        )

    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service), sampling_callback=sampler) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        result = await client.call_tool("draft_analysis", {"incident_id": incident_id})
    assert not result.is_error, result.content
    assert service.get_incident(incident_id).analysis.root_cause == draft().root_cause  # type: ignore[union-attr]


async def test_whys_and_factors_sent_as_plain_strings_are_read_as_answers_and_factors(tmp_path: Path) -> None:
    """Assistants send `"whys": ["Because X", "Because Y"]` and factors as sentences: both were refused ("whys.0:
    Input should be an object"), though each string says exactly what its why answers or what the factor is."""
    analysis = written()
    whys = [w["answer"] for w in analysis["whys"]]
    analysis["whys"] = [*whys[:2], f"Why did that happen? {whys[2]}", *whys[3:]]
    analysis["contributing_factors"] = ["No jitter on retries", "shared quota -> synchronised bursts"]
    result, stored = await record(tmp_path, json.dumps(analysis))
    assert not result.is_error, result.content
    assert [w.answer for w in stored.whys] == whys
    assert [w.question for w in stored.whys][:3] == [
        "Why did this happen?",
        "What made that possible?",
        "Why did that happen?",
    ]
    assert [(f.factor, f.effect) for f in stored.contributing_factors] == [
        ("No jitter on retries", "the incident"),
        ("shared quota", "synchronised bursts"),
    ]
