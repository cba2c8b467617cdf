"""The vector index on a Chroma server (`chroma run`), which replicas on several machines can share.

The owner rules are the local ones (`index.owner`): one process at a time, the holder of the lock, drains
everyone's outbox into the index. The check and the rebuild differ: there is no directory to probe in a child, and
a misbehaving server cannot crash this process (it can answer wrongly, fail, or stall, and every request has a
timeout), so both run here. The index lives in generations, collections named `<model's name>-g<N>`; the newest
one marked ready is the index. A rebuild fills generation N+1, marks it ready, then drops the older ones, so a
rebuild killed half-way leaves an unready generation, which the next owner drops.

The Chroma server has no working authentication in 1.x: keep it on loopback or on a private network that only the
replicas reach (docs/deploy.md).
"""

import logging
import random
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from agent_postmortem.store.index.chroma import VectorIndex, close_client, collection_name
from agent_postmortem.store.index.health import finds_itself
from agent_postmortem.store.index.owner import Claim, IndexBusy, Lock

logger = logging.getLogger(__name__)

SAMPLE = 50  # vectors read back and self-queried by the check
PAGE = 20_000  # ids fetched per request by the check
BATCH = 2000  # vectors sent per upsert by a rebuild
Row = tuple[int, np.ndarray, dict[str, Any]]


class RemoteIndexOwner:
    """Takes, checks and keeps ownership of one model's index on a Chroma server."""

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        model_id: str,
        expected: Callable[[], set[int]],
        pending: Callable[[], set[int]],
        rows: Callable[[], Iterable[Row]],
        lock: Lock,
    ) -> None:
        """`connect()`: a chromadb client of the server; `expected`/`pending` as for `IndexOwner`; `rows()`: every
        (pk, vector, metadata) of this model, for a rebuild."""
        self.connect = connect
        self.model_id = model_id
        self.lock = lock
        self._expected = expected
        self._pending = pending
        self._rows = rows
        self._prefix = collection_name(model_id) + "-g"

    def claim(self, *, open_index: bool = True) -> tuple[VectorIndex | None, Claim]:
        """Take ownership (IndexBusy if another process has it), check the index, rebuild it when it cannot be
        trusted, and open it (always: its graph lives in the server, not in this process)."""
        if not self.lock.try_acquire():
            raise IndexBusy(f"the vector index is owned by another process ({self.lock.holder()})")
        client = None
        try:
            client = self.connect()
            found = self._inspect(client)
            current = self._current(client)
            if found in ("fresh", "broken", "mismatch") or current is None:
                index = self._rebuild(client)
            else:
                index = VectorIndex(client, model_id=self.model_id, name=current)
                self._drop_all_but(client, current)
            rebuilt = found in ("broken", "mismatch")
            return index, Claim(found=found, rebuilt=rebuilt, indexed=index.count())
        except BaseException:
            if client is not None:
                close_client(client)
            self.lock.release()
            raise

    def open(self) -> VectorIndex:
        """The current generation, opened again (claim always opens it: only needed after it was closed)."""
        client = self.connect()
        return VectorIndex(client, model_id=self.model_id, name=self._current(client))

    def drain(self) -> tuple[int, int]:
        raise RuntimeError("an index on a Chroma server is kept open by its owner; drain it there")

    def rebuild(self, current: VectorIndex | None) -> VectorIndex:
        """Build the next generation from the stored vectors and switch to it; the caller must own the index."""
        if not self.lock.held:
            raise IndexBusy("rebuilding needs ownership of the vector index")
        if current is not None:
            current.close()
        return self._rebuild(self.connect())

    def inspect(self) -> str:
        """fresh | ok | behind (the outbox will bring it in line) | mismatch | broken. Call it holding the lock."""
        client = self.connect()
        try:
            return self._inspect(client)
        finally:
            close_client(client)

    def _inspect(self, client: Any) -> str:
        from chromadb.errors import ChromaError

        expected = self._expected()
        name = self._current(client)
        if name is None:
            return "fresh" if not expected else "mismatch"
        try:
            ids, readable = _read_back(client.get_collection(name))
        except (ChromaError, ValueError, KeyError, TypeError):  # the server answered, wrongly; unreachable raises
            logger.warning("the vector index %s on the Chroma server failed its check", name, exc_info=True)
            return "broken"
        if not readable:
            return "broken"
        differ = ids ^ expected
        if not differ:
            return "ok"
        return "behind" if differ <= self._pending() else "mismatch"

    def _generations(self, client: Any) -> dict[str, tuple[int, bool]]:
        """name -> (generation, ready) of this model's collections."""
        found = {}
        for collection in client.list_collections():
            match = re.fullmatch(re.escape(self._prefix) + r"(\d+)", collection.name)
            if match:
                found[collection.name] = (int(match[1]), bool((collection.metadata or {}).get("ready")))
        return found

    def _current(self, client: Any) -> str | None:
        ready = [(gen, name) for name, (gen, ok) in self._generations(client).items() if ok]
        return max(ready)[1] if ready else None

    def _rebuild(self, client: Any) -> VectorIndex:
        generations = self._generations(client)
        name = f"{self._prefix}{max((g for g, _ in generations.values()), default=0) + 1:06d}"
        index = VectorIndex(client, model_id=self.model_id, name=name)
        batch: list[Row] = []
        for row in self._rows():
            batch.append(row)
            if len(batch) == BATCH:
                _upsert(index, batch)
                batch = []
        _upsert(index, batch)
        index.collection.modify(metadata={"model_id": self.model_id, "ready": True})
        self._drop_all_but(client, name)
        logger.info("the vector index on the Chroma server is now %s (%d vectors)", name, index.count())
        return index

    def _drop_all_but(self, client: Any, keep: str) -> None:
        for name in self._generations(client):
            if name != keep:
                client.delete_collection(name)


def _upsert(index: VectorIndex, rows: list[Row]) -> None:
    if rows:
        index.upsert([r[0] for r in rows], np.vstack([r[1] for r in rows]), [r[2] for r in rows])


def _read_back(collection: Any) -> tuple[set[int], bool]:
    """Every id in the collection, and whether a sample of its vectors read back and find themselves first."""
    ids: list[str] = []
    while page := collection.get(include=[], limit=PAGE, offset=len(ids))["ids"]:
        ids.extend(page)
        if len(page) < PAGE:
            break
    sample = random.Random(0).sample(ids, min(len(ids), SAMPLE))
    hits = 0
    if sample:
        got = collection.get(ids=sample, include=["embeddings"])
        found = collection.query(query_embeddings=got["embeddings"], n_results=1, include=["distances"])
        hits = sum(1 for d in found["distances"] if d and d[0] < 1e-3)
    return {int(i) for i in ids}, finds_itself(hits, len(sample))
