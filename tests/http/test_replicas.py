"""Stateless streamable HTTP: two `postmortem serve --transport http --stateless` processes on one home, and one
client whose consecutive requests alternate between them, as behind a load balancer without affinity. Every request
succeeds, what one replica stored the other finds, and no MCP session id is ever issued."""

import asyncio
import contextlib
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
    records are in one SQLite home or in PostgreSQL (where replicas on other machines share no file). Each round is a
    new failure sent by four connected clients at once, two to each replica."""
    token = secrets.token_urlsafe(32)
    env = {"POSTMORTEM_MODEL_CACHE": os.environ["POSTMORTEM_MODEL_CACHE"], "POSTMORTEM_HTTP_TOKEN": token}
    home = tmp_path / "home"
    home.mkdir()
    rounds: list[list[str]] = []
    with replicas(2, home=home, env={**env, **database.settings(home)}) as ports:
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(client(ports[:: 1 - 2 * (n % 2)], token)) for n in range(4)]

            async def capture(mcp: Any, failure: dict[str, str], ids: list[str]) -> None:
                ids.append(_ok(await mcp.call_tool("capture_incident", failure))["id"])

            for n in range(6):
                failure = {**BURST, "agent": f"ledger-bot-{n}", "title": f"{BURST['title']} ({n})"}
                rounds.append([])
                async with anyio.create_task_group() as group:
                    for mcp, _ in clients:
                        group.start_soon(capture, mcp, failure, rounds[-1])
            listed = _ok(await clients[0][0].call_tool("list_incidents", {"limit": 50}))
    assert [len(set(ids)) for ids in rounds] == [1] * 6, rounds
    assert sorted(i["id"] for i in listed["incidents"]) == sorted(ids[0] for ids in rounds)


async def test_two_clients_on_two_replicas_working_one_incident_at_once_lose_nothing(
    tmp_path: Path, database: HomeDatabases
) -> None:
    """As found with two MCP clients on two replicas over PostgreSQL: both marking one action item completed at once
    left two `open -> completed` changes in its history (each had read it open): an item completed twice without a
    reopen between. Now one of them records the change and the other finds nothing to change; comments from both
    are all kept; the item reopened and completed again has one history entry per real change."""
    token = secrets.token_urlsafe(32)
    env = {"POSTMORTEM_MODEL_CACHE": os.environ["POSTMORTEM_MODEL_CACHE"], "POSTMORTEM_HTTP_TOKEN": token}
    home = tmp_path / "home"
    home.mkdir()
    with replicas(2, home=home, env={**env, **database.settings(home)}) as ports:
        async with client(ports, token) as (alice, _), client(ports[::-1], token) as (bob, _):
            incident = _ok(
                await alice.call_tool("capture_incident", {"title": "Checkout agent charged twice on retry"})
            )
            iid = incident["id"]
            item = _ok(await bob.call_tool("add_action_item", {"incident_id": iid, "title": "Send idempotency keys"}))

            async def work(mcp: Any, who: str) -> None:
                for n in range(6):
                    await mcp.call_tool("add_timeline_event", {"incident_id": iid, "description": f"{who} note {n}"})
                    await mcp.call_tool(
                        "update_action_item", {"action_id": item["id"], "status": "completed", "by": who}
                    )

            for _ in range(3):  # complete at once, then reopen
                async with anyio.create_task_group() as group:
                    group.start_soon(work, alice, "alice")
                    group.start_soon(work, bob, "bob")
                _ok(await alice.call_tool("update_action_item", {"action_id": item["id"], "status": "open"}))
            final = _ok(await bob.call_tool("get_action_item", {"action_id": item["id"]}))
            shown = _ok(await alice.call_tool("get_incident", {"incident_id": iid}))
    changes = [(c["old"], c["new"]) for c in final["history"] if c["field"] == "status"]
    assert changes == [("open", "completed"), ("completed", "open")] * 3
    assert final["status"] == "open" and final["completed_at"] is None
    notes = {e["description"] for e in shown["timeline"]}
    assert {f"{who} note {n}" for who in ("alice", "bob") for n in range(6)} <= notes
