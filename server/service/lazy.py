"""The service a server opens in the background (`LazyService`): the MCP handshake never waits for the database,
chromadb or the model, a database that could not be reached is tried again, and the index keeper
(service/index_keeper.py) runs beside it until `close()`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent_postmortem.errors import KnowledgeBaseUnavailable
from agent_postmortem.service.index_keeper import keep_index
from agent_postmortem.storage_failure import is_storage_failure, storage_failure

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService

logger = logging.getLogger(__name__)


class LazyService:
    """Builds the service (and warms the embedding model) in a background thread, so that the MCP
    handshake never waits for the database, chromadb, torch or the model."""

    def __init__(
        self, build: Callable[[], PostmortemService], *, keep_index: bool = True, team: str = "default"
    ) -> None:
        """`keep_index`: own the vector index when no other process does, and keep it in line (a server does);
        `team`: whose knowledge base it is (named in what the log says of it)."""
        self._build = build
        self._team = team
        self._keep_index = keep_index
        self._ready = threading.Event()
        self._service: PostmortemService | None = None
        self._error: BaseException | None = None
        self._failed_at = 0.0
        self._started = False
        self._lock = threading.Lock()
        self._stop = threading.Event()  # set by close(): the index keeper ends
        self._keeper: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="postmortem-warmup", daemon=True).start()

    def _run(self) -> None:
        try:
            service = self._build()
            self._service = service
            self._ready.set()
            if service.store.count() == 0:  # said once, where a server's operator looks
                whose, hint = "the knowledge base", EMPTY_HINT
                if self._team != "default":  # the CLI reaches a team's knowledge base through POSTMORTEM_TEAM
                    whose, hint = (
                        f"team {self._team}'s knowledge base",
                        EMPTY_HINT.replace("`postmortem ", f"`POSTMORTEM_TEAM={self._team} postmortem "),
                    )
                logger.warning("%s is empty, so every capture is novel until it has past incidents: %s", whose, hint)
            load = getattr(service.knowledge.embedder, "load", None)
            if load is not None:
                load()
            service.knowledge.warm()
            with self._lock:
                if self._keep_index and not self._stop.is_set():
                    self._keeper = threading.Thread(
                        target=keep_index,
                        args=(service.knowledge,),
                        kwargs={"stop": self._stop},
                        name="postmortem-index",
                        daemon=True,
                    )
                    self._keeper.start()
        except BaseException as e:  # noqa: BLE001 - reported to every caller below
            if is_storage_failure(e):  # the database's own sentence says it all: no traceback in the log
                logger.error("could not open the knowledge base: %s", storage_failure(e))
            else:
                logger.exception("could not open the knowledge base")
            self._error, self._failed_at = e, time.monotonic()
            self._ready.set()

    def get(self, timeout: float = 300) -> PostmortemService:
        self.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the knowledge base is still opening")
        if self._service is None and self._retry():
            if not self._ready.wait(timeout):
                raise TimeoutError("the knowledge base is still opening")
        if self._service is None:
            wait = RETRY_OPEN - (time.monotonic() - self._failed_at)
            raise KnowledgeBaseUnavailable(
                self._error, retry_in=wait if transient(self._error) else None
            ) from self._error
        return self._service

    def close(self, timeout: float = 30) -> None:
        """Stop keeping the index, let another process own it and close the database connections: a server run in a
        process that goes on (a test, an eval) left its keeper draining a database that was gone."""
        with self._lock:
            self._stop.set()
            keeper, service = self._keeper, self._service
        if keeper is not None:
            keeper.join(timeout)
        if service is not None:
            service.close()

    def _retry(self) -> bool:
        """Open it again when it failed for a reason that passes (the database not up yet, at its connection limit,
        a network break), at most every RETRY_OPEN seconds: such a failure was kept until the server was restarted,
        while /healthz said ok."""
        with self._lock:
            if self._service is not None or not transient(self._error):
                return self._service is not None
            if time.monotonic() - self._failed_at < RETRY_OPEN:
                return False
            self._error, self._started = None, False
            self._ready.clear()
        self.start()
        return True


RETRY_OPEN = 5.0  # seconds between attempts to open a knowledge base whose database could not be reached


def transient(error: BaseException | None) -> bool:
    """A failure to open that may pass by itself: the database refused or lost the connection (not a damaged file)."""
    from agent_postmortem.errors import is_damaged_database, is_storage_failure

    return error is not None and is_storage_failure(error) and not is_damaged_database(error)


EMPTY_HINT = (
    "load past incidents with `postmortem import FILE.jsonl`, or the fictional seed with `postmortem init --seed`"
)
