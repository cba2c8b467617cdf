"""The HTTP server's ASGI app, as `postmortem serve --transport http` runs it: MCP at `/mcp`, the OTLP trace
receiver at `/v1/traces`, `/healthz`, the web view at `/` (server/web); token auth, Host/Origin checks and body
limits; rate limited."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from agent_postmortem.http.bodies import ClearBodies, ClearUnknownSessions, NoStreamWithoutSessions
from agent_postmortem.http.otlp import add_trace_receiver
from agent_postmortem.http.ready import Readiness
from agent_postmortem.http.security import ClearRefusals, HttpSecurity, RateLimit, TokenFirst
from agent_postmortem.mcp.server import create_server
from agent_postmortem.web.app import Web
from agent_postmortem.web.site import beside_mcp, web_view

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
    sampling_timeout: float = 120.0,
    stateless: bool = False,
    for_team: Callable[[str], "PostmortemService"] | None = None,
    readiness: Readiness | None = None,
) -> ASGIApp:
    """`stateless`: no MCP sessions, so any replica behind a load balancer can answer any request (legacy clients
    then get no sampling: there is no back-channel). `for_team`: each team's service, for the web view (default:
    `get_service` for everyone)."""
    server = create_server(
        get_service,
        on_start=on_start,
        sampling=sampling,
        sampling_timeout=sampling_timeout,
        token_verifier=security.token_verifier,
        auth=security.auth,
    )
    add_trace_receiver(server, get_service, security)
    if readiness is not None:
        server.custom_route("/readyz", methods=["GET"])(readiness.endpoint)
    asgi: ASGIApp = server.streamable_http_app(
        transport_security=security.transport_security,
        max_request_body_size=security.max_body,
        host=host,
        stateless_http=stateless,
    )
    asgi = NoStreamWithoutSessions(asgi) if stateless else ClearUnknownSessions(asgi)
    web = Web(for_team or (lambda team: get_service()), security, verifier=security.token_verifier)
    clear = ClearRefusals(ClearBodies(asgi, max_body=security.max_body), transport_security=security.transport_security)
    guarded = TokenFirst(clear, verifier=security.token_verifier)  # the web view signs in with its own page
    return RateLimit(beside_mcp(guarded, web_view(web)), per_minute=rate_per_minute, verifier=security.token_verifier)
