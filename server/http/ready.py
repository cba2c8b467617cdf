"""Readiness, `GET /readyz`, beside liveness, `GET /healthz`: `/healthz` says the process answers (restart it when it
does not); `/readyz` says it can serve, its knowledge bases opened and their databases answering, so a load balancer
stops sending to a replica that could only answer 503 while its database is down (`/healthz` said ok meanwhile).

The check is cheap: one `select 1` per knowledge base (and, on SQLite, that the database file is still there), at
most one at a time, within `timeout` seconds, its answer kept `every` seconds whoever asks. It never waits for the
embedding model (a knowledge base counts as opened once its database is). No token is needed and no data is told:
the reason is one of a few fixed sentences; the database's own goes to the log.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import anyio
from sqlalchemy import Engine, text
from starlette.requests import Request
from starlette.responses import JSONResponse

from agent_postmortem.errors import KnowledgeBaseUnavailable
from agent_postmortem.service.lazy import LazyService
from agent_postmortem.storage_failure import is_storage_failure, storage_failure

logger = logging.getLogger(__name__)
EVERY = 1.5  # seconds an answer is kept
TIMEOUT = 2.0  # seconds the database has to answer
OPENING = "the knowledge base is still opening"
NOT_OPENED = "the knowledge base could not be opened (the server log says why)"
NO_ANSWER = "the database does not answer (the server log says why)"


class Readiness:
    def __init__(
        self,
        services: Callable[[], Iterable[LazyService]],
        *,
        every: float = EVERY,
        timeout: float = TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._services = services
        self.every = every
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._said: tuple[float, str | None] | None = None
        self._probe: threading.Thread | None = None
        self._found: str | None = None

    def problem(self) -> str | None:
        """None when ready, else why not; blocks up to `timeout` (call it off the event loop)."""
        with self._lock:
            if self._said is not None and self._clock() - self._said[0] < self.every:
                return self._said[1]
            if self._probe is None or not self._probe.is_alive():  # one probe at a time, however many ask
                self._probe = threading.Thread(target=self._run, name="postmortem-readiness", daemon=True)
                self._probe.start()
            probe = self._probe
        probe.join(self.timeout)
        with self._lock:
            found = NO_ANSWER if probe.is_alive() else self._found
            if found is not None and (self._said is None or self._said[1] is None):
                logger.warning("not ready: %s", found)
            self._said = (self._clock(), found)
            return found

    def _run(self) -> None:
        self._found = None
        for lazy in self._services():
            try:
                _answers(lazy.get(timeout=0).store.engine)
            except TimeoutError:
                self._found = OPENING
            except KnowledgeBaseUnavailable:  # told in the log when it failed; opened again as `get` does
                self._found = NOT_OPENED
            except Exception as e:  # noqa: BLE001 - any failure to answer is "not ready", in the log in its words
                logger.warning("readiness: %s", storage_failure(e) if is_storage_failure(e) else e)
                self._found = NO_ANSWER
            if self._found is not None:
                return

    async def endpoint(self, request: Request) -> JSONResponse:
        problem = await anyio.to_thread.run_sync(self.problem)
        if problem is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "reason": problem}, status_code=503, headers={"Retry-After": "5"})


def _answers(engine: Engine) -> None:
    """The database answers a query; an SQLite file moved or deleted (a volume unmounted) does not, though a pooled
    connection to it still would."""
    if engine.dialect.name == "sqlite" and engine.url.database and not Path(engine.url.database).exists():
        raise FileNotFoundError(f"the database file {engine.url.database} is not there")
    with engine.connect() as conn:
        conn.execute(text("select 1"))
