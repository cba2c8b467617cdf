"""The float32 vectors the exact search re-ranks with, read from files with `os.pread`, never held in memory.

Re-ranking reads a few hundred stored vectors per query. From the record store that cost 1.5 ms at 100k incidents
(random B-tree reads through the incidents table); `os.pread` from a flat file of rows in the page cache costs about
0.3 ms, and, unlike a memory map, the pages read are not counted in the process's memory: the vectors are held once,
by the kernel, for every process of the home.

Rows are numbered as the exact index numbers them. The first `saved` rows are in the vector cache file the index was
loaded from (or last saved), an array written there next to the int8 codes; the rows added since are appended to a
private temporary file (unlinked at once: it disappears with the process). A save copies both into the next cache
file in the kernel (`cache_file.Region`) and this object moves over to it (`adopt`).

The saved rows carry no checksum of their own (checking 154 MB at 100k would read them all at every start): each row
read is checked against its int8 codes instead (`agrees`: the sum of its codes, which the cache file does checksum);
a row that disagrees is read from the record store, and the file is removed, to be rebuilt by the next process.
"""

import errno
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from agent_postmortem.store.private import private_dir
from agent_postmortem.store.search.cache_file import Region

NAME = "floats"  # the array's name in the vector cache file

logger = logging.getLogger(__name__)


class FloatRows:
    """Not thread-safe: the exact index calls it under its lock. The regions it gives a save hold their own
    descriptors (the saver closes them), so a save may copy them while this object moves on."""

    def __init__(self, dimension: int, folder: Path) -> None:
        self.dimension = dimension
        self._folder = folder
        self._row = dimension * 4
        self._file: int | None = None  # the cache file's descriptor
        self._offset = 0  # where its rows start
        self.saved = 0  # rows in it
        self._tail: int | None = None  # the private file of the rows added since
        self._tail_rows = 0

    def __len__(self) -> int:
        return self.saved + self._tail_rows

    def open_saved(self, fd: int, offset: int, rows: int) -> None:
        """Use `rows` rows at `offset` of the open cache file `fd` (now this object's to close) as rows 0.."""
        self.close()
        self._file, self._offset, self.saved = fd, offset, rows

    def append(self, rows: np.ndarray) -> None:
        if self._tail is None:
            self._tail = self._tail_file()
        data = np.ascontiguousarray(rows, dtype=np.float32).tobytes()
        if os.pwrite(self._tail, data, self._tail_rows * self._row) != len(data):
            raise OSError("short write of vectors to a temporary file")
        self._tail_rows += len(rows)

    def _tail_file(self) -> int:
        """An unnamed private file beside the cache (a save copies from it within the file system), or in the
        system's temporary directory when the cache's folder cannot be written here (nothing is saved there then)."""
        try:
            private_dir(self._folder)
            fd, name = tempfile.mkstemp(prefix=".vectors-", suffix=".tmp", dir=self._folder)  # 0600
        except OSError as e:
            if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            fd, name = tempfile.mkstemp(prefix=".vectors-", suffix=".tmp")
        os.unlink(name)
        return fd

    def checked(self, rows: np.ndarray, sums: np.ndarray, scales: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """(vectors, which rows they are, whether some saved row was damaged) for the rows that can be read here,
        each checked against its codes' sum and scale (`agrees`); damaged saved rows are never read again
        (`drop_saved`): the caller reads them, and the rest, from the records."""
        here = self.readable(rows) & (rows < len(self))
        try:
            floats = self.read(rows[here])
        except OSError:
            logger.warning("could not read cached vectors; reading them from the records", exc_info=True)
            return np.zeros((0, self.dimension), dtype=np.float32), np.zeros(len(rows), dtype=bool), False
        good = agrees(floats, sums[rows[here]], scales[rows[here]])
        if good.all():
            return floats, here, False
        self.drop_saved()
        here[here] = good
        return floats[good], here, True

    def read_range(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop-1 in one or two reads (a pass over every row: search/reduced.py)."""
        parts = []
        first, last = start, min(stop, self.saved)
        if first < last:
            if self._file is None:  # dropped as damaged
                raise OSError("the saved vectors are not readable here")
            parts.append(os.pread(self._file, (last - first) * self._row, self._offset + first * self._row))
        first, last = max(start, self.saved), stop
        if first < last:
            if self._tail is None:
                raise OSError(f"vector rows {first}..{last} were never kept here")
            parts.append(os.pread(self._tail, (last - first) * self._row, (first - self.saved) * self._row))
        data = b"".join(parts)
        if len(data) != (stop - start) * self._row:
            raise OSError(f"vector rows {start}..{stop} are cut short")
        return np.frombuffer(data, dtype=np.float32).reshape(stop - start, self.dimension)

    def readable(self, rows: np.ndarray) -> np.ndarray:
        """Which of these rows can be read here (all but the saved ones after `drop_saved`)."""
        return np.asarray((rows >= self.saved) | (self._file is not None))

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of these row numbers (each below `len(self)`), in that order."""
        out = np.empty((len(rows), self.dimension), dtype=np.float32)
        view = out.reshape(-1).view(np.uint8).data
        saved, size = self.saved, self._row
        for i, row in enumerate(rows.tolist()):
            fd, at = (self._file, self._offset + row * size) if row < saved else (self._tail, (row - saved) * size)
            if fd is None:  # saved rows dropped as damaged, or a row never kept here
                raise OSError(f"vector row {row} is not readable here")
            if _read_into(fd, view[i * size : (i + 1) * size], at) != size:
                raise OSError(f"vector row {row} is cut short")
        return out

    def regions(self, rows: int) -> list[Region] | None:
        """The first `rows` rows as parts of a cache file being written, each on its own descriptor (the caller
        closes them: `close_regions`); None when some are not here (`drop_saved`)."""
        if rows > len(self) or (self.saved and self._file is None):
            return None
        kind = np.dtype(np.float32)
        parts = []
        if self.saved:
            assert self._file is not None
            parts.append(Region(os.dup(self._file), self._offset, min(rows, self.saved), (self.dimension,), kind))
        if rows > self.saved:
            assert self._tail is not None
            parts.append(Region(os.dup(self._tail), 0, rows - self.saved, (self.dimension,), kind))
        return parts

    def adopt(self, fd: int, offset: int, rows: int) -> None:
        """A cache file now holds the first `rows` rows at `offset` of `fd`: read them there, and keep in the private
        file only the rows after them (added while it was written)."""
        later = len(self) - rows
        keep = self.read(np.arange(rows, len(self))) if later > 0 else None
        self._close_files()
        self._file, self._offset, self.saved, self._tail_rows = fd, offset, rows, 0
        if keep is not None:
            self.append(keep)

    def close(self) -> None:
        self._close_files()
        self.saved = self._tail_rows = 0

    def _close_files(self) -> None:
        for fd in (self._file, self._tail):
            if fd is not None:
                os.close(fd)
        self._file = self._tail = None

    def drop_saved(self) -> None:
        """The saved rows are damaged: read none of them from now on (the caller reads those from the records)."""
        if self._file is not None:
            os.close(self._file)
        self._file = None


def _read_into(fd: int, buffer: memoryview, at: int) -> int:
    """`os.preadv` into the buffer where the platform has it (Linux); `os.pread` and a copy elsewhere (macOS)."""
    if _PREADV is not None:
        return int(_PREADV(fd, [buffer], at))
    data = os.pread(fd, len(buffer), at)
    buffer[: len(data)] = data
    return len(data)


_PREADV = getattr(os, "preadv", None)


def close_regions(parts: object) -> None:
    """Close the descriptors of the Regions among `parts` (a snapshot's array or list of arrays)."""
    for part in parts if isinstance(parts, list) else [parts]:
        if isinstance(part, Region):
            os.close(part.fd)


def agrees(floats: np.ndarray, sums: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Which rows quantise to codes with the sum their codes have (`int8_scan.quantize` on the same float32 values gives
    the very same codes): a damaged value changes its code, unless the damage is below half a quantisation step."""
    codes = np.rint(floats / scales[:, None])
    return np.asarray(codes.sum(axis=1) == sums)
