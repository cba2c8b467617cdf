"""One file holding named numpy arrays and a JSON header: how the search caches persist next to the database.

Written whole to a temporary file beside the target, fsynced, then renamed over it (and the directory fsynced): a
reader sees the old file or the new one, never a torn one, and a crash leaves at most a stray temporary file (removed
by the next write). Read through one read-only memory map: opening costs next to nothing, and the pages come from the
page cache, shared by every process of the home. Every array carries a CRC-32, checked when read, so a damaged file
reads as unreadable (and its cache is rebuilt from the records), except the parts written from a `Region`: rows of
another open file copied by the kernel (`os.copy_file_range`), never read into this process, which the reader checks
itself as it reads them (search/float_rows.py). Created 0600: the vocabulary is incident text.
"""

import json
import mmap
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.store.private import replacing

MAGIC = b"PMCACHE1"
ALIGN = 64
_PREFIX = len(MAGIC) + 8  # magic, then the header's length (little-endian uint64)


class CacheUnreadable(Exception):
    """The file is missing, truncated, damaged or of another format."""


@dataclass(frozen=True)
class Region:
    """`rows` rows of `row_shape` and `dtype` at byte `offset` of the open file `fd`: written by copying those bytes
    in the kernel, never through this process's memory."""

    fd: int
    offset: int
    rows: int
    row_shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return self.rows * int(np.prod(self.row_shape, dtype=np.int64)) * self.dtype.itemsize


Part = np.ndarray | Region


@dataclass(frozen=True)
class Opened:
    """A read cache file: its meta, its arrays (over a read-only memory map, pages read only when touched), where each
    array starts in the file, and (when asked for) a descriptor of that very file, to read rows with `os.pread`."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    offsets: dict[str, int]
    fd: int | None = None


def _padded(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def _bytes(array: np.ndarray) -> memoryview:
    return array.reshape(-1).view(np.uint8).data


def _rows(part: Part) -> int:
    return part.rows if isinstance(part, Region) else len(part)


def _shape(parts: Sequence[Part]) -> list[int]:
    first = parts[0]
    if isinstance(first, Region):
        return [sum(_rows(p) for p in parts), *first.row_shape]
    return [sum(_rows(p) for p in parts), *first.shape[1:]] if first.ndim else []


def _layout(parts: Mapping[str, list[Part]]) -> tuple[dict[str, dict[str, Any]], int]:
    """Each array's dtype, shape, offset from the data start and CRC-32 (None when a part is a Region)."""
    layout: dict[str, dict[str, Any]] = {}
    offset = 0
    for name, blocks in parts.items():
        crc: int | None = 0
        for block in blocks:
            crc = None if crc is None or isinstance(block, Region) else zlib.crc32(_bytes(block), crc)
        dtype = blocks[0].dtype
        layout[name] = {"dtype": dtype.str, "shape": _shape(blocks), "offset": offset, "crc32": crc}
        offset = _padded(offset + sum(b.nbytes for b in blocks))
    return layout, offset


def write(path: Path, meta: dict[str, Any], arrays: Mapping[str, Part | list[Part]]) -> None:
    """Replace `path` atomically with `meta` (JSON-able) and `arrays` (plain dtypes; a list of arrays is stored as
    their concatenation along the first axis, without building it in memory; a `Region` is copied from its file)."""
    parts: dict[str, list[Part]] = {
        name: [b if isinstance(b, Region) else np.ascontiguousarray(b) for b in (v if isinstance(v, list) else [v])]
        for name, v in arrays.items()
    }
    layout, size = _layout(parts)
    header = json.dumps({"meta": meta, "arrays": layout}).encode()
    start = _padded(_PREFIX + len(header))
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a writer that crashed
        stale.unlink(missing_ok=True)
    with replacing(path, binary=True) as handle:
        handle.write(MAGIC + len(header).to_bytes(8, "little") + header)
        for name, blocks in parts.items():
            handle.seek(start + layout[name]["offset"])
            for block in blocks:
                if isinstance(block, Region):
                    handle.flush()
                    _copy(block, handle.fileno(), handle.tell())
                    handle.seek(block.nbytes, os.SEEK_CUR)
                else:
                    handle.write(_bytes(block))
        handle.truncate(start + size)


def _copy(region: Region, fd: int, at: int) -> None:
    """Copy a region's bytes to `fd` at `at`, in the kernel where it can (Linux), else in 8 MB pieces."""
    done = 0
    while done < region.nbytes:
        want = min(region.nbytes - done, 1 << 30)
        try:
            n = os.copy_file_range(region.fd, fd, want, region.offset + done, at + done)
        except (AttributeError, OSError):  # not Linux, or a file system that cannot: copy through a buffer
            n = os.pwrite(fd, os.pread(region.fd, min(want, 1 << 23), region.offset + done), at + done)
        if n <= 0:
            raise OSError(f"could not copy {region.nbytes - done} bytes of cached rows")
        done += n


def read(path: Path, *, verify: bool = True) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays): read-only arrays over a memory map of the file. CacheUnreadable if it is not whole."""
    opened = open_file(path, verify=verify)
    return opened.meta, opened.arrays


def open_file(path: Path, *, verify: bool = True, keep_fd: bool = False) -> Opened:
    """The file's meta, arrays and their offsets; with `keep_fd`, a descriptor of the file (the caller closes it)."""
    try:
        with path.open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            fd = os.dup(handle.fileno()) if keep_fd else None
    except (OSError, ValueError) as e:  # ValueError: an empty file cannot be mapped
        raise CacheUnreadable(f"{path.name}: {e}") from e
    try:
        meta, arrays, offsets = _parse(mapped, verify=verify)
    except (ValueError, KeyError, TypeError) as e:
        if fd is not None:
            os.close(fd)
        raise CacheUnreadable(f"{path.name}: {e}") from e
    return Opened(meta, arrays, offsets, fd)


def _parse(mapped: mmap.mmap, *, verify: bool) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, int]]:
    if mapped[: len(MAGIC)] != MAGIC:
        raise ValueError("not a cache file")
    length = int.from_bytes(mapped[len(MAGIC) : _PREFIX], "little")
    header = json.loads(bytes(mapped[_PREFIX : _PREFIX + length]))
    start = _padded(_PREFIX + length)
    arrays, offsets = {}, {}
    for name, spec in header["arrays"].items():
        dtype, shape = np.dtype(spec["dtype"]), tuple(int(n) for n in spec["shape"])
        if dtype.hasobject:
            raise ValueError(f"{name} has an object dtype")
        count = int(np.prod(shape, dtype=np.int64))
        at = start + int(spec["offset"])
        if at + count * dtype.itemsize > len(mapped):
            raise ValueError(f"{name} is cut short")
        array = np.frombuffer(mapped, dtype=dtype, count=count, offset=at).reshape(shape)
        if verify and spec["crc32"] is not None and zlib.crc32(_bytes(array)) != spec["crc32"]:
            raise ValueError(f"{name} does not match its checksum")
        arrays[name], offsets[name] = array, at
    return dict(header["meta"]), arrays, offsets
