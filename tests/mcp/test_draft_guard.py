"""A draft that is not an analysis is not stored, whoever wrote it: the assistant through record_analysis (refused
with the reasons), the client's model through sampling and the server's LLM (one repair round with the reasons)."""

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from mcp import Client
from mcp.types import CreateMessageRequestParams, CreateMessageResult, TextContent

from agent_postmortem.errors import DraftError
from agent_postmortem.llm.openai_compatible import OpenAILLM
from agent_postmortem.mcp.server import create_server
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.search.embedding import Embedder
from tests.analyses import FLAGS, STARVATION, STARVED
from tests.factories import CAPTURE, FakeLLM, draft, make_service
from tests.fake_openai import FakeOpenAI

pytestmark = pytest.mark.anyio


class Sampler:
    """A client model answering sampling requests with queued texts (the last repeated), recording the requests."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.requests: list[CreateMessageRequestParams] = []

    async def __call__(self, context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        self.requests.append(params)
        text = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return CreateMessageResult(role="assistant", model="client-model", content=TextContent(type="text", text=text))


def junk() -> dict[str, object]:
    """The demo's draft: a template slot as the root cause, three identical items and a discount nobody asked for."""
    same = {
        "title": "Review the incident and improve things",
        "owner_role": "team",
        "priority": "P1",
        "due_in_days": 7,
        "addresses": "root cause",
    }
    discount = {**same, "title": "Take 5% off every order for next quarter", "addresses": "customers"}
    return {**draft().model_dump(), "root_cause": "<Title of Incident>", "action_items": [same, same, same, discount]}


async def test_a_junk_draft_sent_with_record_analysis_is_refused_with_its_reasons_and_nothing_is_stored(
    tmp_path: Path,
) -> None:
    service = make_service(tmp_path)
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        result = await client.call_tool(
            "record_analysis", {"incident_id": incident_id, "analysis_json": json.dumps(junk())}
        )
        text = result.content[0].text  # type: ignore[union-attr]
        assert result.is_error and "not stored" in text, text
        assert "the root cause holds a template placeholder (<Title of Incident>)" in text
        assert "action items 1 and 2 are the same" in text
        assert "action item 4: nothing to do with the incident" in text
        shown = await client.call_tool("get_incident", {"incident_id": incident_id})
    assert shown.structured_content["analysis"] is None  # type: ignore[index]
    assert service.get_incident(incident_id).analysis is None


# A root cause written as people write them (dfds/postmortems, "Prometheus is down with connection refused", 2022):
# the sentence that blames sits behind a system fact, so the refusal must say which words to change.
HELM_ROOT_CAUSE = (
    "No resource requests or limits were set on the Helm chart that deploys the Prometheus pod. "
    "We wrongly assumed the Helm chart were setting resource requests and limits by default."
)


async def test_a_root_cause_that_blames_is_refused_quoting_the_words_and_a_systemic_rewrite(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    capture = {
        "title": "Prometheus is down with connection refused",
        "description": "The Prometheus pod was OOM killed repeatedly: its Helm chart set no resource requests or "
        "limits, so the node ran out of memory and Prometheus answered connection refused.",
    }
    answer = {**draft().model_dump(), "root_cause": HELM_ROOT_CAUSE}
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", capture)).structured_content["id"]  # type: ignore[index]
        result = await client.call_tool(
            "record_analysis", {"incident_id": incident_id, "analysis_json": json.dumps(answer)}
        )
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and "not stored" in text, text
    assert "the root cause blames a person ('We wrongly assumed': person_as_cause)" in text, text
    assert "for example 'The Helm chart was assumed" in text, text
    assert service.get_incident(incident_id).analysis is None


async def test_a_stored_draft_records_the_checks_it_passed(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        result = await client.call_tool(
            "record_analysis", {"incident_id": incident_id, "analysis_json": draft().model_dump_json()}
        )
    assert not result.is_error, result.content
    assert {"placeholders", "distinct_items", "root_cause_grounded"} <= set(result.structured_content["checks"])  # type: ignore[index]


async def test_a_junk_client_draft_gets_the_repair_round_with_the_guards_reasons(tmp_path: Path) -> None:
    sampler = Sampler(json.dumps(junk()), draft().model_dump_json())
    service = make_service(tmp_path, llm=FakeLLM())
    async with Client(create_server(lambda: service), sampling_callback=sampler) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        result = await client.call_tool("draft_analysis", {"incident_id": incident_id})
    assert not result.is_error, result.content
    asked = sampler.requests[1].messages[-1].content.text  # type: ignore[union-attr]
    assert "template placeholder" in asked and "are the same" in asked
    assert result.structured_content["root_cause"] == draft().root_cause  # type: ignore[index]


async def test_a_client_draft_of_another_incident_gets_the_repair_round_with_the_reason_the_store_gives(
    tmp_path: Path, embedder: Embedder
) -> None:
    """The client's model answered with an analysis of another incident: no repair round was asked (it was checked
    without the embedder), and the store then refused it, so the model never heard why. It now hears it at once."""
    sampler = Sampler(FLAGS.model_dump_json(), STARVATION.model_dump_json())
    service = make_service(tmp_path, llm=FakeLLM(), embedder=embedder)
    async with Client(create_server(lambda: service), sampling_callback=sampler) as client:
        incident_id = (await client.call_tool("capture_incident", STARVED)).structured_content["id"]  # type: ignore[index]
        result = await client.call_tool("draft_analysis", {"incident_id": incident_id})
    assert not result.is_error, result.content
    assert len(sampler.requests) == 2
    asked = sampler.requests[1].messages[-1].content.text  # type: ignore[union-attr]
    assert f"the analysis has little to do with {incident_id} (cosine 0." in asked
    assert result.structured_content["root_cause"] == STARVATION.root_cause  # type: ignore[index]
    assert "relevant" in result.structured_content["checks"]  # type: ignore[index]


def test_a_junk_endpoint_draft_gets_the_repair_round_with_the_guards_reasons(tmp_path: Path) -> None:
    with FakeOpenAI() as fake, openai.OpenAI(base_url=fake.base_url, api_key="t", max_retries=0, timeout=5) as client:
        fake.enqueue(json.dumps(junk()))
        fake.enqueue(draft().model_dump_json())
        service = make_service(tmp_path, llm=OpenAILLM(client, "fake"))
        incident_id = service.capture_incident(IncidentCreate.model_validate(CAPTURE)).id
        analysis = service.draft_analysis(incident_id)
        repair = fake.requests[1]["messages"][-1]["content"]
    assert analysis.root_cause == draft().root_cause
    assert "template placeholder" in repair and "nothing to do with the incident" in repair


def test_a_junk_endpoint_draft_still_junk_after_the_repair_is_not_stored(tmp_path: Path) -> None:
    with FakeOpenAI() as fake, openai.OpenAI(base_url=fake.base_url, api_key="t", max_retries=0, timeout=5) as client:
        fake.enqueue(json.dumps(junk()))
        fake.enqueue(json.dumps(junk()))
        service = make_service(tmp_path, llm=OpenAILLM(client, "fake"))
        incident_id = service.capture_incident(IncidentCreate.model_validate(CAPTURE)).id
        with pytest.raises(DraftError, match="template placeholder"):
            service.draft_analysis(incident_id)
    assert service.get_incident(incident_id).analysis is None
