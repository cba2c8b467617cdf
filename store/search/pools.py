"""A thread pool that a forked child can use: the child gets a pool of its own on its first submit.

A module-level `ThreadPoolExecutor` survives `os.fork()` without its threads: the child's submits queue work that no
thread runs, and the caller waits for ever (a forked worker's first capture hung in search). The parent's pool object
is kept, never shut down, in the child (its threads are not there to join)."""

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class ForkSafePool:
    def __init__(self, max_workers: int, thread_name_prefix: str) -> None:
        self._args = (max_workers, thread_name_prefix)
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._inherited: list[ThreadPoolExecutor] = []
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        if self._pid != os.getpid():
            self._inherited.append(self._pool)
            self._pool = ThreadPoolExecutor(max_workers=self._args[0], thread_name_prefix=self._args[1])
            self._pid = os.getpid()

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> "Future[T]":
        return self._pool.submit(fn, *args, **kwargs)
