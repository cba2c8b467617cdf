"""A search cache kept on disk next to the database: what it covers, who writes it, and whether it is still this home's.

The in-memory indexes (search/lexical.py, search/exact.py) are caches of the record store, loaded by primary key.
Built from the records at 100k incidents, the lexical one took about 9 s, which a new process used to spend before its
first search. So each is saved with what it covers: the newest key loaded and the gaps below it (records/cursor.py).
A new process loads the file and reads from the records only the rows added since.

A file is used only when its signature (format version, tokenizer or embedding model) is the one expected and a sample
of the incidents it covers still has the content (and vector model) it had when it was saved; missing, damaged
(search/cache_file.py) or foreign files are ignored, and the cache is built from the records and saved again.

One writer at a time per file: an flock taken without waiting (a process that finds it taken skips its save; the
rows are the same for everyone). Readers take no lock: a file is replaced by a rename, so one that is open stays whole.
"""

import contextlib
import errno
import fcntl
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.store.private import FILE_MODE, private_dir
from agent_postmortem.store.records.cursor import KeyCursor
from agent_postmortem.store.search import cache_file

logger = logging.getLogger(__name__)

SAMPLE = 32  # incidents whose fingerprint is checked when a file is loaded
SAVE_AFTER = 2000  # rows loaded since the last save that make the next refresh save again

Fingerprints = Callable[[Sequence[int]], dict[int, str]]
Arrays = Mapping[str, cache_file.Part | list[cache_file.Part]]
Snapshot = tuple[KeyCursor, Arrays]  # what a cache saves: where it has read up to, and its arrays


@dataclass(frozen=True)
class Loaded:
    newest: int
    gaps: list[tuple[int, int]]
    arrays: dict[str, np.ndarray]
    offsets: dict[str, int]  # where each array starts in the file
    fd: int | None = None  # the file loaded, open (with `keep_fd`): the caller closes it


class PersistedCache:
    def __init__(self, path: Path, *, signature: dict[str, Any], fingerprints: Fingerprints) -> None:
        """`signature`: what must match for the file to be used; `fingerprints(pks)`: what the records hold for those
        incidents now (content hash and vector model), compared with what they held when the file was saved."""
        self.path = path
        self.signature = signature
        self._fingerprints = fingerprints

    def load(self, *, keep_fd: bool = False) -> Loaded | None:
        """The saved cache, or None (logged) when it is missing, damaged or not this home's. With `keep_fd`, the
        file stays open for `os.pread` (Loaded.fd, the caller's to close)."""
        if not self.path.exists():
            return None
        try:
            opened = cache_file.open_file(self.path, keep_fd=keep_fd)
        except cache_file.CacheUnreadable as e:
            logger.warning("rebuilding the search cache %s: the file is unreadable (%s)", self.path.name, e)
            return None
        why = self._foreign(opened.meta, opened.arrays)
        if why:
            logger.warning("rebuilding the search cache %s: %s", self.path.name, why)
            if opened.fd is not None:
                os.close(opened.fd)
            return None
        return _loaded(opened)

    def _foreign(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str | None:
        if meta.get("signature") != self.signature:
            return "it was made by another version or model"
        if "pks" not in arrays or len(arrays["pks"]) != meta.get("rows"):
            return "it is incomplete"
        sample = {int(pk): str(fingerprint) for pk, fingerprint in meta.get("sample", [])}
        if sample and self._fingerprints(list(sample)) != sample:
            return "the incidents it covers are not those of this database"
        return None

    def save(self, cursor: KeyCursor, arrays: Arrays, *, keep_fd: bool = False) -> Loaded | None:
        """Write the cache (`arrays` holds "pks") covering `cursor`'s position: the file as written (open with
        `keep_fd`), or None when another process is writing it now."""
        with self._writer() as mine:
            if not mine:
                return None
            pks = arrays["pks"]
            assert isinstance(pks, np.ndarray)
            meta = {
                "signature": self.signature,
                "rows": len(pks),
                "newest": cursor.newest,
                "gaps": [list(gap) for gap in cursor.gaps()],
                "sample": sorted(self._fingerprints(_sample(pks)).items()),
            }
            cache_file.write(self.path, meta, arrays)
            return _loaded(cache_file.open_file(self.path, verify=False, keep_fd=keep_fd))  # still ours: locked

    def discard(self) -> None:
        """Remove the file (the records changed under it: the next process rebuilds), unless it cannot be written."""
        with self._writer() as mine:
            if mine is not None:
                self.path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _writer(self) -> Iterator[bool | None]:
        """True: this process writes the file now; False: another one does; None: the folder cannot be written here
        (a read-only data directory: the cache is read as it is, and built in memory when it does not fit)."""
        try:
            private_dir(self.path.parent)
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as e:
            if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            yield None
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # releases the lock


def _loaded(opened: cache_file.Opened) -> Loaded:
    meta = opened.meta
    gaps = [(int(first), int(last)) for first, last in meta["gaps"]]
    return Loaded(int(meta["newest"]), gaps, opened.arrays, opened.offsets, opened.fd)


def _sample(pks: np.ndarray) -> list[int]:
    """Up to SAMPLE keys spread over the covered ones, the newest always among them."""
    if not len(pks):
        return []
    ordered = np.sort(pks)
    picks = np.linspace(0, len(ordered) - 1, num=min(SAMPLE, len(ordered))).round().astype(np.int64)
    return [int(pk) for pk in np.unique(ordered[picks])]
