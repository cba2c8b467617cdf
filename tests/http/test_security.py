"""Streamable HTTP fails closed: bearer auth, strict Host/Origin lists, a body limit, no insecure binds."""

import json
import logging
import math
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp
from typer.testing import CliRunner

from agent_postmortem.cli.app import app as cli
from agent_postmortem.http.security import InsecureBind, RateLimit, http_security
from agent_postmortem.http.teams import TeamTokenVerifier, TokenEntry, digest
from agent_postmortem.mcp.server import create_server
from agent_postmortem.service.facade import PostmortemService
from tests.http.mcp_requests import AUTH, HEADERS, INIT, TOKEN
from tests.http_server import serve_process, serving

CLI = str(Path(sys.executable).parent / "postmortem")

PORT = 8765


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

    now = [0.0]
    inner = Starlette(
        routes=[
            Route("/mcp", lambda r: PlainTextResponse("ok"), methods=["POST"]),
            Route("/healthz", lambda r: PlainTextResponse("ok")),
        ]
    )
    tokens = TeamTokenVerifier([TokenEntry("one", digest("a")), TokenEntry("two", digest("b"))])
    limited = RateLimit(inner, per_minute=60, verifier=tokens, clock=lambda: now[0])  # bursts of 10, then 1 a second
    client = TestClient(limited)
    a, b = {"Authorization": "Bearer a"}, {"Authorization": "Bearer b"}
    assert [client.post("/mcp", headers=a).status_code for _ in range(10)] == [200] * 10
    refused = client.post("/mcp", headers=a)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert client.post("/mcp", headers=b).status_code == 200  # another principal has its own bucket
    assert all(client.get("/healthz").status_code == 200 for _ in range(20))
    now[0] += 1.0
    assert client.post("/mcp", headers=a).status_code == 200  # refilled at one a second


SPELLINGS = ["".join(c.upper() if n >> i & 1 else c for i, c in enumerate("bearer")) for n in range(64)]


def _allowed(client: httpx.Client, requests: list[dict[str, str]]) -> tuple[int, float]:
    """How many of the requests were let through (not 429), and how long sending them took."""
    started = time.monotonic()
    statuses = [client.post("/mcp", json=INIT, headers=HEADERS | h).status_code for h in requests]
    return sum(s != 429 for s in statuses), time.monotonic() - started


def test_junk_tokens_forwarded_for_headers_and_new_spellings_of_bearer_buy_no_new_bucket(tmp_path: Path) -> None:
    env = {"POSTMORTEM_HTTP_TOKEN": TOKEN, "POSTMORTEM_HTTP_RATE": "60"}  # bursts of 10, then one a second
    with serve_process(tmp_path / "home", env) as base, httpx.Client(base_url=base, timeout=30) as client:
        junk = [
            {"Authorization": f"Bearer {secrets.token_urlsafe(24)}", "X-Forwarded-For": f"10.{n // 256}.{n % 256}.9"}
            for n in range(100)
        ]
        allowed, took = _allowed(client, junk)  # all of it counts against the one peer address
        assert allowed <= 10 + math.ceil(took), (allowed, len(junk), took)
        assert client.post("/mcp", json=INIT, headers=HEADERS | {"X-Forwarded-For": "10.9.9.9"}).status_code == 429
        assert client.post("/mcp", json=INIT, headers=HEADERS | AUTH).status_code == 200  # the token's own bucket
        spelled = [{"Authorization": f"{spelling} {TOKEN}"} for spelling in SPELLINGS for _ in range(2)]
        allowed, took = _allowed(client, spelled)  # one token however "Bearer" is spelled
        assert allowed <= 10 + math.ceil(took), (allowed, len(spelled), took)


def test_forwarded_for_is_believed_only_from_a_configured_proxy(tmp_path: Path) -> None:
    env = {"POSTMORTEM_HTTP_TOKEN": TOKEN, "POSTMORTEM_HTTP_RATE": "60", "POSTMORTEM_TRUSTED_PROXIES": "127.0.0.1"}
    with serve_process(tmp_path / "home", env) as base, httpx.Client(base_url=base, timeout=30) as client:
        behind_proxy = [{"X-Forwarded-For": f"10.0.{n}.9"} for n in range(30)]  # 30 clients behind one proxy
        allowed, _ = _allowed(client, behind_proxy)
        assert allowed == 30


def test_the_bucket_map_stays_bounded_and_junk_headers_add_no_buckets() -> None:
    now = [0.0]
    limiter = RateLimit(lambda scope, receive, send: None, per_minute=60, clock=lambda: now[0], max_buckets=1_000)  # type: ignore[arg-type, return-value]
    for n in range(40_000):
        limiter.allow(f"addr:10.{n // 65536}.{n // 256 % 256}.{n % 256}")
        now[0] += 0.001
    assert len(limiter.buckets) <= 1_000
    limiter.allow("addr:busy")
    assert limiter.allow("addr:busy") == 0.0  # a bucket in use survives the pruning of idle ones


def test_junk_authorization_headers_add_no_buckets_on_the_real_server(service: PostmortemService) -> None:
    apps: list[ASGIApp] = []
    with serving(service, wrap=lambda app: apps.append(app) or app) as url, httpx.Client(base_url=url) as client:
        for n in range(300):
            client.post("/mcp", json=INIT, headers=HEADERS | {"Authorization": f"Bearer junk-{n}"})
    limiter = apps[0]
    assert isinstance(limiter, RateLimit) and list(limiter.buckets) == ["addr:127.0.0.1"]


@pytest.mark.parametrize("rate", ["0", "-5", "many", "1.5"])
def test_a_rate_below_one_a_minute_is_a_clear_configuration_error(monkeypatch: pytest.MonkeyPatch, rate: str) -> None:
    monkeypatch.setenv("POSTMORTEM_HTTP_RATE", rate)
    result = CliRunner().invoke(cli, ["serve", "--transport", "http"])
    assert result.exit_code == 2 and "POSTMORTEM_HTTP_RATE must be a whole number of at least 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_a_token_no_path_or_method_is_told_apart_from_another(service: PostmortemService) -> None:
    """As found with curl: an unknown path answered 404 and GET /v1/traces 405 before any token was asked for, so an
    unauthenticated client could map what the server offers. Now each is the same 401 as /mcp; with the token, the
    real answer; /healthz stays open."""
    probes = [("GET", "/nope"), ("POST", "/admin"), ("GET", "/v1/traces"), ("PUT", "/v1/traces"), ("DELETE", "/mcp")]
    with serving(service) as url, httpx.Client(base_url=url) as client:
        refused = [client.request(method, path) for method, path in probes]
        with_token = [client.request(method, path, headers=AUTH).status_code for method, path in probes]
        health = client.get("/healthz").status_code
    assert {(r.status_code, r.headers["www-authenticate"], r.text) for r in refused} == {
        (401, 'Bearer error="invalid_token", error_description="Authentication required"', refused[0].text)
    }
    assert with_token == [404, 404, 405, 405, 400] and health == 200


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_rate_limited_mcp_call_says_what_happened_and_when_to_retry(tmp_path: Path) -> None:
    """As found with the Python MCP client and the Inspector CLI over streamable HTTP: beyond the rate, a call failed
    with a bare 'Server returned an error response' (-32603) or the body '{"error":"rate limited: slow down"}'. The
    429 is now a JSON-RPC error with the wait (and Retry-After), and the call succeeds once the wait is over."""
    import anyio
    import httpx2
    from mcp import Client, MCPError
    from mcp.client.streamable_http import streamable_http_client

    env = {"POSTMORTEM_HTTP_TOKEN": TOKEN, "POSTMORTEM_HTTP_RATE": "30"}  # bursts of 5, then one every 2 s
    with serve_process(tmp_path / "home", env) as url:
        async with (
            httpx2.AsyncClient(headers=AUTH, timeout=60) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            with pytest.raises(MCPError) as refused:
                for _ in range(10):
                    await client.call_tool("list_incidents", {})
            error = refused.value.error
            wait = error.data["retry_after_seconds"] if isinstance(error.data, dict) else None
            assert error.code == -32029 and wait in (1, 2)
            assert "Rate limited: this token sent more than 30 requests a minute" in error.message
            assert f"retry after {wait} s" in error.message and TOKEN not in error.message
            await anyio.sleep(wait)
            assert not (await client.call_tool("list_incidents", {})).is_error  # the wait it named was enough
        raw = httpx.post(f"{url}/mcp", json=INIT, headers=HEADERS | AUTH)
        while raw.status_code != 429:
            raw = httpx.post(f"{url}/mcp", json=INIT, headers=HEADERS | AUTH)
        assert raw.headers["retry-after"] in ("1", "2") and raw.json()["error"]["code"] == -32029


@pytest.mark.anyio
async def test_a_host_name_origin_or_content_type_the_server_refuses_says_what_to_change(
    service: PostmortemService,
) -> None:
    """As found with the Python MCP client on a URL of a name outside POSTMORTEM_ALLOWED_HOSTS (127.1 is 127.0.0.1):
    the SDK's plain "Invalid Host header" reached it as "Server returned an error response"."""
    import httpx2
    from mcp import Client, MCPError
    from mcp.client.streamable_http import streamable_http_client

    with serving(service, token=TOKEN) as url:
        port = url.rsplit(":", 1)[1]
        with pytest.raises(BaseException) as refused:  # noqa: PT011 - the client raises it inside a task group
            async with (
                httpx2.AsyncClient(headers=AUTH, timeout=60) as http,
                Client(streamable_http_client(f"http://127.1:{port}/mcp", http_client=http)) as client,
            ):
                await client.list_tools()
        error = refused.value
        while isinstance(error, BaseExceptionGroup):
            error = error.exceptions[0]
        assert isinstance(error, MCPError) and "POSTMORTEM_ALLOWED_HOSTS" in error.error.message, repr(error)
        for headers, status, said in [
            (HEADERS | AUTH | {"Host": f"pm.evil.example:{port}"}, 421, "POSTMORTEM_ALLOWED_HOSTS"),
            (HEADERS | AUTH | {"Origin": "http://evil.example.com"}, 403, "POSTMORTEM_ALLOWED_ORIGINS"),
            (HEADERS | AUTH | {"Content-Type": "text/plain"}, 400, "Content-Type: application/json"),
        ]:
            answer = httpx.post(f"{url}/mcp", content=json.dumps(INIT), headers=headers)
            assert answer.status_code == status and said in answer.json()["error"]["message"], answer.text
            assert "evil" not in answer.text
        no_token = httpx.post(f"{url}/mcp", json=INIT, headers=HEADERS | {"Host": f"pm.evil.example:{port}"})
        assert no_token.status_code == 401  # the token still comes first
        assert httpx.post(f"{url}/mcp", json=INIT, headers=HEADERS | AUTH).status_code == 200


@pytest.mark.anyio
async def test_at_the_lowest_rate_an_mcp_client_still_connects_and_makes_a_call(service: PostmortemService) -> None:
    """At POSTMORTEM_HTTP_RATE=6 the burst was one request, so `initialized` after `initialize` got 429 and the
    Inspector could never connect; bursts are now at least an MCP handshake and a first call."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    with serving(service, rate_per_minute=1) as url:
        async with (
            httpx2.AsyncClient(headers=AUTH, timeout=60) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            assert not (await client.call_tool("list_incidents", {})).is_error
