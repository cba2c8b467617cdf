"""The vector index as one process holds it: taken from other processes, opened on first use (or left closed to
child processes applying the outbox, see knowledge.CHILD_FROM), drained from the outbox, rebuilt and released.

The knowledge base owns one and decides when: after a claim it refreshes its in-memory indexes, around a rebuild it
re-embeds and resets them."""

import logging
import threading
from collections.abc import Callable

from agent_postmortem.store.index.chroma import VectorIndex
from agent_postmortem.store.index.outbox import apply_outbox
from agent_postmortem.store.index.owner import Claim, IndexBusy, Ownership
from agent_postmortem.store.records.feed import IndexFeed

logger = logging.getLogger(__name__)


def log_failure(what: str, error: Exception) -> None:
    """A database that cannot be reached (restarted, at its connection limit, the network) is one line with the
    driver's reason: a restart of PostgreSQL logged a 50-line traceback per team each time the keeper tried. Anything
    else keeps its traceback."""
    from sqlalchemy.exc import OperationalError

    if isinstance(error, OperationalError):
        reason = str(error.orig).strip().partition("\n")[0][:200]
        logger.warning("%s (the database: %s); tried again shortly", what, reason)
    else:
        logger.warning(what, exc_info=error)


class IndexHolder:
    def __init__(self, *, feed: IndexFeed, owner: Ownership | None, apart: Callable[[], bool]) -> None:
        """`owner` lets this process take the index when no other process has it; `apart()`: whether an owner
        leaves the index closed, to child processes (asked when claiming and after a rebuild)."""
        self.feed = feed
        self.owner = owner
        self._apart = apart
        self.opened: VectorIndex | None = None
        self.owned = False
        self.counted: int | None = None  # vectors in the index, as the last child applying the outbox left it
        self.claimed: Claim | None = None
        self._claiming = threading.Lock()
        self._draining = threading.Lock()

    @property
    def index(self) -> VectorIndex | None:
        """The vector index, opened in this process on first use when it owns it; None when it does not."""
        if self.opened is None and self.owned and self.owner is not None:
            with self._claiming:
                if self.opened is None and self.owned:
                    self.opened = self.owner.open()
        return self.opened

    def indexed(self) -> int | None:
        """Vectors in the index (None when another process owns it); an index left to child processes is not
        opened to count it: the last child's count is the answer."""
        if not self.owned:
            return None
        if self.opened is None and self.counted is not None:
            return self.counted
        index = self.index
        return index.count() if index is not None else None

    def claim(self) -> bool:
        """Own the vector index unless another process does: check it (rebuilding what cannot be trusted) and open
        it unless it is left to child processes. True only when this call took it (not when it was owned already)."""
        with self._claiming:
            if self.owned or self.owner is None:
                return False
            try:
                self.opened, self.claimed = self.owner.claim(open_index=not self._apart())
                self.owned, self.counted = True, None if self.opened is not None else self.claimed.indexed
            except IndexBusy:
                return False
            except Exception as e:  # noqa: BLE001 - searches stay exact without the index; the server retries later
                log_failure("could not take the vector index", e)
                return False
            logger.info("owning the vector index (found %s, %d vectors)", self.claimed.found, self.claimed.indexed)
        return True

    def release(self, model_id: str) -> None:
        """Apply what the outbox still holds, close the index and let another process own it."""
        with self._claiming:
            if self.owned:
                self.sync(model_id)
            if self.opened is not None:
                self.opened.close()
                self.opened = None
            self.owned = False
            if self.owner is not None:
                self.owner.lock.release()

    def sync(self, model_id: str) -> int:
        """Drain the outbox into the index now, if this process owns it; a failing write stays queued."""
        try:
            return self._drain(model_id) if self.owned else 0
        except Exception as e:  # noqa: BLE001 - the index is a cache; the outbox keeps the work for the next try
            log_failure("could not update the vector index; the outbox keeps the changes", e)
            return 0

    def _drain(self, model_id: str) -> int:
        # one drain at a time: the keeper thread and request threads all drain, and interleaved drains (upserting
        # the same ids into chromadb at once) left 2 of 100 captures out of the index with their outbox rows acked
        # (`bench load`, 2 replicas, 8 clients); serialised, 0 of 300
        with self._draining:
            return self._drain_now(model_id)

    def _drain_now(self, model_id: str) -> int:
        if self.opened is not None:
            return apply_outbox(self.feed, self.opened, model_id)
        if self.owner is None or not self.feed.pending_outbox(limit=1):
            return 0
        done, self.counted = self.owner.drain()  # the index is not open here: a child applies the outbox
        return done

    def rebuild(self) -> int:
        """Rebuild the owned index from the stored vectors, in a child process, and swap it in; the number indexed."""
        assert self.owner is not None
        with self._claiming:
            self.opened = self.owner.rebuild(self.opened)
            total = self.opened.count()
            if self._apart():  # back to child processes: this one need not hold the graph
                self.opened.close()
                self.opened, self.counted = None, total
        return total
