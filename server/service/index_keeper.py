"""The server's index keeper: the thread that takes the vector index when no other process owns it and applies
everyone's outbox to it (started by the lazy service of server/service/runtime.py)."""

import logging
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent_postmortem.store.search.knowledge import KnowledgeBase

logger = logging.getLogger(__name__)

SYNC_EVERY = 1.0  # seconds between outbox drains by the owner
APART_EVERY = 10.0  # seconds between the child processes that drain it for an owner that leaves the index closed
CLAIM_EVERY = 5.0  # seconds between attempts to take the index over from another process


def keep_index(knowledge: "KnowledgeBase", *, stop: threading.Event | None = None) -> None:
    """The server's index keeper: take the index when no other process owns it (at start, and when its owner
    exits or dies), then apply everyone's outbox to it."""
    stop = stop or threading.Event()
    next_claim = next_drain = 0.0
    while True:
        try:
            if knowledge.owns_index:
                if knowledge.owner is not None and not knowledge.owner.lock.alive():
                    # on PostgreSQL the lock's session can end (restart, network): another replica may own it now
                    logger.warning("lost ownership of the vector index; searching exactly until it is taken again")
                    knowledge.release_index()
                elif time.monotonic() >= next_drain and knowledge.feed.pending_pks():
                    # a child process costs a start and chromadb's load: batched, off every request anyway
                    next_drain = time.monotonic() + (APART_EVERY if knowledge.drains_apart else 0.0)
                    knowledge.sync()
            elif time.monotonic() >= next_claim:
                knowledge.claim_index()
                next_claim = time.monotonic() + CLAIM_EVERY
        except Exception:  # noqa: BLE001 - the records are safe; the index is retried on the next round
            logger.warning("could not keep the vector index", exc_info=True)
            next_claim = time.monotonic() + CLAIM_EVERY
        if stop.wait(SYNC_EVERY):
            return
