"""Streamable HTTP fails closed: bearer auth, strict Host/Origin lists, a body limit, no insecure binds."""

import logging
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from server.cli import app as cli
from server.http_security import InsecureBind, http_security
from server.tools import create_server

TOKEN = "s3cret-bearer-token-for-tests-0123456789"
PORT = 8765
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client() -> Iterator[TestClient]:
    security = http_security(host="127.0.0.1", port=PORT, token=TOKEN, allowed_hosts=[], allowed_origins=[])
    server = create_server(lambda: None, token_verifier=security.token_verifier, auth=security.auth)  # type: ignore[arg-type, return-value]
    asgi = server.streamable_http_app(
        transport_security=security.transport_security, max_request_body_size=security.max_body
    )
    with TestClient(asgi, base_url=f"http://127.0.0.1:{PORT}") as test_client:
        yield test_client


def test_requests_without_the_right_bearer_token_get_401_and_it_is_never_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"}):
        response = client.post("/mcp", json=INIT, headers=HEADERS | headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert client.post(f"/mcp?access_token={TOKEN}", json=INIT, headers=HEADERS).status_code == 401
    assert client.post("/mcp", json=INIT, headers=HEADERS | AUTH).status_code == 200
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]  # not the test client
    assert server_side and not any(TOKEN in line for line in server_side)


HOSTILE_HOSTS = [
    "evil.example.com",
    f"evil.example.com:{PORT}",
    "localhost.evil.com",
    "127.0.0.1.nip.io",
    f"127.0.0.1:{PORT}.evil.com",
    f"localhost:{PORT}@evil.com",
    "0.0.0.0",
    f"0.0.0.0:{PORT}",
    f"127.0.0.2:{PORT}",
    "127.0.0.1",  # no port: not what a client of this server sends
    f"127.0.0.1:{PORT + 1}",
    f"LOCALHOST:{PORT}.attacker",
]


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
def test_hostile_hosts_are_refused(client: TestClient, host: str) -> None:
    assert 400 <= client.post("/mcp", json=INIT, headers=HEADERS | AUTH | {"Host": host}).status_code < 500


@pytest.mark.parametrize("origin", ["null", "http://evil.example.com", f"http://127.0.0.1:{PORT}.evil.com"])
def test_hostile_origins_get_403(client: TestClient, origin: str) -> None:
    assert client.post("/mcp", json=INIT, headers=HEADERS | AUTH | {"Origin": origin}).status_code == 403


@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"[::1]:{PORT}"])
def test_loopback_names_with_their_origin_are_served(client: TestClient, host: str) -> None:
    headers = HEADERS | AUTH | {"Host": host, "Origin": f"http://{host}"}
    assert client.post("/mcp", json=INIT, headers=headers).status_code == 200


def test_oversized_bodies_get_413_and_health_needs_no_token(client: TestClient) -> None:
    assert client.post("/mcp", content=b"x" * (600 * 1024), headers=HEADERS | AUTH).status_code == 413
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_binding_beyond_loopback_needs_a_token_and_allowed_hosts() -> None:
    with pytest.raises(InsecureBind, match="POSTMORTEM_HTTP_TOKEN"):
        http_security(host="0.0.0.0", port=PORT, token=None, allowed_hosts=["pm.internal:8000"], allowed_origins=[])
    with pytest.raises(InsecureBind, match="POSTMORTEM_ALLOWED_HOSTS"):
        http_security(host="0.0.0.0", port=PORT, token=TOKEN, allowed_hosts=[], allowed_origins=[])
    with pytest.raises(InsecureBind, match="at least"):
        http_security(host="127.0.0.1", port=PORT, token="short", allowed_hosts=[], allowed_origins=[])
    ok = http_security(host="10.1.2.3", port=PORT, token=TOKEN, allowed_hosts=["pm.internal:8000"], allowed_origins=[])
    assert ok.transport_security.allowed_hosts == ["pm.internal:8000"] and ok.token_verifier is not None


def test_serve_refuses_an_insecure_bind_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSTMORTEM_HTTP_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--transport", "http", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "refusing to serve on 0.0.0.0" in result.stderr
    assert "Traceback" not in result.stderr


def test_each_principal_is_rate_limited_separately_and_health_is_not() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from server.http_security import RateLimit

    now = [0.0]
    inner = Starlette(
        routes=[
            Route("/mcp", lambda r: PlainTextResponse("ok"), methods=["POST"]),
            Route("/healthz", lambda r: PlainTextResponse("ok")),
        ]
    )
    limited = RateLimit(inner, per_minute=60, clock=lambda: now[0])  # bursts of 10, then 1 per second
    client = TestClient(limited)
    a, b = {"Authorization": "Bearer a"}, {"Authorization": "Bearer b"}
    assert [client.post("/mcp", headers=a).status_code for _ in range(10)] == [200] * 10
    refused = client.post("/mcp", headers=a)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert client.post("/mcp", headers=b).status_code == 200  # another principal has its own bucket
    assert all(client.get("/healthz").status_code == 200 for _ in range(20))
    now[0] += 1.0
    assert client.post("/mcp", headers=a).status_code == 200  # refilled at one a second
