"""Stateless streamable HTTP: two `postmortem serve --transport http --stateless` processes on one home, and one
client whose consecutive requests alternate between them, as behind a load balancer without affinity. Every request
succeeds, what one replica stored the other finds, and no MCP session id is ever issued."""

import asyncio
import os
import secrets
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from agent_postmortem.evals.replicas import client, replicas
from tests.factories import HomeDatabases

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


BURST = {
    "title": "Ledger sync timed out on both replicas",
    "error_type": "TimeoutError",
    "error_message": "ledger.sync timed out after 30 s",
    "agent": "ledger-bot",
    "tool": "ledger.sync",
}


async def test_a_burst_of_one_failure_across_replicas_is_one_incident(tmp_path: Path, database: HomeDatabases) -> None:
    """Replicas share the store, not memory: a retry storm reaching both at once is still one incident, whether the
    records are in one SQLite home or in PostgreSQL (where replicas on other machines share no file)."""
    token = secrets.token_urlsafe(32)
    env = {"POSTMORTEM_MODEL_CACHE": os.environ["POSTMORTEM_MODEL_CACHE"], "POSTMORTEM_HTTP_TOKEN": token}
    home = tmp_path / "home"
    home.mkdir()
    ids: list[str] = []
    with replicas(2, home=home, env={**env, **database.settings(home)}) as ports:

        async def capture(order: list[int]) -> None:
            async with client(order, token) as (mcp, _):
                ids.append(_ok(await mcp.call_tool("capture_incident", BURST))["id"])

        for _ in range(3):  # each round: both replicas at once
            async with anyio.create_task_group() as group:
                for n in range(4):
                    group.start_soon(capture, ports if n % 2 else ports[::-1])
        async with client(ports, token) as (mcp, _):
            listed = _ok(await mcp.call_tool("list_incidents", {}))
    assert len(ids) == 12 and len(set(ids)) == 1, ids
    assert [i["id"] for i in listed["incidents"]] == ids[:1]
