"""A stateless server (`serve --transport http --stateless`) keeps no MCP session, so it has no stream for a client to
open with GET /mcp: it says so at once (405, as the streamable HTTP transport allows) instead of holding the request."""

import httpx

from agent_postmortem.service.facade import PostmortemService
from tests.http.mcp_requests import AUTH, HEADERS, INIT
from tests.http_server import serving


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
