"""Every MCP tool over streamable HTTP, as `postmortem serve --transport http` builds the app, called the way models
and clients get calls wrong: each mistake is a tool error the model can act on, never a protocol error, never the
SDK's bare "Error executing tool X", never the rejected value echoed back."""

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from agent_postmortem.service.facade import PostmortemService
from tests.http_server import TOKEN, serving

pytestmark = pytest.mark.anyio
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "sk-proj-Zq9XvT4mLrW2pK8nB6cD1fG3hJ5kL7mN9pQ"
HEADERS = AUTH | {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
def url(service: PostmortemService) -> Iterator[str]:
    with serving(service) as base:
        yield base


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers=AUTH, timeout=60) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        await client.call_tool("capture_incident", {"title": "Refund agent quoted a refund policy that does not exist"})
        yield client


@pytest.mark.parametrize(
    ("tool", "arguments", "said"),
    [
        ("get_incident", {"incident_id": "INC-²"}, "That is not a valid incident id; ids look like INC-42."),
        ("get_action_item", {"action_id": "AI-①"}, "That is not a valid action item id"),
        ("get_incident", {"incident_id": "AI-1"}, "That is an action item id; an incident id is wanted here"),
        ("render_report", {"incident_id": "ai-1"}, "That is an action item id; an incident id is wanted here"),
        ("get_incident", {"incident_id": "PAT-3"}, "PAT-3 is a pattern id; an incident id is wanted here. Its inc"),
        ("update_action_item", {"action_id": "INC-1", "status": "completed"}, "That is an incident id; an action"),
        ("add_timeline_event", {"incident_id": "INC-1", "description": "d", "at": 1.5}, "not a number"),
        ("add_timeline_event", {"incident_id": "INC-1", "description": "d", "at": "-2.5e3"}, "not a number"),
        (SECRET, {}, "No tool of that name; the tools are: capture_incident, "),
        ("Z" * 300_000, {}, "No tool of that name"),
    ],
    ids=["superscript-id", "circled-id", "action-for-incident", "lower-action", "pattern-for-incident",
         "incident-for-action",
         "float-time", "number-text-time", "secret-tool-name", "huge-tool-name"],
)  # fmt: skip
async def test_a_wrong_argument_is_a_tool_error_that_says_what_to_do(
    url: str, tool: str, arguments: dict[str, Any], said: str
) -> None:
    """As found over HTTP: 'INC-²' was a bare "Error executing tool get_incident" (str.isdigit holds, int refuses);
    an action item id where an incident id goes said only "not a valid incident id"; at=1.5 stored an event at
    1970-01-01T00:00:01.5; an unknown tool's name was sent back whole (a secret, or 300 KB)."""
    async with connected(url) as client:
        result = await client.call_tool(tool, arguments)
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and said in text, text
    assert SECRET not in text and len(text) < 1_000 and "Traceback" not in text


def rpc(url: str, arguments: object, name: object = "get_incident") -> dict[str, Any]:
    """A tools/call as raw JSON-RPC, as a client passes on what its model wrote (the Python client takes a dict)."""
    with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as http:
        init = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        opened = http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
        session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
        params = {"name": name, "arguments": arguments}
        answer = http.post(
            "/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}, headers=session
        )
    data = "".join(line[5:] for line in answer.text.splitlines() if line.startswith("data:")) or answer.text
    message: dict[str, Any] = json.loads(data)
    return message


async def test_arguments_sent_as_the_json_text_of_the_object_are_read_as_that_object(url: str) -> None:
    async with connected(url):
        pass
    answer = rpc(url, json.dumps({"incident_id": "INC-1"}))
    assert "error" not in answer and not answer["result"].get("isError")
    assert answer["result"]["structuredContent"]["id"] == "INC-1"


@pytest.mark.parametrize(
    ("arguments", "name", "said"),
    [
        (f'Sure, here you go: {{"incident_id": "INC-1", "key": "{SECRET}"}}', "get_incident", "not one object"),
        ('["INC-1"]', "get_incident", "not one object"),
        (["INC-1"], "get_incident", "a list was sent"),
        (7, "get_incident", "a number was sent"),
        ({}, 123, "name must be the name of a tool"),
    ],
    ids=["prose-around-json", "json-list-text", "list", "number", "number-name"],
)
def test_arguments_of_the_wrong_shape_are_a_tool_error_not_invalid_params(
    url: str, arguments: object, name: object, said: str
) -> None:
    """As found with raw JSON-RPC over HTTP: each was -32602 "Invalid request parameters" with empty data."""
    answer = rpc(url, arguments, name)
    assert "error" not in answer, answer
    text = answer["result"]["content"][0]["text"]
    assert answer["result"]["isError"] and said in text and SECRET not in text


@pytest.mark.parametrize("uri", [f"incident://INC-1?key={SECRET}", "nope://" + "Z" * 5_000, f"{SECRET}://x"])
async def test_a_uri_that_matches_no_resource_is_not_sent_back(url: str, uri: str) -> None:
    """As found over HTTP: 'Unknown resource: <the URI>' repeated whatever was sent (5,000 characters, a secret)."""
    from mcp import MCPError

    async with connected(url) as client:
        with pytest.raises(MCPError) as refused:
            await client.read_resource(uri)
    message = refused.value.error.message
    assert message.startswith("No resource at that URI; the resources are: ") and "incident://{incident_id}" in message
    assert SECRET not in message and "ZZZZ" not in message and len(message) < 1_000


async def test_a_database_that_cannot_be_reached_is_said_to_a_remote_client_without_its_host_or_port(
    url: str, service: PostmortemService, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Over HTTP with a token, the tool's answer quoted the driver's reason ("connection to server at "db.internal",
    port 5432 failed"), naming the database's host, port and role to every token holder, while the web view, signed
    in with the same tokens, said it without them. The reason now goes to the server's log only."""
    from sqlalchemy.exc import OperationalError

    refused = 'connection failed: connection to server at "db.internal" (10.0.0.7), port 5432 failed: role "pm_rw"'

    def unreachable(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception(refused))

    async with connected(url) as client:
        monkeypatch.setattr(service, "list_incidents", unreachable)
        with caplog.at_level("WARNING"):
            result = await client.call_tool("list_incidents", {})
    said = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and "could not connect to its database" in said and "nothing was changed" in said, said
    assert not any(leak in said for leak in ("db.internal", "10.0.0.7", "5432", "pm_rw")), said
    assert any("db.internal" in r.getMessage() for r in caplog.records)  # whoever runs the server reads it there
