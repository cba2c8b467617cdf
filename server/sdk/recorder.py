"""Capture failures where they happen: a small SDK for agent code.

    from agent_postmortem import Recorder

    recorder = Recorder(agent="trip-planner")  # POSTMORTEM_HOME's store, or POSTMORTEM_URL's server when set
    recorder = Recorder(agent="trip-planner", url="http://pm.internal:8000/mcp", token=token)

    @recorder.watch(tool="flights.search")
    def search_flights(query: str) -> list[dict]: ...

    with recorder.watching(tool="payments.refund", model="gpt-4.1-mini", prompt=user_message):
        refund(order)

    recorder.capture(error, tool="crm.update", tool_args=json.dumps(args), user_facing=True)

Every failure goes through the same capture path as the MCP tool and the CLI (redaction, classification,
severity, triage; repeats of the same failure become occurrences of one incident). The agent is never slowed
down for long and never sees an error of the recorder: captures go through a bounded queue to a background
thread, a full queue drops (and counts) instead of blocking, and the agent's own exception is re-raised as it was.
Sent to a team server, each capture carries an idempotency key, so the retries after a lost answer store it once.

A crash is not lost, though the writer is a daemon thread: an uncaught exception waits (up to `exit_timeout` s) for
the queue before the interpreter shuts down (in `sys.excepthook`, after the traceback), as does a normal exit (atexit,
the fallback: by then the interpreter refuses some work). A watched exception also waits briefly (`wait_on_error`)
for its own capture on its way out, for processes that end without either (`os._exit`, as multiprocessing's do).
"""

import logging
import os
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import ValidationError

from agent_postmortem.sdk import process
from agent_postmortem.sdk.again import keyed, while_away
from agent_postmortem.sdk.decorate import watch_callable
from agent_postmortem.sdk.incident import NotAFailure, incident_of
from agent_postmortem.sdk.not_stored import accepted_names, log_not_stored
from agent_postmortem.sdk.outage import Outage
from agent_postmortem.sdk.process import flush_at_exit, local_service
from agent_postmortem.sdk.watch import Watching, already_recorded, mark_recorded
from agent_postmortem.store.models import IncidentCreate

if TYPE_CHECKING:
    from agent_postmortem.service.results import CaptureResult


WORKER_NAME = "postmortem-recorder"  # the recorder's background thread


class Service(Protocol):
    """What the recorder needs of a service: the local PostmortemService or a team server's RemoteService."""

    def capture_incident(self, data: IncidentCreate) -> "CaptureResult": ...


logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
QUEUE_SIZE = 1_000
WAIT_ON_ERROR = 1.0  # seconds a watched exception waits for its capture: the process may end right after it
EXIT_TIMEOUT = 15.0  # seconds a crash or an exit waits for queued captures (a first local capture loads the store)
IDLE_SECONDS = 60.0  # a worker with nothing to do for this long ends; the next capture starts another


class Recorder:
    def __init__(
        self,
        *,
        agent: str | None = None,
        model: str | None = None,
        service: Callable[[], "Service"] | None = None,
        url: str | None = None,
        token: str | None = None,
        queue_size: int = QUEUE_SIZE,
        wait_on_error: float = WAIT_ON_ERROR,
        exit_timeout: float = EXIT_TIMEOUT,
    ) -> None:
        """`service` (tests, embedding) wins over `url`; `url` and `token` default to POSTMORTEM_URL and
        POSTMORTEM_TOKEN; with neither, captures go to the local store in POSTMORTEM_HOME. `wait_on_error` (0: do
        not wait) bounds how long a watched exception waits for its capture, `exit_timeout` how long the
        interpreter's exit waits for the queue."""
        self.agent, self.model = agent, model
        # a setting blank or padded (`POSTMORTEM_URL=" "`, a token pasted with its newline) reads as the CLI reads it
        url = (url or os.environ.get("POSTMORTEM_URL") or "").strip() or None
        token = (token or os.environ.get("POSTMORTEM_TOKEN") or "").strip() or None
        if service is None and url is not None:
            _check_url(url)
        self.url = url if service is None else None
        self._outage = Outage()
        self._make_service = service or (_remote_service(url, token, self._outage) if url else local_service)
        self._queue: queue.Queue[IncidentCreate] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._wait_on_error = wait_on_error
        self.exit_timeout = exit_timeout
        self._progress = threading.Condition()
        self._queued = self._done = 0  # captures put on the queue so far; those the worker finished (stored or failed)
        self._hooked = False
        self._service: Service | None = None
        self.dropped = self.failed = 0
        self.captured_ids: list[str] = []
        self._mark = uuid.uuid4().hex  # unique across processes: a marked exception may be pickled to another
        process.flush_on_sigterm()  # here, in the main thread, for an agent that fails only in worker threads

    @property
    def wait_on_error(self) -> float:
        """How long a watched exception waits for its capture: not at all while the team server is known to be down."""
        return 0.0 if self._outage.down else self._wait_on_error

    @wait_on_error.setter
    def wait_on_error(self, seconds: float) -> None:
        self._wait_on_error = seconds

    # --- capturing ----------------------------------------------------------------------------

    def capture(self, error: BaseException | str | None = None, **context: Any) -> None:
        """Record a failure (an exception or a description) with its context; returns at once, never raises.
        Without one, inside an `except` block, the exception being handled (`capture()` raised TypeError in the
        agent's own code). Context: title, description, agent, tool, tool_args, model, prompt, user_facing,
        customer_reported, impact, session, category, severity."""
        try:
            self._enqueue(sys.exc_info()[1] if error is None else error, context)
        except RecursionError:  # no stack left to read the failure with (deep in a runaway recursion): dropped
            self.failed += 1

    def _enqueue(self, error: BaseException | str | None, context: dict[str, Any], entry: int | None = None) -> int:
        """Queue a capture; its number (to wait for), or 0 when it was dropped or is a raise already queued (by a
        watch inside the watch `entry`, or by hand before it was re-raised: one failure, one capture). The same
        exception object raised again later is another failure (an occurrence each time a breaker re-raises it)."""
        if isinstance(error, BaseException) and already_recorded(error, self._mark, entry):
            return 0
        try:
            data = incident_of(error, context, agent=self.agent, model=self.model)
        except ValidationError as e:  # a context value no fitting can save (a category not in the list)
            fields = ", ".join(sorted({".".join(map(str, err["loc"])) or "capture" for err in e.errors()}))
            logger.warning("postmortem: capture dropped, invalid context field(s): %s%s", fields, accepted_names(e))
            self.failed += 1
            return 0
        except RecursionError:  # no stack left here: the caller decides (a watch further out has room to record it)
            raise
        except NotAFailure as e:  # what was given is no failure: said as it is, dropped
            logger.warning("postmortem: capture dropped: %s", e)
            self.failed += 1
            return 0
        except Exception as e:  # the agent must never see the recorder fail, whatever its objects do
            logger.warning("postmortem: capture dropped, its context could not be read (%s)", type(e).__name__)
            self.failed += 1
            return 0
        with self._progress:
            try:
                self._queue.put_nowait(data)
            except queue.Full:
                self.dropped += 1
                return 0
            self._queued += 1
            number = self._queued
        if isinstance(error, BaseException):
            mark_recorded(error, self._mark)
        self._start()
        return number

    def watch(self, fn: F | str | None = None, **context: Any) -> Any:
        """Decorator (sync or async, generators too: an exception while iterating counts): records an exception
        raised by the function, then re-raises it unchanged; a failing coroutine never blocks its event loop. Above a
        class, its public methods are watched and it stays a class. A string first is the tool
        (`@recorder.watch("flights.search")`), unless `tool=` names one."""
        if isinstance(fn, str):  # it was taken for the function: decorating called it, and that TypeError was stored
            context = {"tool": fn, **context}
            fn = None

        def wrap(func: F) -> F:
            return watch_callable(self, func, context)

        return wrap(fn) if fn is not None else wrap

    def watching(self, **context: Any) -> Watching:
        """Context manager, `with` or `async with`: records an exception raised inside, then re-raises it
        unchanged (`async with` waits for the capture without blocking the event loop)."""
        return Watching(self, context)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued capture is stored (for tests and short-lived scripts); False on timeout."""
        with self._progress:
            queued = self._queued
        return self._wait_for(queued, timeout)

    def _wait_for(self, number: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._progress:
            while self._done < number:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._progress.wait(left)
        return True

    def pending(self) -> int:
        """Captures queued and not yet stored (nor failed)."""
        return self._queued - self._done

    def flush_before_exit(self, deadline: float) -> None:
        """At a crash or the interpreter's exit: wait for the queue up to `exit_timeout`, or the shared deadline of
        every recorder of the process (server/sdk/process.py), whichever comes first."""
        timeout = max(0.0, min(self.exit_timeout, deadline - time.monotonic()))
        if not self.flush(timeout):
            logger.warning(
                "postmortem: %d capture(s) not stored before exit (waited %.0f s)", self._queued - self._done, timeout
            )

    def after_fork(self) -> object:
        """In a forked child: the parent's writer thread is not here, its locks may have been held at the fork, its
        service must not be used, and its queue is the parent's to store. Start empty; the next capture starts a
        writer with this process' own service. Returns what was the parent's, for the caller to keep unfreed."""
        inherited = (self._service, self._queue, self._lock, self._progress, self._worker)
        self._queue = queue.Queue(maxsize=self._queue.maxsize)
        self._lock, self._progress = threading.Lock(), threading.Condition()
        self._worker, self._service = None, None
        self._queued = self._done = 0
        self.captured_ids = []
        return inherited

    # --- internals ----------------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if not self._hooked:
                flush_at_exit(self)
                self._hooked = True
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._drain, name=WORKER_NAME, daemon=True)
                self._worker.start()

    def _next(self) -> IncidentCreate | None:
        """The next capture, or None once the queue has stayed empty for IDLE_SECONDS: the worker then ends (a
        recorder per request must not leave a thread per request), and the next capture starts another."""
        while True:
            try:
                return self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:  # `_start` runs under this lock after each put: no capture is left without a worker
                    if self._queue.empty():
                        self._worker = None
                        return None

    def _drain(self) -> None:
        while (data := self._next()) is not None:
            try:
                self.captured_ids.append(self._capture(data).id)
            except Exception as e:  # the agent must never see the recorder fail; say why on stderr
                self.failed += 1
                log_not_stored(e)
            finally:
                self._queue.task_done()
                with self._progress:
                    self._done += 1
                    self._progress.notify_all()

    def _capture(self, data: IncidentCreate) -> "CaptureResult":
        """Store one capture; the process' capture lock covers building the service and a local store's write, not a
        team server's send (held through its retries, a dead server held up every recorder of the process)."""

        def here() -> "tuple[Service, CaptureResult | None]":  # None: a team server's, sent to outside the lock
            with process.capturing():
                service = self._service = self._service or self._make_service()
                return service, None if getattr(service, "over_the_network", False) else service.capture_incident(data)

        data = keyed(data)  # one key for every try: a local PostgreSQL restarting is tried again, the lock let go
        service, stored = while_away(here, self._outage)
        return stored if stored is not None else service.capture_incident(data)


def _check_url(url: str) -> None:
    """Refuse at once a server URL the HTTP client could never send to (`pm.internal:8000/mcp` without its scheme
    was retried for seconds before it said so); the value is not repeated (it may carry credentials)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "the postmortem server URL (url= or POSTMORTEM_URL) must start with http:// or https:// and name a "
            "host, e.g. http://pm.internal:8000/mcp"
        )


def _remote_service(url: str, token: str | None, outage: Outage) -> Callable[[], "Service"]:
    def make() -> "Service":
        import anyio

        from agent_postmortem.sdk.remote import RemoteService

        anyio.run(anyio.lowlevel.checkpoint)  # what a first send imports, imported under the lock (see `_capture`)
        return RemoteService(url, token=token, outage=outage)

    return make
