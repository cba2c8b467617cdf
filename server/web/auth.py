"""Who is signed in to the web view: server-side sessions, one-time sign-in links and CSRF tokens.

- A session is made only by presenting a team token (the bearer tokens of the MCP endpoint: `POSTMORTEM_HTTP_TOKEN`
  or the tokens file) or a one-time link (`postmortem ui`); its team comes from that token alone.
- The cookie holds a random 256-bit id; the server keeps only its SHA-256, with the team, the CSRF token and the
  expiry (12 h after sign-in, 2 h after the last request). Sign-out forgets it. A restart signs everyone out, and
  replicas behind a load balancer need session affinity for the web view (the MCP endpoint does not).
- The cookie is HttpOnly, SameSite=Strict and Path=/; behind TLS (an `https` request) it is also Secure and named
  with the `__Host-` prefix, so no subdomain or plain-HTTP page can set or read it.
- Every form carries the session's CSRF token (the sign-in form a token bound to a pre-session cookie), compared in
  constant time; cross-site POSTs are also refused by the Origin allow-list and by SameSite=Strict.
- A page asked for without a session sends the browser to sign in with that address (`/login?next=`), and signing in
  leads there: only a page of the web view's own, so the parameter cannot send anyone to another site.
"""

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

SESSION_TTL = 12 * 3600
IDLE_TTL = 2 * 3600
LINK_TTL = 10 * 60
MAX_SESSIONS = 10_000
COOKIE = "pm_session"
LOGIN_COOKIE = "pm_login"


@dataclass
class Session:
    team: str
    csrf: str
    created: float
    seen: float
    credential: bytes | None = None  # the SHA-256 of the team token it signed in with: revoked, the session ends


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Sessions:
    """Sessions and one-time sign-in links, in memory, bounded, thread-safe."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_sessions: int = MAX_SESSIONS) -> None:
        self.clock = clock
        self.max_sessions = max_sessions
        self._sessions: dict[str, Session] = {}
        self._links: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def create(self, team: str, credential: bytes | None = None) -> tuple[str, Session]:
        sid, now = secrets.token_urlsafe(32), self.clock()
        session = Session(team=team, csrf=secrets.token_urlsafe(32), created=now, seen=now, credential=credential)
        with self._lock:
            if len(self._sessions) >= self.max_sessions:  # the oldest go first
                for key in sorted(self._sessions, key=lambda k: self._sessions[k].created)[: self.max_sessions // 10]:
                    del self._sessions[key]
            self._sessions[_digest(sid)] = session
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        now, key = self.clock(), _digest(sid)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return None
            if now - session.created > SESSION_TTL or now - session.seen > IDLE_TTL:
                del self._sessions[key]
                return None
            session.seen = now
            return session

    def drop(self, sid: str | None) -> None:
        if sid:
            with self._lock:
                self._sessions.pop(_digest(sid), None)

    def issue_link(self, team: str) -> str:
        """A sign-in token for `team` that works once, within LINK_TTL."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._links[_digest(token)] = (team, self.clock() + LINK_TTL)
        return token

    def redeem(self, token: str) -> str | None:
        with self._lock:
            team, expires = self._links.pop(_digest(token), ("", 0.0))
        return team if team and self.clock() < expires else None


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request, base: str = COOKIE) -> str:
    return f"__Host-{base}" if secure(request) else base


def session_id(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request))


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        cookie_name(request, name),
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    name = cookie_name(request, name)
    response.delete_cookie(name, path="/", httponly=True, samesite="strict", secure=secure(request))


def same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def sign_in_first(request: Request, *, post: bool = False) -> str:
    """The sign-in page, carrying the address asked for (as the browser sent it: ASCII, percent-encoded) so that a
    link opened from a chat or a bookmark, or a form sent after the session ended, leads back there once signed in."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    wanted = form_page(request.url.path) if post else raw.decode("latin-1")
    query = request.scope.get("query_string", b"").decode("latin-1")
    if query and not post:
        wanted += "?" + query
    wanted = return_to(wanted)
    return "/login" if wanted == "/incidents" else "/login?" + urlencode({"next": wanted})


# a page of the web view's own (never another site, never sign-in itself), as the browser sent it: printable ASCII
_OWN_PAGE = re.compile(r"/(incidents|patterns|actions|dashboard)(?:[/?#][\x21-\x7e]*)?")


def return_to(value: object) -> str:
    """Where to go after signing in: `value` when it is a page of the web view's own, else the incidents list."""
    if isinstance(value, str) and len(value) <= 2000 and _OWN_PAGE.fullmatch(value):
        return value
    return "/incidents"


def form_page(path: str) -> str:
    """The page whose form posts to `path`: /incidents/INC-4/events -> /incidents/INC-4, /actions/AI-2 -> /actions."""
    parts = path.rstrip("/").split("/")
    if parts[1:2] == ["incidents"] and len(parts) > 3:
        return "/".join(parts[:3])
    return "/" + parts[1] if len(parts) > 1 and parts[1] in ("actions", "incidents") else "/incidents"
