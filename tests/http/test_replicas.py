"""Stateless streamable HTTP: two `postmortem serve --transport http --stateless` processes on one home, and one
client whose consecutive requests alternate between them, as behind a load balancer without affinity. Every request
succeeds, what one replica stored the other finds, and no MCP session id is ever issued."""

import asyncio
import os
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.evals.replicas import client, replicas

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_consecutive_requests_of_one_client_can_go_to_different_replicas(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(32)
    env = {"POSTMORTEM_MODEL_CACHE": os.environ["POSTMORTEM_MODEL_CACHE"], "POSTMORTEM_HTTP_TOKEN": token}
    with replicas(2, home=tmp_path, env=env) as ports:
        async with client(ports, token) as (mcp, transport):
            for n in range(4):
                title = f"Replica test {'abcdef'[n]} agent wrote a duplicate refund"
                captured = _ok(await mcp.call_tool("capture_incident", {"title": title}))
                assert await _found(mcp, title, captured["id"])  # the next request: the other replica
        used = [port for port, _ in transport.seen]
        assert set(used) == set(ports) and all(a != b for a, b in zip(used, used[1:], strict=False))
        assert not any("mcp-session-id" in headers for _, headers in transport.seen)


def _ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    found: dict[str, Any] = result.structured_content
    return found


async def _found(mcp: Any, query: str, incident_id: str, seconds: float = 5) -> bool:
    """The capture is the top hit within `seconds` (the other process sees committed rows within 0.25 s)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        hits = _ok(await mcp.call_tool("search_incidents", {"query": query, "limit": 1}))["hits"]
        if hits and hits[0]["id"] == incident_id:
            return True
        await asyncio.sleep(0.1)
    return False
