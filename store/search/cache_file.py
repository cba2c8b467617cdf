"""One file holding named numpy arrays and a JSON header: how the search caches persist next to the database.

Written whole to a temporary file beside the target, fsynced, then renamed over it (and the directory fsynced): a
reader sees the old file or the new one, never a torn one, and a crash leaves at most a stray temporary file (removed
by the next write). Read through one read-only memory map: opening costs next to nothing, and the pages come from the
page cache, shared by every process of the home. Every array carries a CRC-32, checked when read, so a damaged file
reads as unreadable (and its cache is rebuilt from the records). Created 0600: the vocabulary is incident text.
"""

import json
import mmap
import os
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.store.private import FILE_MODE, sync_directory

MAGIC = b"PMCACHE1"
ALIGN = 64
_PREFIX = len(MAGIC) + 8  # magic, then the header's length (little-endian uint64)


class CacheUnreadable(Exception):
    """The file is missing, truncated, damaged or of another format."""


def _padded(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def _bytes(array: np.ndarray) -> memoryview:
    return array.reshape(-1).view(np.uint8).data


def write(path: Path, meta: dict[str, Any], arrays: Mapping[str, np.ndarray | list[np.ndarray]]) -> None:
    """Replace `path` atomically with `meta` (JSON-able) and `arrays` (plain dtypes; a list of arrays is stored as
    their concatenation along the first axis, without building it in memory)."""
    parts = {name: [np.ascontiguousarray(a) for a in (v if isinstance(v, list) else [v])] for name, v in arrays.items()}
    layout: dict[str, dict[str, Any]] = {}
    offset = 0
    for name, blocks in parts.items():
        shape = [sum(len(b) for b in blocks), *blocks[0].shape[1:]] if blocks[0].ndim else []
        crc = 0
        for block in blocks:
            crc = zlib.crc32(_bytes(block), crc)
        layout[name] = {"dtype": blocks[0].dtype.str, "shape": shape, "offset": offset, "crc32": crc}
        offset = _padded(offset + sum(b.nbytes for b in blocks))
    header = json.dumps({"meta": meta, "arrays": layout}).encode()
    start = _padded(_PREFIX + len(header))
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a writer that crashed
        stale.unlink(missing_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(MAGIC + len(header).to_bytes(8, "little") + header)
            for name, blocks in parts.items():
                handle.seek(start + layout[name]["offset"])
                for block in blocks:
                    handle.write(_bytes(block))
            handle.truncate(start + offset)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)  # the rename itself survives a crash


def read(path: Path, *, verify: bool = True) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays): read-only arrays over a memory map of the file. CacheUnreadable if it is not whole."""
    try:
        with path.open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as e:  # ValueError: an empty file cannot be mapped
        raise CacheUnreadable(f"{path.name}: {e}") from e
    try:
        return _parse(mapped, verify=verify)
    except (ValueError, KeyError, TypeError) as e:
        raise CacheUnreadable(f"{path.name}: {e}") from e


def _parse(mapped: mmap.mmap, *, verify: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if mapped[: len(MAGIC)] != MAGIC:
        raise ValueError("not a cache file")
    length = int.from_bytes(mapped[len(MAGIC) : _PREFIX], "little")
    header = json.loads(bytes(mapped[_PREFIX : _PREFIX + length]))
    start = _padded(_PREFIX + length)
    arrays = {}
    for name, spec in header["arrays"].items():
        dtype, shape = np.dtype(spec["dtype"]), tuple(int(n) for n in spec["shape"])
        if dtype.hasobject:
            raise ValueError(f"{name} has an object dtype")
        count = int(np.prod(shape, dtype=np.int64))
        at = start + int(spec["offset"])
        if at + count * dtype.itemsize > len(mapped):
            raise ValueError(f"{name} is cut short")
        array = np.frombuffer(mapped, dtype=dtype, count=count, offset=at).reshape(shape)
        if verify and zlib.crc32(_bytes(array)) != spec["crc32"]:
            raise ValueError(f"{name} does not match its checksum")
        arrays[name] = array
    return dict(header["meta"]), arrays
