"""Captures sent to a team server: the server's `capture_incident` tool over MCP streamable HTTP, with its bearer
token. Each capture carries an idempotency key chosen once, so a retry after a lost answer never stores it twice.

Used by the SDK's Recorder from its background thread (`Recorder(url=..., token=...)`); it blocks and raises, and
the Recorder keeps the agent away from both."""

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from agent_postmortem.config import shown_url as shown
from agent_postmortem.sdk.again import RETRY_DELAYS, keyed
from agent_postmortem.sdk.not_stored import CaptureNotStored
from agent_postmortem.sdk.outage import Outage
from agent_postmortem.sdk.recorder import WORKER_NAME
from agent_postmortem.service.results import CaptureResult
from agent_postmortem.storage_failure import passes
from agent_postmortem.store.models import IncidentCreate

logger = logging.getLogger(__name__)
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")  # what a bearer token can be in an HTTP header: visible ASCII
CLIENT_LOGGERS = ("mcp.client.streamable_http", "mcp.client.session", "mcp.client.client")


class _QuietInRecorder(logging.Filter):
    """The MCP client's own logs in the recorder's thread are dropped: for a server answering junk they were a
    traceback per attempt, quoting the answer, where the recorder says in one line what happened to the capture."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != WORKER_NAME


for _name in CLIENT_LOGGERS:
    logging.getLogger(_name).addFilter(_QuietInRecorder())


class RemoteCaptureError(CaptureNotStored):
    """The team server refused a capture for a reason a retry cannot fix (token, or the capture itself)."""


class StoreDown(Exception):
    """The team server answered but could not store the capture for a reason that passes (its database down or
    restarting): sent again with the same key, as after a refused connection."""


class TokenRefused(RemoteCaptureError):
    """The server refused the token, or asked for one none was given: every capture fails the same way until the
    setting is changed, so it is said once per process."""

    said_once = True


class UrlRefused(RemoteCaptureError):
    """The URL is not the server's MCP endpoint, or names a host it does not serve: as with a refused token, every
    capture fails the same way until POSTMORTEM_URL is changed (it was one line per capture), so said once."""

    said_once = True


class RemoteService:
    """The one method of PostmortemService the Recorder needs, on a team server."""

    over_the_network = True  # its sends wait (retries, timeouts) outside the process' capture lock (Recorder._capture)

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
        outage: Outage | None = None,
    ) -> None:
        self.url = url
        self.outage = outage or Outage()
        # a token read from a file keeps its line break: the header could not be sent, and the HTTP client's error,
        # quoting the header, was retried and logged with the token in it
        self._token = token.strip() if token else None
        self.timeout = timeout
        self.retry_delays = retry_delays
        self.sleep = sleep

    def __repr__(self) -> str:  # never show the token
        return f"RemoteService({shown(self.url)!r})"

    def capture_incident(self, data: IncidentCreate) -> CaptureResult:
        """Send one capture, retrying transient failures with the same idempotency key."""
        data = keyed(data)
        arguments = data.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        arguments.pop("occurred_at", None)  # not a tool argument: the server stamps the time
        arguments.pop("source_id", None)
        if self._token is not None and not _HEADER_SAFE.fullmatch(self._token):
            raise TokenRefused(
                "the token (token= or POSTMORTEM_TOKEN) holds a space, a line break or a character that is not ASCII, "
                "which no HTTP header can carry: copy the token again"
            )
        # a server already known down (a capture before this one gave up on it): tried once, not retried; each
        # queued capture waited its own 7.5 s of retries, and a crash's exit its whole timeout for nothing
        delays = [] if self.outage.down else list(self.retry_delays)
        for attempt, delay in enumerate([*delays, None]):
            try:
                result = anyio.run(self._call, arguments)
                self.outage.recovered()
                return result
            except RemoteCaptureError:
                self.outage.recovered()  # it answered, refusing
                raise
            except Exception as e:  # connection refused, timeouts, 5xx: the same key makes the retry safe
                self.outage.failed()
                if delay is None and isinstance(e, StoreDown):
                    said = f"{shown(self.url)} could not store it after {attempt + 1} attempts: {e}"
                    raise RemoteCaptureError(said) from None
                if delay is None:
                    raise RemoteCaptureError(
                        f"{shown(self.url)} unreachable after {attempt + 1} attempts ({_reason(e)})"
                    ) from e
                logger.info("postmortem: %s failed (%s); retrying in %.1f s", shown(self.url), _reason(e), delay)
                self.sleep(delay)
        raise AssertionError("unreachable")

    async def _call(self, arguments: dict[str, Any]) -> CaptureResult:
        statuses: list[int] = []

        async def record(response: httpx2.Response) -> None:
            statuses.append(response.status_code)

        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        # what the SDK's own client factory builds (no redirects followed; the transport follows them within the
        # endpoint's origin), with a hook that records the status codes
        http = httpx2.AsyncClient(
            headers=headers, timeout=httpx2.Timeout(self.timeout), event_hooks={"response": [record]}
        )
        try:
            async with http, Client(streamable_http_client(self.url, http_client=http)) as client:
                result = await client.call_tool("capture_incident", arguments)
        except Exception:
            if (401 in statuses or 403 in statuses) and self._token is None:
                raise TokenRefused(
                    f"{shown(self.url)} asks for a token (HTTP {statuses[-1]}) and none was given; set "
                    "POSTMORTEM_TOKEN (or token=) to the server's POSTMORTEM_HTTP_TOKEN or, on a server of teams, to a "
                    "token of your team (`postmortem token add --team NAME` by its operator)"
                ) from None
            if 401 in statuses or 403 in statuses:
                raise TokenRefused(
                    f"{shown(self.url)} refused the token (HTTP {statuses[-1]}): it is wrong or was revoked; set "
                    "POSTMORTEM_TOKEN to the server's POSTMORTEM_HTTP_TOKEN or, on a server of teams, to a token of "
                    "your team (`postmortem token add --team NAME` by its operator)"
                ) from None
            refused = _refused(statuses[0]) if statuses else None
            if refused is not None:
                raise UrlRefused(f"{shown(self.url)} {refused}") from None
            raise
        if result.is_error:
            text = getattr(result.content[0], "text", "") if result.content else ""
            if passes(text):  # "The incident store is unreachable ... try again later": not the capture's fault
                raise StoreDown(text[:500])
            raise RemoteCaptureError(f"{shown(self.url)} rejected the capture: {text[:500]}")
        return CaptureResult.model_validate(result.structured_content)


def _refused(status: int) -> str | None:
    """What a first answer that no retry changes says: the Host name is not one the server serves (421), or the URL is
    not its MCP endpoint (the web view's `/` answers 405, `/v1/traces` 400, another path 404). They were retried for
    7.5 s and then called "unreachable ... Server returned an error response"."""
    if status == 421:
        return (
            "refused the host name (HTTP 421): the server answers only to the names in its POSTMORTEM_ALLOWED_HOSTS; "
            "use one of them in POSTMORTEM_URL"
        )
    if status in (400, 404, 405):
        return (
            f"answered HTTP {status}, which its MCP endpoint does not: POSTMORTEM_URL is the server's MCP endpoint, "
            "such as http://pm.internal:8000/mcp"
        )
    return None


def _reason(error: BaseException) -> str:
    """The innermost cause of an (often grouped) transport error, as a short phrase."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    first_line = str(error).strip().partition("\n")[0]  # a validation error goes on to quote what it read
    return f"{type(error).__name__}: {first_line}"[:200]
