"""Drafting over MCP by the client's model (sampling, both protocol eras): where its JSON sits in a prose answer, the
one repair round, an answer cut off at its token limit, a client that declines or is too slow, and sampling switched
off."""

import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CreateMessageRequestParams, CreateMessageResult, ErrorData, ImageContent, TextContent

from agent_postmortem.mcp.server import create_server
from tests.factories import CAPTURE, MODES, FakeLLM, draft, make_service
from tests.mcp.sampling import Sampler, drafted, fenced
from tests.processes import stdio_server

pytestmark = pytest.mark.anyio


@MODES
async def test_the_clients_model_drafts_when_it_offers_sampling(tmp_path: Path, mode: str) -> None:
    llm = FakeLLM()  # configured, but the client's model comes first
    service = make_service(tmp_path, llm=llm)
    sampler = Sampler(fenced(draft().model_dump_json()))
    async with Client(create_server(lambda: service), mode=mode, sampling_callback=sampler) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        result = await client.call_tool("draft_analysis", {"incident_id": incident_id})
    assert not result.is_error, result.content
    stored = result.structured_content
    assert stored["generated_by"] == "sampling" and stored["llm_model"] == "client-model"  # type: ignore[index]
    assert llm.calls == []
    request = sampler.requests[0]
    assert request.temperature == 0 and request.system_prompt is not None
    assert '"title":"AnalysisDraft"' in request.system_prompt  # the schema travels with the request
    text = request.messages[0].content.text  # type: ignore[union-attr]
    nonce = request.system_prompt.split("<DATA-")[1].split(">")[0]
    assert f"<DATA-{nonce}>" in text and CAPTURE["title"] in text.split(f"<DATA-{nonce}>")[1]
    assert all(r == request for r in sampler.requests)  # identical on every round of the modern era


async def test_the_client_draft_is_not_an_argument_the_model_fills_in(tmp_path: Path) -> None:
    async with Client(create_server(lambda: make_service(tmp_path))) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools["draft_analysis"].input_schema["properties"]) == {"incident_id", "track"}
    assert set(tools["record_analysis"].input_schema["properties"]) == {"incident_id", "analysis_json", "track"}


@MODES
async def test_the_json_in_a_prose_answer_is_found_wherever_it_sits(tmp_path: Path, mode: str) -> None:
    answers = [
        f"Here is the analysis:\n{fenced(draft().model_dump_json(indent=2))}\nLet me know if you want changes.",
        f"Sure! {draft().model_dump_json()} I kept every answer short; the format is {{}} as asked.",
    ]
    for n, answer in enumerate(answers):
        sampler = Sampler(answer)
        result = await drafted(make_service(tmp_path / str(n), llm=FakeLLM()), sampler, mode)
        assert not result.is_error, result.content
        assert result.structured_content["root_cause"] == draft().root_cause  # type: ignore[index]
        assert len(sampler.requests) == 1  # no repair round needed


@MODES
async def test_an_invalid_client_draft_gets_one_repair_round_with_what_was_wrong(tmp_path: Path, mode: str) -> None:
    llm = FakeLLM(draft())  # configured, but never used in place of the client's model
    sampler = Sampler('{"whys": "not a list"}', "Fixed:\n" + fenced(draft().model_dump_json()))
    result = await drafted(make_service(tmp_path, llm=llm), sampler, mode)
    assert not result.is_error, result.content
    assert result.structured_content["generated_by"] == "sampling" and llm.calls == []  # type: ignore[index]
    first, repair = sampler.requests
    assert repair.system_prompt == first.system_prompt and repair.messages[0] == first.messages[0]
    said, asked = repair.messages[1:]
    assert said.role == "assistant" and said.content.text == '{"whys": "not a list"}'  # type: ignore[union-attr]
    assert asked.role == "user" and "whys" in asked.content.text and "root_cause" in asked.content.text  # type: ignore[union-attr]


@MODES
async def test_a_client_draft_cut_off_at_its_token_limit_is_asked_again_shorter(tmp_path: Path, mode: str) -> None:
    whole = draft().model_dump_json()
    sampler = Sampler((whole[: len(whole) // 2], "maxTokens"), whole)
    result = await drafted(make_service(tmp_path, llm=None), sampler, mode)
    assert not result.is_error, result.content
    assert "cut off" in sampler.requests[1].messages[-1].content.text  # type: ignore[union-attr]


@MODES
async def test_a_client_draft_still_invalid_after_the_repair_says_exactly_what_was_wrong(
    tmp_path: Path, mode: str
) -> None:
    llm = FakeLLM(draft())
    for n, server_llm in enumerate((llm, None)):  # POSTMORTEM_LLM=auto with a server LLM, and =sampling
        sampler = Sampler('{"whys": "not a list", "root_cause": "sk-live-CANARY"}')
        result = await drafted(make_service(tmp_path / str(n), llm=server_llm), sampler, mode)
        text = result.content[0].text  # type: ignore[union-attr]
        assert result.is_error and "not valid after one repair round" in text, text
        assert "whys: Input should be a valid array" in text and "action_items: Field required" in text
        assert "does not offer sampling" not in text and "CANARY" not in text and "five_whys" in text
        assert len(sampler.requests) == 2
    assert llm.calls == []  # the client's answer is not silently replaced by the server's draft


@MODES
async def test_a_bad_client_draft_is_an_error_not_replaced_by_the_assistant_path(tmp_path: Path, mode: str) -> None:
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service), mode=mode, sampling_callback=Sampler("nonsense")) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        bad_sample = await client.call_tool("draft_analysis", {"incident_id": incident_id})
    text = bad_sample.content[0].text  # type: ignore[union-attr]
    assert bad_sample.is_error and "five_whys" in text and "nonsense" not in text
    assert service.get_incident(incident_id).analysis is None


async def test_an_answer_without_json_is_told_to_answer_with_one_json_object(tmp_path: Path) -> None:
    """As found over stdio: prose without any JSON, from the client's model or the assistant, was "(record): Invalid
    JSON: expected value at line 1 column 1", in the repair request and in both tools' errors."""
    service = make_service(tmp_path, llm=None)
    sampler = Sampler("Sure! Here is the analysis: the subnet ran out of IPs.")
    async with Client(create_server(lambda: service), mode="legacy", sampling_callback=sampler) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        drafted = await client.call_tool("draft_analysis", {"incident_id": incident_id})
        recorded = await client.call_tool("record_analysis", {"incident_id": incident_id, "analysis_json": "Sure!"})
    repair = sampler.requests[1].messages[-1].content.text  # type: ignore[union-attr]
    for text in (drafted.content[0].text, recorded.content[0].text, repair):  # type: ignore[union-attr]
        assert "holds no JSON object: answer with the analysis as one JSON object" in text and "(record)" not in text


@MODES
async def test_a_client_model_that_answers_an_image_is_told_it_sent_no_text(tmp_path: Path, mode: str) -> None:
    """A multimodal client model answering with an image was told its answer "holds no JSON object", which does not
    say what it did wrong; it is now told it sent no text, only image content, and its text repair is stored."""
    asked: list[CreateMessageRequestParams] = []

    async def image_then_text(context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        asked.append(params)
        if len(asked) == 1:
            image = ImageContent(type="image", data="aGVsbG8=", mime_type="image/png")
            return CreateMessageResult(role="assistant", model="client-model", content=image)
        text = TextContent(type="text", text=draft().model_dump_json())
        return CreateMessageResult(role="assistant", model="client-model", content=text)

    result = await drafted(make_service(tmp_path, llm=None), image_then_text, mode)  # type: ignore[arg-type]
    assert not result.is_error, result.content
    repair = asked[1].messages[-1].content.text  # type: ignore[union-attr]
    assert "the answer held no text, only image content: answer in text" in repair, repair
    assert "holds no JSON object" not in repair


@pytest.mark.parametrize("answers", [[], ["nonsense"]], ids=["first", "repair"])
async def test_a_client_that_declines_to_sample_gets_the_analysis_to_write_itself_not_a_protocol_error(
    tmp_path: Path, answers: list[str]
) -> None:
    """As found over stdio in the handshake era (Claude Desktop's "decline", a client that cannot sample): the
    client's error came back as a JSON-RPC error carrying only its own words, "User rejected sampling request",
    with nothing the assistant could do next. (On 2026-07-28 a refusing client fails its own call: the server never
    hears of it.)"""
    sampler = Sampler(*answers) if answers else None

    async def decline(context: Any, params: CreateMessageRequestParams) -> CreateMessageResult | ErrorData:
        if sampler is not None and not sampler.requests:
            return await sampler(context, params)
        return ErrorData(code=-1, message="User rejected\nsampling request " + "x" * 500)

    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service), mode="legacy", sampling_callback=decline) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        asked = await client.call_tool("draft_analysis", {"incident_id": incident_id})
    text = asked.content[0].text  # type: ignore[union-attr]
    assert not asked.is_error and asked.structured_content["status"] == "write_it_yourself", text  # type: ignore[index]
    round_ = "repair" if answers else "first"
    assert f"your client did not answer the {round_} sampling request (User rejected sampling request xxx" in text
    assert "x" * 200 not in text and "record_analysis" in text
    assert service.get_incident(incident_id).analysis is None


async def test_a_client_model_slower_than_the_llm_time_limit_gets_the_analysis_to_write_itself(tmp_path: Path) -> None:
    """The real `postmortem serve` in the handshake era: a client whose model took 25 s per sampling request held
    draft_analysis for 50 s (the first request and the repair) whatever POSTMORTEM_LLM_TIMEOUT said."""

    async def slow(context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        await anyio.sleep(25)
        return CreateMessageResult(
            role="assistant", model="slow", content=TextContent(type="text", text="{}"), stop_reason="endTurn"
        )

    server = stdio_server(tmp_path, {"POSTMORTEM_LLM": "auto", "POSTMORTEM_LLM_TIMEOUT": "2"})
    async with Client(server, mode="legacy", sampling_callback=slow) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        started = time.monotonic()
        asked = await client.call_tool("draft_analysis", {"incident_id": incident_id})
        took = time.monotonic() - started
        shown = (await client.call_tool("get_incident", {"incident_id": incident_id})).structured_content
    text = asked.content[0].text  # type: ignore[union-attr]
    assert took < 15 and not asked.is_error and asked.structured_content["status"] == "write_it_yourself", (took, text)  # type: ignore[index]
    assert "did not answer the first sampling request (no answer within 2 s" in text
    assert "POSTMORTEM_LLM_TIMEOUT" in text
    assert shown["analysis"] is None and "record_analysis" in text  # type: ignore[index]


@MODES
async def test_sampling_can_be_switched_off(tmp_path: Path, mode: str) -> None:
    service = make_service(tmp_path, llm=FakeLLM(draft()))
    sampler = Sampler(draft().model_dump_json())
    server = create_server(lambda: service, sampling=False)
    async with Client(server, mode=mode, sampling_callback=sampler) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        result = await client.call_tool("draft_analysis", {"incident_id": incident_id})
    assert result.structured_content["generated_by"] == "fake" and sampler.requests == []  # type: ignore[index]


@MODES
async def test_a_client_draft_cut_short_twice_is_refused_in_plain_words(tmp_path: Path, mode: str) -> None:
    """As found over stdio: a client whose model's answers were cut short (without saying so) got "(record): Invalid
    JSON: EOF while parsing a string at line 1 column 86", the parser's words."""
    whole = draft().model_dump_json()
    result = await drafted(make_service(tmp_path, llm=None), Sampler(whole[:86]), mode)
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and "the JSON is not complete: it stops at line 1, column 86" in text, text
    assert "Invalid JSON" not in text and "EOF" not in text and "(record)" not in text, text
    assert "Call draft_analysis again" in text
