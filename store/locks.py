"""Exclusive locks between processes, on files: `flock`, on Linux, macOS and the BSDs.

An flock belongs to the open file and the kernel drops it when the holder dies, even by SIGKILL: the vector index's
ownership (index/owner.py) relies on that, as do the migrations, the export of the ONNX model and the tokens file.
Windows has no flock, and the product does not run there natively (WSL does): a lock taken there says so."""

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

UNSUPPORTED = "agent-postmortem needs POSIX file locks (Linux or macOS); on Windows, run it in WSL"


def _fcntl() -> ModuleType:
    try:
        import fcntl
    except ImportError:  # Windows
        raise OSError(UNSUPPORTED) from None
    return fcntl


def try_lock(fd: int) -> bool:
    """Lock an open file exclusively without waiting: False when another process holds it."""
    fcntl = _fcntl()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created private to its owner) for the block, waiting for it."""
    fcntl = _fcntl()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the file drops the lock
