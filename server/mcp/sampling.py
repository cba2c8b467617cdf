"""MCP sampling on both protocol eras: sending a request to the client's model (carried by the framework on
2026-07-28, sent mid-call on the handshake era, where a refusal or a timeout becomes `Refused`), whether a request can
reach the client at all, and the text of its answer."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context, Sample
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp.types import REQUEST_TIMEOUT, CreateMessageRequest, CreateMessageResult, SamplingMessage, TextContent
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

logger = logging.getLogger(__name__)
REASON_CHARS = 120  # of a client's own words for refusing a sampling request


@dataclass(frozen=True)
class Refused:
    """The client answered a sampling request with an error (its user declined, or it could not sample)."""

    reason: str

    def why(self, round_: str) -> str:
        return f"your client did not answer the {round_} sampling request ({self.reason})"


Answer = CreateMessageResult | Refused | None  # a resolver's outcome: the client's answer, its refusal, or not asked


class Deadlines:
    """When each draft began asking the client's model, so that its sampling requests, the first and the repair round
    together, stay within `limit` seconds on both eras. On 2026-07-28 every round is a new request (the client samples
    between two calls), so the start is kept here, per call key (the incident), and set again by each new call."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._started: dict[str, float] = {}

    def start(self, call: str) -> None:
        now = time.monotonic()
        self._started = {k: t for k, t in self._started.items() if now - t < 2 * self.limit}  # abandoned calls
        self._started[call] = now

    def left(self, call: str) -> float:
        now = time.monotonic()
        return self._started.get(call, now) + self.limit - now

    def late(self) -> Refused:
        logger.info("the client's model did not answer a sampling request within %g s", self.limit)
        return Refused(
            f"no answer within {self.limit:g} s, the limit POSTMORTEM_LLM_TIMEOUT sets for the first and repair "
            "rounds together: raise it, or configure a model on the server"
        )


def wire_key(resolver: Callable[..., Any]) -> str:
    """The key the framework gives a resolver's request on 2026-07-28 (`module:qualname`, mcp's resolve.py)."""
    return f"{resolver.__module__}:{resolver.__qualname__}"


async def ask(
    sample: Sample | None, ctx: Context, *, left: float, deadlines: Deadlines, key: str
) -> Sample | CreateMessageResult | Refused | None:
    """Send `sample` to the client, with `left` seconds for its model to answer. On 2026-07-28 the framework carries
    it (the client answers and retries the call; a client that refuses fails its own call, which the server never
    sees): an answer that comes back (under the resolver's wire `key`) after the time is up is refused, and no repair
    round is asked for past it. On the handshake era the request goes out mid-call here and is cancelled when the
    time is up, and a refusal (Claude Desktop's "decline", a client error) becomes `Refused`: the tool then answers
    with what to do instead of a protocol error. A slow client model held the call, and its worker, for as long as
    it took, on both eras and for each round."""
    if sample is None:
        return None
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        answered_now = key in (ctx.input_responses or {})
        return deadlines.late() if answered_now and left <= 0 else sample
    if left <= 0:
        return deadlines.late()
    try:
        answer: CreateMessageResult = await ctx.session.send_request(
            CreateMessageRequest(params=sample.params),
            CreateMessageResult,
            request_read_timeout_seconds=left,
            metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
        )
    except MCPError as e:
        if e.error.code == REQUEST_TIMEOUT:
            return deadlines.late()
        logger.info("the client refused a sampling request: %s", e.error.code)
        return Refused(" ".join(str(e.error.message).split())[:REASON_CHARS] or f"error {e.error.code}")
    return answer


def no_channel_back(ctx: Context) -> bool:
    """A client on the 2025 protocol over stateless HTTP: the server cannot send it a request (sampling)."""
    return ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS and not ctx.session.can_send_request


def text_of(result: CreateMessageResult) -> str:
    content = result.content
    blocks = content if isinstance(content, list) else [content]
    return "".join(b.text for b in blocks if isinstance(b, TextContent))


def not_text(result: CreateMessageResult) -> str:
    """The kinds of the answer's blocks that are not text ("image", "audio and image"), or "" when all are text."""
    content = result.content
    blocks = content if isinstance(content, list) else [content]
    kinds = sorted({str(getattr(b, "type", "unknown"))[:20] for b in blocks if not isinstance(b, TextContent)})
    return " and ".join(kinds)


def user_message(text: str) -> SamplingMessage:
    return SamplingMessage(role="user", content=TextContent(type="text", text=text))
