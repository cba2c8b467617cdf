"""Which tests leave file descriptors open: `python -m pytest -p tests.fd_census tests/DIR` writes, for every test
whose setup, call and teardown left this process with more descriptors than before, the count before and after and
what the new ones are (sockets, pipes, files), to POSTMORTEM_TEST_FDS (default fd-census.txt); off unless asked for.
A long run in one worker once reached descriptor 1024, past which select() refuses one."""

import os
from collections.abc import Generator
from pathlib import Path

import pytest


def _open() -> dict[str, str]:
    found = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            found[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor, closed by now
            continue
    return found


def _kind(target: str) -> str:
    return target.split(":", 1)[0] if target.startswith(("socket:", "pipe:", "anon_inode:")) else target


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    before = _open()
    try:
        return (yield)
    finally:
        after = _open()
        if len(after) > len(before):
            new = sorted(_kind(target) for fd, target in after.items() if before.get(fd) != target)
            line = f"{item.nodeid}\t{len(before)}\t{len(after)}\t+{len(after) - len(before)}\t{new}\n"
            with Path(os.environ.get("POSTMORTEM_TEST_FDS", "fd-census.txt")).open("a", encoding="utf-8") as out:
                out.write(line)


_started: list[int] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _started.append(len(_open()))


def pytest_sessionfinish(session: pytest.Session) -> None:
    import gc

    left = len(_open())
    gc.collect()
    with Path(os.environ.get("POSTMORTEM_TEST_FDS", "fd-census.txt")).open("a", encoding="utf-8") as out:
        out.write(f"SESSION\t{_started[0]}\t{left}\t+{left - _started[0]}\tafter gc: {len(_open())}\n")
