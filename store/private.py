"""The data directory holds incident text, prompts and tool arguments: it is created private to its owner.

Directories are created 0700 and files 0600 at creation (whatever the umask), so there is no moment at which
another user could open them. SQLite gives its -wal and -shm files the mode of the database file, so creating
`postmortem.db` 0600 covers them. An existing directory keeps the mode its owner gave it."""

import contextlib
import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents 0700 (existing ones are left alone); returns `path`."""
    missing: list[Path] = []
    for candidate in [path, *path.parents]:
        if candidate.exists():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process got there first
            directory.mkdir(mode=DIR_MODE)
    if not path.is_dir():  # the errno and the path, so that a caller can name them ("NotADirectoryError: " said none)
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty and 0600 if it does not exist yet; returns `path`."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    return path


def write_private(path: Path, text: str | Iterable[str]) -> None:
    """Replace `path` with `text` atomically (a reader sees the old file or the new one, never a part), 0600. An
    error names `path`, never the temporary file beside it (a directory given said "Is a directory: .x.123.tmp").
    `text` may come in pieces (an export's lines): each is written to the temporary file as it comes, so none is
    held whole; one that fails to come (an error while reading) leaves `path` as it was and no temporary file."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    try:
        with replacing(path) as handle:
            handle.writelines(_pieces(text))
    except OSError as e:
        if e.filename != str(_temporary(path)):
            raise
        raise OSError(e.errno, e.strerror, str(path)) from None


@contextlib.contextmanager
def replacing(path: Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A new file beside `path`, 0600, to write through the handle given; when the block ends it replaces `path`
    atomically and the rename is synced. An error in the block leaves `path` as it was and no temporary file."""
    temporary = _temporary(path)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)  # the rename itself survives a crash


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_output(path: Path, text: str | Iterable[str]) -> None:
    """Write a file a person named for output (a post-mortem, a runbook, an export): it holds incident text, so it
    is written as `write_private` writes, 0600, replacing an existing file whole, `text` whole or in pieces. A
    symbolic link is followed to the file it names (the link stays), and a path that is no file (/dev/stdout, a
    pipe, a terminal) is written into: replacing it put a file where the device was."""
    try:
        mode: int | None = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        with path.open("w", encoding="utf-8") as handle:
            handle.writelines(_pieces(text))
        return
    target = path.resolve() if path.is_symlink() else path
    pieces = _Pieces(text)
    try:
        write_private(target, pieces)
    except PermissionError:
        if mode is None or pieces.started:  # no file to write into, or refused once written: as the error says
            raise
        # A file of one's own in a directory one cannot write in: no file can be made beside it, but the file itself
        # can be rewritten in place (as a plain write did), made private first. Its text is made whole before the
        # file is touched, so that a failure while making it leaves the file as it was.
        whole = "".join(pieces)
        fd = os.open(target, os.O_WRONLY)
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.truncate()
            handle.write(whole)


def _pieces(text: str | Iterable[str]) -> Iterable[str]:
    return (text,) if isinstance(text, str) else text


class _Pieces:
    """The pieces of a text, saying whether any has been taken (the in-place rewrite can only start from none)."""

    def __init__(self, text: str | Iterable[str]) -> None:
        self._pieces = iter(_pieces(text))
        self.started = False

    def __iter__(self) -> Iterator[str]:
        for piece in self._pieces:
            self.started = True
            yield piece


def sync_directory(directory: Path) -> None:
    """fsync a directory, so that a rename into it survives a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
