"""Streamable HTTP that fails closed: bearer-token auth, explicit Host/Origin allow-lists, a body limit.

- A bearer token (`POSTMORTEM_HTTP_TOKEN`) is checked in constant time; requests without it get 401 with a
  `WWW-Authenticate` header from the SDK; the token is never logged.
- Host and Origin are checked against explicit lists (exact `host:port` entries, no `:*` wildcard, whose
  prefix match in the SDK accepts `127.0.0.1:8000.evil.com`); loopback binds get their loopback names.
- Binding anything but loopback needs a token *and* explicit allowed hosts (`POSTMORTEM_ALLOWED_HOSTS`): the
  SDK would otherwise turn DNS-rebinding protection off. `serve` refuses to start instead.
- Request bodies are capped well above the largest capture (40 KiB of text) but far below the SDK's 4 MiB.
- Each principal (a verified bearer token, else the peer address) is rate limited (`POSTMORTEM_HTTP_RATE` per
  minute, default 600): 429 with Retry-After beyond it. Forwarded headers (X-Forwarded-For) are believed only
  from the proxies named in `POSTMORTEM_TRUSTED_PROXIES`; otherwise the peer is the socket's address.
"""

import hashlib
import hmac
import ipaddress
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from agent_postmortem.tokens_file import MIN_TOKEN as MIN_TOKEN  # one rule for every token a server takes

MAX_BODY = 512 * 1024
SCOPE = "postmortem"


class InsecureBind(ValueError):
    pass


class StaticTokenVerifier(TokenVerifier):
    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token):
            return AccessToken(token="bearer", client_id="default", scopes=[SCOPE])  # one token: the default team
        return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HttpSecurity:
    transport_security: TransportSecuritySettings
    token_verifier: TokenVerifier | None
    auth: AuthSettings | None
    max_body: int = MAX_BODY


def http_security(
    *,
    host: str,
    port: int,
    token: str | None,
    allowed_hosts: list[str],
    allowed_origins: list[str],
    team_verifier: TokenVerifier | None = None,
) -> HttpSecurity:
    """The settings for serving on host:port; InsecureBind (a clear message) when they would fail open.
    `team_verifier` (tokens mapped to teams, from POSTMORTEM_TOKENS_FILE) replaces the single token."""
    if token is not None and team_verifier is not None:
        raise InsecureBind("set POSTMORTEM_HTTP_TOKEN or POSTMORTEM_TOKENS_FILE, not both")
    if token is not None and len(token) < MIN_TOKEN:
        raise InsecureBind(f"POSTMORTEM_HTTP_TOKEN must be at least {MIN_TOKEN} characters (use a random one)")
    if not is_loopback(host):
        if token is None and team_verifier is None:
            raise InsecureBind(
                f"refusing to serve on {host}: binding beyond loopback needs POSTMORTEM_HTTP_TOKEN (a bearer token "
                "clients must send) and POSTMORTEM_ALLOWED_HOSTS (the host:port names clients use)"
            )
        if not allowed_hosts:
            raise InsecureBind(
                f"refusing to serve on {host}: set POSTMORTEM_ALLOWED_HOSTS to the host:port names clients use "
                "(for example pm.internal:8000), so that DNS-rebinding protection stays on"
            )
    hosts = allowed_hosts or [f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"]
    origins = allowed_origins or [f"http://{h}" for h in hosts]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )
    verifier = team_verifier or (StaticTokenVerifier(token) if token is not None else None)
    if verifier is None:
        return HttpSecurity(security, None, None)
    auth = AuthSettings(
        issuer_url=f"http://{hosts[0]}",  # type: ignore[arg-type]
        resource_server_url=None,
        required_scopes=[SCOPE],
    )
    return HttpSecurity(security, verifier, auth)


def proxy_options(trusted_proxies: Sequence[str]) -> dict[str, Any]:
    """uvicorn's options for forwarded headers: rewrite the client address from X-Forwarded-For only when the
    request comes from a trusted proxy (uvicorn's own default trusts any loopback peer)."""
    return {"proxy_headers": bool(trusted_proxies), "forwarded_allow_ips": list(trusted_proxies) or None}


MAX_BUCKETS = 10_000
RATE_LIMITED = -32029  # a JSON-RPC server error (-32000 to -32099); 29 as in HTTP 429
MIN_BURST = 5.0  # an MCP client's handshake (initialize, initialized, its GET stream) and a first call, at any rate


class RateLimit:
    """Per-principal token buckets as ASGI middleware: each verified bearer token (by its digest) or else each
    peer address gets `per_minute` requests with bursts of up to a sixth of that (at least MIN_BURST); beyond it,
    429 with Retry-After and a body that says when to retry.
    A token that does not verify counts against its sender's address, so new spellings of the header or random
    tokens buy no new bucket. The health endpoint is not limited. At most `max_buckets` buckets are kept: beyond
    that, full (idle) buckets go first, then the least recently used."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_minute: int,
        verifier: TokenVerifier | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        if per_minute < 1:
            raise ValueError("the rate limit must be at least 1 request a minute")
        self.app = app
        self.rate = per_minute / 60.0
        self.burst = max(MIN_BURST, per_minute / 6)
        self.verifier = verifier
        self.clock = clock
        self.max_buckets = max_buckets
        self.buckets: dict[str, tuple[float, float]] = {}  # least recently used first

    async def principal(self, scope: Scope) -> str:
        token = _bearer(scope)
        if token is not None and self.verifier is not None and await self.verifier.verify_token(token) is not None:
            return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]
        client = scope.get("client")
        return f"addr:{client[0] if client else '?'}"

    def allow(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = self.clock()
        tokens, last = self.buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= 1
        self.buckets[key] = (tokens - 1 if allowed else tokens, now)
        if len(self.buckets) > self.max_buckets:
            self._prune(now)
        return 0.0 if allowed else (1 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled (they are the same as no bucket), then the least recently used down to
        three quarters of the bound, so that pruning is rare."""
        full = [k for k, (tokens, last) in self.buckets.items() if tokens + (now - last) * self.rate >= self.burst]
        for key in full:
            del self.buckets[key]
        for key in list(self.buckets)[: max(0, len(self.buckets) - self.max_buckets * 3 // 4)]:
            del self.buckets[key]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in TokenFirst.PUBLIC:
            await self.app(scope, receive, send)
            return
        principal = await self.principal(scope)
        wait = self.allow(principal)
        if wait:
            await self.refusal(scope, principal, math.ceil(wait))(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope, principal: str, seconds: int) -> JSONResponse:
        """429 with Retry-After, and a body that says what happened and when to retry. On `/mcp` it is a JSON-RPC
        error (id null: the body is not read), which MCP clients surface as the error of the call that was refused
        (the Python client raises it as `MCPError`; the TypeScript client shows the body); elsewhere `{"error": ...}`.
        """
        who = "this token" if principal.startswith("token:") else "this address"
        per_minute = round(self.rate * 60)
        message = (
            f"Rate limited: {who} sent more than {per_minute} requests a minute (bursts of {int(self.burst)}). "
            f"Nothing was done; retry after {seconds} s."
        )
        headers = {"Retry-After": str(seconds)}
        if str(scope.get("path", "")).rstrip("/") == "/mcp":
            error = {"code": RATE_LIMITED, "message": message, "data": {"retry_after_seconds": seconds}}
            return JSONResponse({"jsonrpc": "2.0", "id": None, "error": error}, status_code=429, headers=headers)
        return JSONResponse({"error": message, "retry_after_seconds": seconds}, status_code=429, headers=headers)


class TokenFirst:
    """The token before anything else: without a valid bearer token, every path but the probes answers 401 as
    `/mcp` does, so an unauthenticated client cannot tell which paths and methods exist (a 404 or 405 told it).
    A verified token goes on to the app, which still checks its scope."""

    PUBLIC = frozenset({"/healthz", "/readyz"})  # liveness and readiness, for load balancers: no data

    def __init__(self, app: ASGIApp, *, verifier: TokenVerifier | None) -> None:
        self.app = app
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.verifier is None or scope["type"] != "http" or scope.get("path") in self.PUBLIC:
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is not None and await self.verifier.verify_token(token) is not None:
            await self.app(scope, receive, send)
            return
        challenge = 'Bearer error="invalid_token", error_description="Authentication required"'
        await JSONResponse(UNAUTHORIZED, status_code=401, headers={"WWW-Authenticate": challenge})(scope, receive, send)


class ClearRefusals:
    """The SDK's refusals on `/mcp` of a Host name, an Origin or a Content-Type as JSON-RPC errors that say what to
    change: its plain-text "Invalid Host header" reached a Python MCP client as "Server returned an error response"."""

    SAID = {
        400: "Bad request: send the JSON-RPC message with Content-Type: application/json. Nothing was done.",
        421: "Misdirected request: this server does not answer to the host name in the URL; use one of the names in "
        "its POSTMORTEM_ALLOWED_HOSTS (by default 127.0.0.1, localhost or [::1] with its port). Nothing was done.",
        403: "Forbidden origin: browser requests are served only from the origins in the server's "
        "POSTMORTEM_ALLOWED_ORIGINS. Nothing was done.",
    }

    def __init__(self, app: ASGIApp, *, transport_security: TransportSecuritySettings) -> None:
        self.app = app
        self.guard = TransportSecurityMiddleware(transport_security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).rstrip("/") != "/mcp":
            await self.app(scope, receive, send)
            return
        refused = await self.guard.validate_request(Request(scope), is_post=scope.get("method") == "POST")
        if refused is None or refused.status_code not in self.SAID:
            await self.app(scope, receive, send)
            return
        error = {"code": INVALID_REQUEST, "message": self.SAID[refused.status_code]}
        body = {"jsonrpc": "2.0", "id": None, "error": error}
        await JSONResponse(body, status_code=refused.status_code)(scope, receive, send)


INVALID_REQUEST = -32600

# The same body on every path (a client without the token cannot tell them apart), shaped as a JSON-RPC error so that
# an MCP client shows it (the Python client raised a bare "Server returned an error response" for a revoked token).
UNAUTHORIZED = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {
        "code": -32001,
        "message": "Unauthorized: the bearer token is missing, not valid for this server, or revoked. Nothing was "
        "done. Send 'Authorization: Bearer <token>' with a token from the server's operator (postmortem token add).",
    },
}


def _bearer(scope: Scope) -> str | None:
    """The bearer token as the SDK's auth backend reads it (the Authorization header, scheme in any case). Two
    Authorization headers are no token: the first one won, so a request carrying two teams' tokens was served as
    whichever came first, an ambiguity no client means."""
    given = [value for name, value in scope.get("headers", []) if name == b"authorization"]
    if len(given) != 1:
        return None
    header = given[0].decode("latin-1")
    return header[7:] if header.lower().startswith("bearer ") else None
