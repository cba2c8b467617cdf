"""The real server as a subprocess: `postmortem serve` over stdio and over streamable HTTP, driven by the SDK
client, with the real store, chromadb and the bundled embedding model."""

import json
import subprocess
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from agent_postmortem.evals.replicas import free_port
from tests.processes import CLI, server_env, wait_for_port

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def exercise(client: Client) -> None:
    captured = await client.call_tool(
        "capture_incident",
        {
            "title": "Research agent cited a paper that does not exist",
            "description": "The model fabricated a DOI and an author list.",
            "user_facing": True,
        },
    )
    assert not captured.is_error, captured.content
    incident_id = captured.structured_content["id"]  # type: ignore[index]
    assert captured.structured_content["category"] == "llm_hallucination"  # type: ignore[index]
    found = await client.call_tool("search_incidents", {"query": "made-up citation to a non-existent paper"})
    assert found.structured_content["hits"][0]["id"] == incident_id  # type: ignore[index]
    report = await client.read_resource(f"report://{incident_id}")
    assert "Research agent cited a paper" in report.contents[0].text  # type: ignore[union-attr]


async def test_stdio_server_end_to_end(tmp_path: Path) -> None:
    params = StdioServerParameters(command=CLI, args=["serve"], env=server_env(tmp_path))
    async with Client(params) as client:
        await exercise(client)


async def test_http_server_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "server.log").open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [CLI, "serve", "--transport", "http", "--port", str(port)],
        env=server_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            await exercise(client)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_stdout_of_the_stdio_server_carries_only_json_rpc(tmp_path: Path) -> None:
    """Every byte the server writes to stdout, through start-up, model loading and a tool call, is protocol."""
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "capture_incident", "arguments": {"title": "Agent hit 429 Too Many Requests"}},
        },
    ]
    proc = subprocess.Popen(
        [CLI, "serve"],
        env=server_env(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    lines = []
    try:
        for message in messages:
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()
        while True:  # read until the tool call is answered, then close stdin
            line = proc.stdout.readline()
            assert line, "server closed stdout before answering"
            lines.append(line)
            if json.loads(line).get("id") == 2:
                break
        proc.stdin.close()
        lines += proc.stdout.readlines()
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
    decoded = [json.loads(line) for line in lines if line.strip()]
    answer = next(m for m in decoded if m.get("id") == 2)
    assert answer["result"]["structuredContent"]["category"] == "rate_limit"
