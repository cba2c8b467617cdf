"""The whole web view: its routes put together behind the guard (app.py), its static files, the site's own pages for
an address that is no page, and how it sits beside `/mcp` on the HTTP server."""

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_postmortem.render.html_report import stylesheet
from agent_postmortem.web import board, login, pages
from agent_postmortem.web.app import Guard, Web, error_page, signed_in

WEB_PATHS = ("/login", "/logout", "/incidents", "/patterns", "/actions", "/dashboard", "/static/")
HERE = Path(__file__).parent


def web_view(web: Web) -> ASGIApp:
    return web_app(web, [root_route(), *login.routes(web), *pages.routes(web), *board.routes(web)])


def web_app(web: Web, routes: list[BaseRoute]) -> ASGIApp:
    static = StaticFiles(directory=HERE / "static")
    report_css = Route("/static/report.css", _report_css, methods=["GET"])  # the exported file's, shared
    mounted = [*routes, report_css, Mount("/static", app=_cached(static), name="static")]
    app = Starlette(routes=mounted, exception_handlers={HTTPException: _not_a_page(web)})
    return Guard(app, web)


def _not_a_page(web: Web) -> Callable[[Request, Exception], Awaitable[Response]]:
    """An address typed by hand that is no page (404), or a form's address visited (405): the site's error page,
    with its navigation, rather than the framework's bare line of text."""

    async def handler(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = {
            404: "There is no page at this address.",
            405: "This address takes a form from its page, not a visit: go back to the page and use its form.",
        }.get(status, "This request cannot be served.")
        return error_page(web, request, status, message, signed_in(web, request))

    return handler


def _report_css(request: Request) -> Response:
    return Response(stylesheet(), media_type="text/css", headers={"cache-control": "public, max-age=3600"})


def _cached(app: ASGIApp) -> ASGIApp:
    async def cached(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_cached(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["cache-control"] = "public, max-age=3600"
            await send(message)

        await app(scope, receive, send_cached)

    return cached


def beside_mcp(mcp: ASGIApp, web: ASGIApp) -> ASGIApp:
    """One app: the web view's paths (and `/`) to `web`, everything else (`/mcp`, `/v1/traces`, `/healthz`) to `mcp`."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == "/" or path.startswith(WEB_PATHS):
            await web(scope, receive, send)
        else:
            await mcp(scope, receive, send)

    return app


def home(request: Request) -> Response:
    return RedirectResponse("/incidents", status_code=303)


def root_route() -> Route:
    return Route("/", home, methods=["GET"])
