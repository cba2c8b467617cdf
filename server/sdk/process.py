"""What every recorder of a process shares: one exit hook and one local store.

Agent code may make a `Recorder` per agent instance, per request or per task. Each used to chain its own
`sys.excepthook` (a few thousand recorders made a crash end in RecursionError, with no capture flushed), register
its own atexit handler, and build its own local service (a store and an embedding model each: about 1 GB for 20).
Here one hook, installed once, flushes every live recorder within one shared deadline, and recorders on the same
local store share one service.
"""

import atexit
import concurrent.futures.thread  # noqa: F401  (its fork hook registered before ours: see below)
import logging
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService


class Flushable(Protocol):
    exit_timeout: float

    def flush_before_exit(self, deadline: float) -> None: ...

    def pending(self) -> int: ...

    def after_fork(self) -> object: ...


logger = logging.getLogger(__name__)
_live: "weakref.WeakSet[Any]" = weakref.WeakSet()
_services: dict[tuple[str, str, str], "PostmortemService"] = {}
_lock = threading.Lock()
_service_lock = threading.Lock()
_installed = False
_sigterm_tried = False  # the SIGTERM hook was set, or found another handler there (see flush_on_sigterm)
_interrupted = False  # Ctrl-C while an exit waited for the queues: no more waiting
_gave_up_on = 0  # captures still queued when the last exit's wait ran out (see flush_all)
_inherited: list[Any] = []  # what a forked child must not use, nor free (see _in_forked_child)


def flush_at_exit(recorder: Flushable) -> None:
    """Make an uncaught exception and the interpreter's exit wait (boundedly) for this recorder's queue too."""
    global _installed
    with _lock:
        _live.add(recorder)
        if _installed:
            return
        previous = sys.excepthook

        def excepthook(kind: type[BaseException], error: BaseException, trace: Any) -> None:
            previous(kind, error, trace)  # the traceback first, as without a recorder
            flush_all()

        sys.excepthook = excepthook
        _at_shutdown(flush_all)
        _installed = True
    flush_on_sigterm()


def _at_shutdown(hook: Callable[[], None]) -> None:
    """Run `hook` when the main thread ends, before the interpreter refuses new work: `atexit` runs after threading
    has shut down, when a writer's first capture could not even import its store (concurrent.futures raised "can't
    register atexit after shutdown"), so `sys.exit()` right after a capture lost it. The threading hook is what
    concurrent.futures uses; `atexit` where it is missing. concurrent.futures registers its own hook when first
    imported (and refuses new work once that hook ran), so it is imported first (at the top of this module): hooks
    run last registered first."""
    register = getattr(threading, "_register_atexit", None)
    try:
        (register or atexit.register)(hook)
    except RuntimeError:  # the interpreter is already shutting down: nothing waits any more
        atexit.register(hook)


def flush_on_sigterm() -> None:
    """On SIGTERM (an orchestrator stopping the agent), store what is queued, then end by SIGTERM as before; only
    when nothing else handles it (the default action). It killed the process at once, and the captures it had just
    queued were lost without a word. Set once, from the main thread, where handlers are set: by the first capture
    there, or by a recorder made there (an agent whose failures are all in a thread pool's workers never had it)."""
    global _sigterm_tried
    if _sigterm_tried or threading.current_thread() is not threading.main_thread():
        return
    _sigterm_tried = True
    try:
        if signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
            return
        signal.signal(signal.SIGTERM, _terminated)
    except (ValueError, OSError, AttributeError):  # no SIGTERM here, or not settable
        return


def _terminated(signum: int, _frame: FrameType | None) -> None:
    flush_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def flush_all() -> None:
    """Wait for every live recorder's queue, all within the longest of their exit timeouts. After a crash this runs
    twice (the crash's hook, then the interpreter's shutdown): the second does not wait again for the captures the
    first gave up on (nothing queued since), where it waited a whole `exit_timeout` more and said so again."""
    global _interrupted, _gave_up_on
    recorders = list(_live)
    if not recorders or _interrupted:
        return
    if _gave_up_on and sum(r.pending() for r in recorders) <= _gave_up_on:
        return
    deadline = time.monotonic() + max(r.exit_timeout for r in recorders)
    try:
        for recorder in recorders:
            recorder.flush_before_exit(deadline)
        _gave_up_on = sum(r.pending() for r in recorders)
    except KeyboardInterrupt:  # Ctrl-C while the exit waits: stop waiting, say what is lost, end as asked
        # it was a traceback of the recorder's internals ("Exception ignored in: <module 'threading'>"), the
        # captures lost without a word
        _interrupted = True  # and the exit's hook after a crash's does not wait again
        lost = sum(r.pending() for r in recorders)
        logger.warning("postmortem: interrupted before exit: stopped waiting for %d capture(s), not stored", lost)


_capturing = threading.RLock()  # held by a writer while it captures; a fork waits for it (see _before_fork)
_held_at_fork = False
FORK_WAIT_S = 30.0


def capturing() -> threading.RLock:
    """Hold while a writer captures: building the service imports the store and loads the model."""
    return _capturing


def _before_fork() -> None:
    """A fork while a writer was importing the store gave the child those modules half made (in sys.modules, never
    finished): each of the child's captures failed with "cannot import name 'Settings' from partially initialized
    module". The fork waits (boundedly) for the capture in progress to end."""
    global _held_at_fork
    _held_at_fork = _capturing.acquire(timeout=FORK_WAIT_S)


def _after_fork_in_parent() -> None:
    global _held_at_fork
    if _held_at_fork:
        _held_at_fork = False
        _capturing.release()


def _in_forked_child() -> None:
    """A forked child (a pre-fork server's worker, a multiprocessing pool on Linux) inherits the parent's recorders
    but not their threads, and the parent's service (its database connections, its index client, the embedding
    model's thread pool) is not safe to use here: a capture used them and hung, and the child's failures were lost.
    The child starts afresh: its own locks, its own service when it first captures, each recorder's own queue."""
    global _lock, _service_lock, _capturing, _held_at_fork
    _lock, _service_lock, _capturing, _held_at_fork = threading.Lock(), threading.Lock(), threading.RLock(), False
    _inherited.append(dict(_services))  # kept, never freed: freeing the model's session here waits for ever
    _services.clear()
    for recorder in list(_live):
        _inherited.append(recorder.after_fork())


# Hooks before a fork run last registered first: concurrent.futures' hook takes the lock its executors' submit needs,
# so it is registered before this one (imported at the top), or the fork would hold it while waiting for a writer
# that searches through an executor.
os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_in_forked_child)


def local_service() -> "PostmortemService":
    """The process' service on the local store that the environment names (POSTMORTEM_HOME, _TEAM, _DATABASE_URL),
    built once and shared by every recorder that captures there."""
    from agent_postmortem.config import Settings
    from agent_postmortem.errors import PostmortemError
    from agent_postmortem.service.runtime import build_service

    try:
        settings = Settings.from_env()
    except ValueError as e:  # a setting the environment got wrong: its rule (never its value) is the one line to log
        raise PostmortemError(f"{e}; fix it in the agent's environment") from None
    key = (str(settings.home), settings.team, settings.database_url or "")
    with _service_lock:
        if key not in _services:
            _services[key] = build_service(settings)
        return _services[key]
