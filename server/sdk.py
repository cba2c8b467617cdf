"""Capture failures where they happen: a small SDK for agent code.

    from server.sdk import Recorder

    recorder = Recorder(agent="trip-planner")          # the local store in POSTMORTEM_HOME, or the team server
                                                        # at POSTMORTEM_URL (with POSTMORTEM_TOKEN) when set
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
"""

import asyncio
import functools
import logging
import os
import queue
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import ValidationError

from store.models import IncidentCreate

if TYPE_CHECKING:
    from server.results import CaptureResult
    from server.service import PostmortemService


class CaptureNotStored(RuntimeError):
    """A capture the service refused or could not store, for a reason it has put in words (logged as one line)."""


class Service(Protocol):
    """What the recorder needs of a service: the local PostmortemService or a team server's RemoteService."""

    def capture_incident(self, data: IncidentCreate) -> "CaptureResult": ...


logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
QUEUE_SIZE = 1_000
TRACE_CHARS = 8_000


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
    ) -> None:
        """`service` (tests, embedding) wins over `url`; `url` and `token` default to POSTMORTEM_URL and
        POSTMORTEM_TOKEN; with neither, captures go to the local store in POSTMORTEM_HOME."""
        self.agent = agent
        self.model = model
        url = url or os.environ.get("POSTMORTEM_URL") or None
        token = token or os.environ.get("POSTMORTEM_TOKEN") or None
        self.url = url if service is None else None
        self._make_service = service or (_remote_service(url, token) if url else _local_service)
        self._queue: queue.Queue[IncidentCreate] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.dropped = 0
        self.failed = 0
        self.captured_ids: list[str] = []

    # --- capturing ----------------------------------------------------------------------------

    def capture(self, error: BaseException | str, **context: Any) -> None:
        """Record a failure (an exception or a description) with its context; returns at once, never raises.
        Context: title, description, agent, tool, tool_args, model, prompt, user_facing, customer_reported,
        impact, session, category, severity."""
        try:
            data = self._incident(error, context)
        except (ValidationError, TypeError, ValueError) as e:
            logger.warning("postmortem: capture dropped, invalid context (%s)", type(e).__name__)
            self.failed += 1
            return
        try:
            self._queue.put_nowait(data)
        except queue.Full:
            self.dropped += 1
            return
        self._start()

    def watch(self, fn: F | None = None, **context: Any) -> Any:
        """Decorator (sync or async): records an exception raised by the function, then re-raises it unchanged."""

        def wrap(func: F) -> F:
            if asyncio.iscoroutinefunction(func):

                @functools.wraps(func)
                async def run_async(*args: Any, **kwargs: Any) -> Any:
                    with self.watching(**context):
                        return await func(*args, **kwargs)

                return run_async  # type: ignore[return-value]

            @functools.wraps(func)
            def run(*args: Any, **kwargs: Any) -> Any:
                with self.watching(**context):
                    return func(*args, **kwargs)

            return run  # type: ignore[return-value]

        return wrap(fn) if fn is not None else wrap

    @contextmanager
    def watching(self, **context: Any) -> Iterator[None]:
        """Context manager: records an exception raised inside, then re-raises it unchanged."""
        try:
            yield
        except Exception as error:
            self.capture(error, **context)
            raise

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued capture is stored (for tests and short-lived scripts); False on timeout."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    # --- internals ----------------------------------------------------------------------------

    def _incident(self, error: BaseException | str, context: dict[str, Any]) -> IncidentCreate:
        ctx = dict(context)
        session = ctx.pop("session", None)
        prompt = ctx.pop("prompt", None)
        fields: dict[str, Any] = {"agent": self.agent, "model": self.model, **ctx}
        if prompt is not None:
            fields["prompt_excerpt"] = str(prompt)[:2_000]
        if isinstance(error, BaseException):
            message = str(error) or type(error).__name__
            fields.setdefault(
                "title", f"{type(error).__name__} in {fields.get('tool') or fields.get('agent') or 'agent'}"
            )
            fields.setdefault("error_type", type(error).__name__)
            fields.setdefault("error_message", message[:2_000])
            trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            fields.setdefault("stack_trace", trace[-TRACE_CHARS:])
        else:
            fields.setdefault("title", str(error)[:200])
        if session is not None:
            fields["description"] = (f"session {session}. " + str(fields.get("description", "")))[:20_000]
        fields["title"] = str(fields["title"])[:200]
        return IncidentCreate.model_validate(fields)

    def _start(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._drain, name="postmortem-recorder", daemon=True)
                self._worker.start()

    def _drain(self) -> None:
        service = None
        while True:
            data = self._queue.get()
            try:
                service = service or self._make_service()
                self.captured_ids.append(service.capture_incident(data).id)
            except CaptureNotStored as e:
                self.failed += 1
                logger.warning("postmortem: a capture was not stored: %s", e)
            except Exception:  # the agent must never see the recorder fail; say why on stderr
                self.failed += 1
                logger.exception("postmortem: a capture could not be stored")
            finally:
                self._queue.task_done()


def _remote_service(url: str, token: str | None) -> Callable[[], "Service"]:
    def make() -> "Service":
        from server.remote import RemoteService

        return RemoteService(url, token=token)

    return make


def _local_service() -> "PostmortemService":
    from server.config import Settings
    from server.runtime import build_service

    return build_service(Settings.from_env())
