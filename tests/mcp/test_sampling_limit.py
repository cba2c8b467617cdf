"""POSTMORTEM_LLM_TIMEOUT bounds the client's model on both protocol eras: an answer past the limit is not used, no
repair round is asked for past it, and the repair round gets only what the first left."""

import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CreateMessageRequestParams, CreateMessageResult

from agent_postmortem.mcp.server import create_server
from tests.factories import CAPTURE, MODES, make_service
from tests.mcp.sampling import Sampler

pytestmark = pytest.mark.anyio


class SlowSampler(Sampler):
    """A client model that takes `seconds` to answer each request."""

    def __init__(self, seconds: float, *answers: str) -> None:
        super().__init__(*answers)
        self.seconds = seconds
        self.asked = 0

    async def __call__(self, context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        self.asked += 1
        await anyio.sleep(self.seconds)
        return await super().__call__(context, params)


async def _draft(tmp_path: Path, sampler: Sampler, mode: str, limit: float) -> tuple[Any, float, Any]:
    service = make_service(tmp_path, llm=None)
    server = create_server(lambda: service, sampling_timeout=limit)
    async with Client(server, mode=mode, sampling_callback=sampler) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        started = time.monotonic()
        result = await client.call_tool("draft_analysis", {"incident_id": incident_id})
        took = time.monotonic() - started
    return result, took, service.get_incident(incident_id).analysis


@MODES
async def test_a_client_model_slower_than_the_limit_is_not_used_and_gets_no_repair_round(
    tmp_path: Path, mode: str
) -> None:
    """On 2026-07-28 (the Python Client's default), with POSTMORTEM_LLM_TIMEOUT=3 a model taking 12 s per request held
    draft_analysis for 24 s: its late answer was used and a repair round asked for on top."""
    sampler = SlowSampler(5, "{}")
    result, took, analysis = await _draft(tmp_path, sampler, mode, limit=1)
    text = result.content[0].text
    assert not result.is_error and result.structured_content["status"] == "write_it_yourself", text
    assert "did not answer the first sampling request (no answer within 1 s" in text, text
    assert "raise it, or configure a model on the server" in text and "record_analysis" in text
    assert sampler.asked == 1 and analysis is None
    assert took < 9, took  # the handshake era cancels the request at 1 s; on 2026-07-28 the client's 5 s, once


@MODES
async def test_the_repair_round_gets_only_what_the_first_round_left(tmp_path: Path, mode: str) -> None:
    sampler = SlowSampler(0.7, '{"whys": "not a list"}')
    result, _, analysis = await _draft(tmp_path, sampler, mode, limit=1)
    text = result.content[0].text
    assert not result.is_error and result.structured_content["status"] == "write_it_yourself", text
    assert "did not answer the repair sampling request (no answer within 1 s" in text, text
    assert analysis is None
