"""MCP sampling on both protocol eras: sending a request to the client's model (carried by the framework on
2026-07-28, sent mid-call on the handshake era, where a refusal or a timeout becomes `Refused`), whether a request can
reach the client at all, and the text of its answer."""

import logging
from dataclasses import dataclass

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


async def ask(sample: Sample | None, ctx: Context, *, timeout: float) -> Sample | CreateMessageResult | Refused | None:
    """Send `sample` to the client. On 2026-07-28 the framework carries it (the client answers and retries the call;
    a client that refuses fails its own call, which the server never sees). On the handshake era the request goes
    out mid-call here, so that a refusal (Claude Desktop's "decline", a client error) becomes `Refused`: the tool
    then answers with what to do instead of a protocol error. So does no answer within `timeout` seconds (the
    request is cancelled): a slow client model held the call, and its worker, for as long as it took."""
    if sample is None or ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return sample
    try:
        answer: CreateMessageResult = await ctx.session.send_request(
            CreateMessageRequest(params=sample.params),
            CreateMessageResult,
            request_read_timeout_seconds=timeout,
            metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
        )
    except MCPError as e:
        if e.error.code == REQUEST_TIMEOUT:
            logger.info("the client's model did not answer a sampling request within %g s", timeout)
            return Refused(f"no answer within {timeout:g} s, the limit POSTMORTEM_LLM_TIMEOUT sets")
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
