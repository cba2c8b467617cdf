"""The HTTP app exactly as `postmortem serve --transport http` builds it, served by uvicorn on loopback in a
thread, over a real service. For tests that need real HTTP: the OTLP receiver and the SDK's team-server mode.
`serve_process` runs the real `postmortem serve --transport http` instead, for what uvicorn's options decide."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from mcp.server.auth.provider import TokenVerifier
from starlette.types import ASGIApp

from agent_postmortem.evals.replicas import free_port, in_thread
from agent_postmortem.http.app import http_app
from agent_postmortem.http.ready import Readiness
from agent_postmortem.http.security import http_security, proxy_options
from agent_postmortem.service.facade import PostmortemService

TOKEN = "s3cret-bearer-token-for-tests-0123456789"


@contextmanager
def serving(
    service: PostmortemService,
    *,
    token: str | None = TOKEN,
    port: int | None = None,
    wrap: Callable[[ASGIApp], ASGIApp] = lambda app: app,
    rate_per_minute: int = 6_000,
    team_verifier: TokenVerifier | None = None,
    for_team: Callable[[str], PostmortemService] | None = None,
    stateless: bool = False,
    readiness: Readiness | None = None,
) -> Iterator[str]:
    """Yield the base URL (http://127.0.0.1:PORT) while the server runs; `wrap` puts test middleware around it.
    `team_verifier` and `for_team`: a server of several teams (tokens mapped to teams, a service per team)."""
    port = port or free_port()
    security = http_security(
        host="127.0.0.1", port=port, token=token, allowed_hosts=[], allowed_origins=[], team_verifier=team_verifier
    )
    app = wrap(
        http_app(
            lambda: service,
            security=security,
            host="127.0.0.1",
            rate_per_minute=rate_per_minute,
            for_team=for_team,
            stateless=stateless,
            readiness=readiness,
        )
    )
    with in_thread(app, port, lifespan="on", **proxy_options(())) as url:
        yield url


@contextmanager
def serve_process(home: Path, env: dict[str, str] | None = None, *, port: int | None = None) -> Iterator[str]:
    """`postmortem serve --transport http` as a subprocess on `home`; yields its base URL once it answers /healthz.
    The server's log is `home/../serve.log`."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    full_env = {
        **os.environ,
        "POSTMORTEM_HOME": str(home),
        "POSTMORTEM_LLM": "none",
        "HF_HUB_OFFLINE": "1",
        **(env or {}),
    }
    command = [str(Path(sys.executable).parent / "postmortem"), "serve", "--transport", "http", "--port", str(port)]
    with (home.parent / "serve.log").open("wb") as log:
        proc = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(base):
            assert proc.poll() is None, (home.parent / "serve.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "the server did not answer /healthz within 60 s"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
