"""Sign-in and sign-out: a team token (POST form) or a one-time link, exchanged for a session cookie."""

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from agent_postmortem.http.teams import digest
from agent_postmortem.web.app import Rendered, Web, error_page, render
from agent_postmortem.web.auth import (
    COOKIE,
    LOGIN_COOKIE,
    SESSION_TTL,
    clear_cookie,
    cookie_name,
    return_to,
    same,
    session_id,
    set_cookie,
)

MAX_TOKEN = 512


def _signed_in(
    web: Web, request: Request, team: str, credential: bytes | None = None, *, to: str = "/incidents"
) -> Response:
    """A new session (never one the browser already had: no fixation) and its cookie; then the page asked for."""
    web.sessions.drop(session_id(request))
    sid, _ = web.sessions.create(team, credential)
    response = RedirectResponse(to, status_code=303)
    set_cookie(response, request, COOKIE, sid, SESSION_TTL)
    clear_cookie(response, request, LOGIN_COOKIE)
    return response


class Login:
    def __init__(self, web: Web) -> None:
        self.web = web

    async def form(self, request: Request) -> Response:
        then = return_to(request.query_params.get("next"))
        if self.web.sessions.get(session_id(request)) is not None:
            return RedirectResponse(then, status_code=303)
        nonce = secrets.token_urlsafe(32)
        context = {
            "login_csrf": nonce,
            "tokens": self.web.verifier is not None,
            "again": AGAIN,
            "next": then,
            "problem": None,
        }
        response = render(self.web, request, Rendered("login.html.j2", context), None)
        set_cookie(response, request, LOGIN_COOKIE, nonce, 3600)
        return response

    async def submit(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
        given, token, then = form.get("csrf"), form.get("token"), return_to(form.get("next"))
        expected = request.cookies.get(cookie_name(request, LOGIN_COOKIE), "")
        if not expected or not isinstance(given, str) or not same(given, expected):
            return error_page(self.web, request, 403, "The sign-in form has expired: reload it and try again.")
        access, presented = None, token.strip() if isinstance(token, str) else ""
        if self.web.verifier is not None and 0 < len(presented) <= MAX_TOKEN:
            access = await self.web.verifier.verify_token(presented)
        if access is None or not access.client_id:  # the form again, with why: an error page cost a click back
            context = {
                "login_csrf": expected,
                "tokens": self.web.verifier is not None,
                "again": AGAIN,
                "next": then,
                "problem": "That token is not valid for this server: check it and try again.",
            }
            return render(self.web, request, Rendered("login.html.j2", context, status=401), None)
        return _signed_in(self.web, request, access.client_id, digest(presented), to=then)

    async def link(self, request: Request) -> Response:
        team = self.web.sessions.redeem(request.query_params.get("token", "")[:MAX_TOKEN])
        if team is None:
            return error_page(self.web, request, 401, "This sign-in link was already used or has expired. " + AGAIN)
        return _signed_in(self.web, request, team)

    async def logout(self, request: Request) -> Response:
        sid = session_id(request)
        session = self.web.sessions.get(sid)
        form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
        csrf = form.get("csrf")
        if session is not None and not (isinstance(csrf, str) and same(csrf, session.csrf)):
            return error_page(self.web, request, 403, "This form has expired: reload the page and try again.", session)
        self.web.sessions.drop(sid)
        response = RedirectResponse("/login", status_code=303)
        clear_cookie(response, request, COOKIE)
        return response


AGAIN = "Each link works once, within 10 minutes: for a new one, stop postmortem ui (Ctrl-C) and start it again."


def routes(web: Web) -> list[Route]:
    login = Login(web)
    return [
        Route("/login", login.form, methods=["GET"]),
        Route("/login", login.submit, methods=["POST"]),
        Route("/login/link", login.link, methods=["GET"]),
        Route("/logout", login.logout, methods=["POST"]),
    ]
