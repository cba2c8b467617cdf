"""What every page of the web view passes through (site.py puts the routes together).

Every web request passes the same Host/Origin allow-lists as `/mcp` (421 / 403), a body limit, and (outside, in
`http_app`) the same per-address rate limit; every response carries a strict Content-Security-Policy (no inline
script or style, nothing remote, no framing) and `nosniff` / `no-referrer`. Pages need a session (auth.py); every
POST needs the session's CSRF token. Service calls run in worker threads: the store and the model block."""

import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import jinja2
from mcp.server.auth.provider import TokenVerifier
from mcp.server.transport_security import RequestBodyLimitMiddleware, TransportSecurityMiddleware
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_postmortem.errors import (
    AnalysisChanged,
    KnowledgeBaseUnavailable,
    NothingToReview,
    is_storage_failure,
    shown_on,
    storage_failure,
)
from agent_postmortem.http.security import HttpSecurity
from agent_postmortem.http.teams import TeamTokenVerifier
from agent_postmortem.render.exports import completion, overdue_by
from agent_postmortem.render.html import html_environment
from agent_postmortem.storage_failure import failure_reason
from agent_postmortem.store.errors import (
    ActionItemNotFound,
    IncidentNotFound,
    IndexLoading,
    InvalidId,
    StoreBusy,
    StoreError,
)
from agent_postmortem.web.auth import Session, Sessions, form_page, same, session_id, sign_in_first
from agent_postmortem.web.cache import Memo
from agent_postmortem.web.reads import FormError, not_found

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService

logger = logging.getLogger(__name__)
T = TypeVar("T")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",  # no-referrer would make the browser send `Origin: null` on our own forms
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
MAX_FORM = 64 * 1024
HERE = Path(__file__).parent


@cache
def environment() -> jinja2.Environment:
    """The pages' templates (autoescaped), able to include the HTML report's partials; an item's dates said in the
    report's words."""
    env = html_environment(HERE / "templates")
    env.filters.update(completion=completion, overdue_by=overdue_by)
    return env


@dataclass
class Web:
    """What the pages need: each team's service, how tokens are verified, the sessions."""

    for_team: Callable[[str], "PostmortemService"]
    security: HttpSecurity
    sessions: Sessions = field(default_factory=Sessions)
    verifier: TokenVerifier | None = None
    env: Any = field(default_factory=environment)
    memo: Memo = field(default_factory=Memo)


@dataclass
class Ctx:
    request: Request
    session: Session
    service: "PostmortemService"
    params: Mapping[str, str]
    form: Mapping[str, str]
    memo: Memo

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """A slow read of this team's, kept for a minute (cache.py)."""
        return self.memo.get(self.session.team, key, compute)

    def cached_or_none(self, key: Hashable, compute: Callable[[], T]) -> T | None:
        """The slow read if it is at hand, else None while it is computed in the background (cache.py)."""
        return self.memo.peek(self.session.team, key, compute)


@dataclass
class Rendered:
    template: str
    context: dict[str, Any]
    status: int = 200


View = Callable[[Ctx], Rendered | Response]


def render(web: Web, request: Request, page: Rendered, session: Session | None) -> HTMLResponse:
    context = {
        "team": session.team if session else None,
        "csrf": session.csrf if session else "",
        "path": request.url.path,
        **page.context,
    }
    return HTMLResponse(web.env.get_template(page.template).render(**context), status_code=page.status)


def error_page(
    web: Web, request: Request, status: int, message: str, session: Session | None = None, *, back: str | None = None
) -> Response:
    """The site's error page (with its navigation); its Back link leads to `back`, or to the list (or sign-in)."""
    context = {"status": status, "message": message, "back": back}
    return render(web, request, Rendered("error.html.j2", context, status), session)


def _not_there(request: Request, e: StoreError) -> tuple[str, str | None]:
    """What a page says of the incident or item its address names that is not there, and where its Back link leads:
    for a pattern id, to the Patterns page, where that pattern's incidents are (the store's error says what it is)."""
    said = not_found(request.path_params, e)
    if isinstance(e, InvalidId) and e.pattern:
        return f"{said}; its incidents are on the Patterns page", "/patterns"
    return said, None


def signed_in(web: Web, request: Request) -> Session | None:
    """The request's session, unless the team token it signed in with has been revoked or moved to another team since
    (then it ends)."""
    session = web.sessions.get(session_id(request))
    if session is None or session.credential is None or not isinstance(web.verifier, TeamTokenVerifier):
        return session
    if web.verifier.knows(session.credential, session.team):
        return session
    web.sessions.drop(session_id(request))
    return None


def page(web: Web, view: View, *, post: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """A view behind the session check (and, for POST, the CSRF check), run in a worker thread."""

    async def endpoint(request: Request) -> Response:
        with shown_on("web"):  # errors worded for the page's reader (server/errors.py), in the worker threads too
            return await answer(request)

    async def answer(request: Request) -> Response:
        session = signed_in(web, request)
        if session is None:
            return RedirectResponse(sign_in_first(request, post=post), status_code=303)
        form: Mapping[str, str] = {}
        if post:
            data = await request.form(max_files=0, max_fields=50, max_part_size=MAX_FORM)
            form = {k: v for k, v in data.items() if isinstance(v, str)}
            if not same(form.get("csrf"), session.csrf):
                return error_page(web, request, 403, "This form has expired: reload the page and try again.", session)
        params = {**request.query_params, **request.path_params}
        try:
            service = await run_in_threadpool(web.for_team, session.team)
            ctx = Ctx(request, session, service, params, form, web.memo)
            result = await run_in_threadpool(view, ctx)
            if post:
                web.memo.clear(session.team)
            # rendered inside the try, so a failing template gets the site's 500 page too
            return render(web, request, result, session) if isinstance(result, Rendered) else result
        except Exception as e:
            return failed(web, request, e, session, back=form_page(request.url.path) if post else None)

    return endpoint


def failed(web: Web, request: Request, e: Exception, session: Session, *, back: str | None) -> Response:
    """The error page for what a view raised: what to do about it, or the 500 page (logged) for a bug. `back`: the
    form's page, for a POST."""
    if isinstance(e, (IncidentNotFound, ActionItemNotFound, InvalidId)):
        said, to = _not_there(request, e)
        return error_page(web, request, 404, said, session, back=to)
    if isinstance(e, (FormError, NothingToReview, AnalysisChanged)):
        status = e.status if isinstance(e, FormError) else 409 if isinstance(e, AnalysisChanged) else 400
        return error_page(web, request, status, str(e), session, back=back)
    if isinstance(e, ValidationError):
        fields = ", ".join(".".join(map(str, x["loc"])) or "value" for x in e.errors(include_input=False)[:5])
        return error_page(web, request, 400, f"Not a valid value for: {fields}.", session)
    if isinstance(e, (KnowledgeBaseUnavailable, IndexLoading, StoreBusy)):  # passes: the store's words, as MCP's
        return error_page(web, request, 503, str(e), session, back=back)
    if is_storage_failure(e):  # the database down or refusing: was the 500 page while MCP said why
        logger.warning("web view %s: %s", request.url.path, failure_reason(e))  # the page does not say it
        return error_page(web, request, 503, storage_failure(e), session, back=back)
    logger.exception("web view %s failed", request.url.path, exc_info=e)
    return error_page(web, request, 500, "Something went wrong on the server; it has been logged.", session)


class BodyLimit:
    """/mcp's body limit (by Content-Length, or counted as a chunked body arrives), answered with the site's error
    page and a way back to the form's page rather than the limit's bare line of text."""

    def __init__(self, app: ASGIApp, limit: int, web: Web) -> None:
        self.app, self.limit, self.web = app, limit, web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reached = refused = False

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            nonlocal reached
            reached = True
            await self.app(scope, receive, send)

        async def send_unless_refused(message: Message) -> None:
            nonlocal refused
            refused = refused or not reached  # only the limit answers without passing the request on
            if not refused:
                await send(message)

        await RequestBodyLimitMiddleware(app, self.limit)(scope, receive, send_unless_refused)
        if refused:
            request = Request(scope)
            message = (
                f"This form is larger than {self.limit // 1024} KiB, the most the web view takes: shorten what was "
                "typed or pasted (a timeline event holds at most 2,000 characters) and send it again."
            )
            session = signed_in(self.web, request)
            back = form_page(request.url.path) if session else None
            await error_page(self.web, request, 413, message, session, back=back)(scope, receive, send)


class Guard:
    """Host/Origin (exactly as for /mcp), the body limit, and the security headers on every response."""

    def __init__(self, app: ASGIApp, web: Web) -> None:
        self.app = BodyLimit(app, min(web.security.max_body, MAX_FORM), web)
        self.check = TransportSecurityMiddleware(web.security.transport_security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        refused = await self.check.validate_request(Request(scope, receive))
        await (refused if refused is not None else self.app)(scope, receive, headed)
