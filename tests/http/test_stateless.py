"""A stateless server (`serve --transport http --stateless`) keeps no MCP session, so it has no stream for a client to
open with GET /mcp: it says so at once (405, as the streamable HTTP transport allows) instead of holding the request.
A server with sessions answers a session id it does not hold with 404 saying why and what to do."""

from pathlib import Path

import httpx
import pytest

from agent_postmortem.evals.replicas import free_port
from agent_postmortem.service.facade import PostmortemService
from tests.http.mcp_requests import AUTH, HEADERS, INIT, TOKEN
from tests.http_server import serve_process, serving


def test_get_on_a_stateless_server_is_refused_at_once_saying_to_post(service: PostmortemService) -> None:
    """As found with curl: GET /mcp on a stateless server answered 200 text/event-stream and then nothing, ever (no
    session, so no message could come on it): the request hung until the client gave up, one held connection per
    client that opens the stream. Now 405 with `Allow: POST` and a JSON-RPC error saying why; POST still works."""
    with serving(service, stateless=True) as url, httpx.Client(base_url=url, timeout=5) as client:
        refused = client.get("/mcp", headers=HEADERS | AUTH)
        unauthorized = client.get("/mcp", headers=HEADERS)
        served = client.post("/mcp", json=INIT, headers=HEADERS | AUTH)
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"
    error = refused.json()["error"]
    assert error["code"] == -32600 and "stateless" in error["message"] and "POST" in error["message"]
    assert unauthorized.status_code == 401  # the token is still asked for first
    assert served.status_code == 200 and "mcp-session-id" not in served.headers


def test_get_on_a_server_with_sessions_still_opens_the_stream_of_a_session(service: PostmortemService) -> None:
    with serving(service) as url, httpx.Client(base_url=url, timeout=5) as client:
        assert client.get("/mcp", headers=HEADERS | AUTH).status_code == 400  # no session id: the transport's answer


def test_an_unknown_session_id_gets_404_saying_why_and_to_initialize_again(service: PostmortemService) -> None:
    """As found with curl after a restart: the SDK's 404 said only "Session not found"; a client that shows it (rather
    than starting a new session, as the transport asks) left its user nothing to act on."""
    with serving(service) as url, httpx.Client(base_url=url, timeout=5) as client:
        headers = HEADERS | AUTH | {"mcp-session-id": "0123456789abcdef0123456789abcdef"}
        answer = client.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=headers)
    assert answer.status_code == 404  # the status a client starts a new session on
    message = answer.json()["error"]["message"]
    assert message.startswith("Session not found") and "restarted" in message and "initialize" in message


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_client_whose_server_restarted_goes_on_in_a_new_session(tmp_path: Path) -> None:
    """The Python MCP client, its server restarted under it (its session gone): the next call is served."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    port = free_port()
    first = serve_process(tmp_path / "home", {"POSTMORTEM_HTTP_TOKEN": TOKEN}, port=port)
    url = first.__enter__()
    try:
        async with (
            httpx2.AsyncClient(headers=AUTH, timeout=60) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            assert not (await client.call_tool("list_incidents", {})).is_error
            first.__exit__(None, None, None)  # stopped; leaving the generator again later does nothing
            with serve_process(tmp_path / "home", {"POSTMORTEM_HTTP_TOKEN": TOKEN}, port=port):
                assert not (await client.call_tool("list_incidents", {})).is_error
    finally:
        first.__exit__(None, None, None)
