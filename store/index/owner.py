"""One process owns the chromadb directory; the others never open it.

chromadb's embedded client is not process-safe (two writers on one directory corrupt it), while an MCP client
starts a stdio server per window on the same home. So the directory has an owner: whoever holds an exclusive
`flock` on `HOME/chroma.lock`. The lock is the kernel's, so it is released the moment its holder dies, even by
SIGKILL, and another process can take over. A process that is not the owner still writes records (SQLite is
multi-process safe) and answers searches exactly, from the vectors stored with the records; the owner drains
everyone's outbox into the index.

Taking ownership checks the directory first, in a child process (`index.health`): if it cannot be opened,
fails the read-back, or disagrees with the records beyond what the outbox still has to apply, it is rebuilt from
the stored vectors in another child and swapped in. An index on a Chroma server has the same owner rules with
another check and rebuild (`index.remote`).

The lock is injected (`Lock`): an flock beside the directory for one machine; when the records live in PostgreSQL,
replicas may run on different machines, and the owner is whoever holds a session-level advisory lock in the
database (`index.advisory_lock`).
"""

import logging
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent_postmortem.store.errors import IndexBusy as IndexBusy  # raised here; its home is store/errors.py
from agent_postmortem.store.index import health as index_health
from agent_postmortem.store.index.chroma import VectorIndex, open_persistent
from agent_postmortem.store.locks import try_lock

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    """How ownership was taken: what the check found and what was done about it."""

    found: str  # fresh | ok | behind | unbuilt | mismatch | broken
    rebuilt: bool
    indexed: int
    quarantined: str | None = None  # where a broken index was moved aside


class Lock(Protocol):
    """Who may own the index: at most one holder at a time, released when the holder dies. `IndexLock` (an flock,
    for one machine) or a database lock shared by replicas on several machines (`AdvisoryIndexLock`)."""

    @property
    def held(self) -> bool: ...

    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...

    def holder(self) -> int | None: ...

    def alive(self) -> bool: ...


class Ownership(Protocol):
    """What the knowledge base needs of an index owner, local (`IndexOwner`) or on a Chroma server."""

    lock: Lock

    def claim(self, *, open_index: bool = True) -> tuple[VectorIndex | None, Claim]:
        """Take ownership; without `open_index` a local owner leaves the index closed (None), to `open` or `drain`
        later; an owner on a Chroma server always opens it (its graph lives in the server)."""
        ...

    def open(self) -> VectorIndex: ...

    def drain(self) -> tuple[int, int]:
        """Apply the outbox without opening the index in this process: (rows done, vectors in the index)."""
        ...

    def rebuild(self, current: VectorIndex | None) -> VectorIndex: ...

    def inspect(self) -> str: ...


def owned_elsewhere(pid: int | None) -> str:
    """Why the index could not be taken: another process owns it, or another service of this very process (an
    flock is per open file, so a second service here is refused as another process would be)."""
    if pid == os.getpid():
        return f"the vector index is owned by another service in this process (pid {pid}): close that one first"
    return f"the vector index is owned by another process (pid {pid})"


class IndexLock:
    """An exclusive, non-blocking `flock` on a file beside the index; the file holds the owner's pid. The lock
    goes with the process (and with this object, when it is collected)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._finalizer: Any = None  # weakref.finalize closing the descriptor

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            taken = try_lock(fd)
        except OSError:
            os.close(fd)
            raise
        if not taken:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        self._finalizer = weakref.finalize(self, os.close, fd)
        return True

    def alive(self) -> bool:
        return self.held  # the kernel keeps an flock for as long as the descriptor is open

    def release(self) -> None:
        if self._fd is not None and self._finalizer is not None:
            self._finalizer()  # closing the descriptor releases the lock
            self._fd = self._finalizer = None

    def holder(self) -> int | None:
        """The pid written by the current (or last) owner."""
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None


class IndexOwner:
    """Takes, checks and keeps ownership of one home's index directory."""

    def __init__(
        self,
        path: Path,
        *,
        database_url: str,
        model_id: str,
        expected: Callable[[], set[int]],
        pending: Callable[[], set[int]],
        lock: Lock | None = None,
    ) -> None:
        """`expected()`: the incidents with a vector of this model; `pending()`: those the outbox has yet to apply.
        Both are read after the lock is taken, when no one else can drain the outbox. `lock`: default, an flock
        beside the directory."""
        self.path = path
        self.lock: Lock = lock or IndexLock(path.with_name(f"{path.name}.lock"))
        self.database_url = database_url
        self.model_id = model_id
        self._expected = expected
        self._pending = pending
        self._counted = 0  # vectors in the index, as the last child process (probe, rebuild, drain) found them

    def claim(self, *, open_index: bool = True) -> tuple[VectorIndex | None, Claim]:
        """Take ownership (IndexBusy if another process has it), check the index against the records, rebuild it
        when it cannot be trusted, and open it (unless not `open_index`: then only the children touch it)."""
        if not self.lock.try_acquire():
            raise IndexBusy(owned_elsewhere(self.lock.holder()))
        try:
            found = self.inspect()
            rebuilt = found in ("broken", "mismatch", "unbuilt")
            quarantined = self._rebuild(keep_old=found == "broken") if rebuilt else None
            index = self.open() if open_index else None
            indexed = index.count() if index is not None else self._counted
            return index, Claim(found=found, rebuilt=rebuilt, indexed=indexed, quarantined=quarantined)
        except BaseException:
            self.lock.release()
            raise

    def open(self) -> VectorIndex:
        """The index, opened in this process (the caller owns it)."""
        return VectorIndex(open_persistent(str(self.path)), model_id=self.model_id)

    def drain(self) -> tuple[int, int]:
        """Apply the outbox in a child process (the caller owns the index and does not have it open)."""
        if not self.lock.held:
            raise IndexBusy("applying the outbox needs ownership of the vector index")
        done, self._counted = index_health.drain(self.path, database_url=self.database_url, model_id=self.model_id)
        return done, self._counted

    def rebuild(self, current: VectorIndex | None) -> VectorIndex:
        """Rebuild the index from the stored vectors and swap it in for `current` (closed first); the caller
        must own it."""
        if not self.lock.held:
            raise IndexBusy("rebuilding needs ownership of the vector index")
        if current is not None:
            current.close()
        self._rebuild(keep_old=False)
        return VectorIndex(open_persistent(str(self.path)), model_id=self.model_id)

    def _rebuild(self, *, keep_old: bool) -> str | None:
        """Rebuild and swap in; where the old directory was moved aside, when kept."""
        before = set(self.path.parent.glob(f"{self.path.name}.broken-*"))
        self._counted = index_health.rebuild(
            self.path, database_url=self.database_url, model_id=self.model_id, keep_old=keep_old
        )
        moved = sorted(set(self.path.parent.glob(f"{self.path.name}.broken-*")) - before)
        return str(moved[-1]) if moved else None

    def inspect(self) -> str:
        """fresh | ok | behind (the outbox will bring it in line) | unbuilt (none yet, every record still in the
        outbox: a seeded or imported home no server has opened) | mismatch | broken. Call it holding the lock."""
        expected = self._expected()
        if not self.path.exists():
            return "fresh" if not expected else "unbuilt" if expected <= self._pending() else "mismatch"
        found = index_health.probe(self.path, self.model_id)
        if found is None or not found.readable:
            return "broken"
        self._counted = len(found.ids)
        differ = set(found.ids) ^ expected
        if not differ:
            return "ok"
        return "behind" if differ <= self._pending() else "mismatch"
