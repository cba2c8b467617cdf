"""The HTTP app exactly as `postmortem serve --transport http` builds it, served by uvicorn on loopback in a
thread, over a real service. For tests that need real HTTP: the OTLP receiver and the SDK's team-server mode."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from evals.load import free_port
from server.http_app import http_app
from server.http_security import http_security
from server.service import PostmortemService

TOKEN = "s3cret-bearer-token-for-tests-0123456789"


@contextmanager
def serving(
    service: PostmortemService,
    *,
    token: str | None = TOKEN,
    port: int | None = None,
    wrap: Callable[[ASGIApp], ASGIApp] = lambda app: app,
) -> Iterator[str]:
    """Yield the base URL (http://127.0.0.1:PORT) while the server runs; `wrap` puts test middleware around it."""
    port = port or free_port()
    security = http_security(host="127.0.0.1", port=port, token=token, allowed_hosts=[], allowed_origins=[])
    app = wrap(http_app(lambda: service, security=security, host="127.0.0.1", rate_per_minute=6_000))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="test-http-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the test server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
