"""The HTTP server's ASGI app, as `postmortem serve --transport http` runs it: MCP at `/mcp`, the OTLP trace
receiver at `/v1/traces`, `/healthz`; token auth, Host/Origin checks and body limits; rate limited."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from agent_postmortem.http.otlp import add_trace_receiver
from agent_postmortem.http.security import HttpSecurity, RateLimit
from agent_postmortem.mcp.server import create_server

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService


def http_app(
    get_service: Callable[[], "PostmortemService"],
    *,
    security: HttpSecurity,
    host: str,
    rate_per_minute: int,
    on_start: Callable[[], None] | None = None,
    sampling: bool = True,
    stateless: bool = False,
) -> ASGIApp:
    """`stateless`: no MCP sessions, so any replica behind a load balancer can answer any request (legacy clients
    then get no sampling: there is no back-channel)."""
    server = create_server(
        get_service, on_start=on_start, sampling=sampling, token_verifier=security.token_verifier, auth=security.auth
    )
    add_trace_receiver(server, get_service, security)
    asgi = server.streamable_http_app(
        transport_security=security.transport_security,
        max_request_body_size=security.max_body,
        host=host,
        stateless_http=stateless,
    )
    return RateLimit(asgi, per_minute=rate_per_minute, verifier=security.token_verifier)
