"""Drafting over MCP through every writer: the client's model (sampling, both protocol eras), the server's LLM,
and the assistant itself (five_whys prompt + record_analysis)."""

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CreateMessageRequestParams, CreateMessageResult, TextContent

from server.tools import create_server
from tests.conftest import FakeLLM, make_service
from tests.test_tools import CAPTURE, MODES, draft

pytestmark = pytest.mark.anyio


class Sampler:
    """A client model: answers sampling requests with queued texts and records what it was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.requests: list[CreateMessageRequestParams] = []

    async def __call__(self, context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        self.requests.append(params)
        text = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return CreateMessageResult(role="assistant", model="client-model", content=TextContent(type="text", text=text))


def fenced(text: str) -> str:
    return f"```json\n{text}\n```"


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
    assert set(tools["draft_analysis"].input_schema["properties"]) == {"incident_id"}
    assert set(tools["record_analysis"].input_schema["properties"]) == {"incident_id", "analysis_json"}


@MODES
async def test_an_invalid_client_draft_falls_back_to_the_servers_llm(tmp_path: Path, mode: str) -> None:
    service = make_service(tmp_path, llm=FakeLLM(draft()))
    sampler = Sampler('{"whys": "not a list"}')
    async with Client(create_server(lambda: service), mode=mode, sampling_callback=sampler) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        result = await client.call_tool("draft_analysis", {"incident_id": incident_id})
    assert result.structured_content["generated_by"] == "fake"  # type: ignore[index]


@MODES
async def test_without_any_model_the_error_points_to_the_assistant_path(tmp_path: Path, mode: str) -> None:
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service), mode=mode, sampling_callback=Sampler("nonsense")) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        bad_sample = await client.call_tool("draft_analysis", {"incident_id": incident_id})
    async with Client(create_server(lambda: service), mode=mode) as client:
        no_sampling = await client.call_tool("draft_analysis", {"incident_id": incident_id})
    for result in (bad_sample, no_sampling):
        assert result.is_error and "five_whys" in result.content[0].text  # type: ignore[union-attr]
    assert "nonsense" not in bad_sample.content[0].text  # type: ignore[union-attr]


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
async def test_the_assistant_writes_the_analysis_from_the_five_whys_prompt(tmp_path: Path, mode: str) -> None:
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service), mode=mode) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        prompt = await client.get_prompt("five_whys", {"incident_id": incident_id})
        bad = await client.call_tool(
            "record_analysis", {"incident_id": incident_id, "analysis_json": '{"root_cause": "sk-live-CANARY"}'}
        )
        good = await client.call_tool(
            "record_analysis", {"incident_id": incident_id, "analysis_json": draft().model_dump_json()}
        )
    text = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert f'record_analysis tool with incident_id "{incident_id}"' in text
    assert '"title":"AnalysisDraft"' in text and CAPTURE["title"] in text and "<DATA-" in text
    assert bad.is_error and "whys" in bad.content[0].text and "CANARY" not in bad.content[0].text  # type: ignore[union-attr]
    assert good.structured_content["generated_by"] == "assistant"  # type: ignore[index]
    assert service.get_incident(incident_id).analysis is not None
    assert json.loads(good.content[0].text)["root_cause"] == draft().root_cause  # type: ignore[union-attr]
