"""`postmortem ui`: the web view for one person on their own machine. It serves on loopback only, with the same
guards as the team server, and no token: the only way in is a random one-time sign-in link, printed once, which
turns into a session cookie on first use (a second use, or one after 10 minutes, is refused)."""

import errno
import socket
from collections.abc import Callable

from agent_postmortem.config import Settings
from agent_postmortem.http.security import RateLimit, http_security
from agent_postmortem.service.runtime import LazyService, build_service
from agent_postmortem.web.app import Web
from agent_postmortem.web.auth import Sessions
from agent_postmortem.web.site import web_view

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def ensure_free(host: str, port: int) -> None:
    """Refuse, in one sentence, a port this process cannot listen on, before anything is printed or served: uvicorn
    logged its own error line and exited with 3, after `ui` had printed a sign-in link to a port it never served."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closing socket is no owner
            s.bind((host, port))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ValueError(
                f"port {port} on {host} is in use by another program (an earlier `postmortem serve` or `ui` still "
                "running?): stop it, or choose another port with --port"
            ) from None
        reason = e.strerror or type(e).__name__
        raise ValueError(f"cannot listen on {host} port {port}: {reason}; choose another --host or --port") from None


def sign_in_url(port: int, token: str) -> str:
    return f"http://{HOST}:{port}/login/link?token={token}"


def run_ui(settings: Settings, *, port: int, announce: Callable[[str], None]) -> None:
    """Serve the web view on loopback until interrupted; `announce` gets the one-time sign-in link."""
    import uvicorn

    from agent_postmortem.http.timeouts import uvicorn_options

    port = port or free_port()
    ensure_free(HOST, port)
    lazy = LazyService(lambda: build_service(settings))
    security = http_security(host=HOST, port=port, token=None, allowed_hosts=[], allowed_origins=[])
    sessions = Sessions()
    app = RateLimit(web_view(Web(lambda team: lazy.get(), security, sessions=sessions)), per_minute=6_000)
    lazy.start()  # the store and the model load while the browser opens
    announce(sign_in_url(port, sessions.issue_link(settings.team)))
    options = {"log_level": "warning", "log_config": None, "lifespan": "off", **uvicorn_options()}  # logs redacted
    uvicorn.run(app, host=HOST, port=port, **options)
