"""The shape of a `tools/call` before the SDK validates it: what a client sent that a model can fix becomes a tool
error the model reads, not a protocol error (-32602 "Invalid request parameters", with nothing to act on).

Clients pass a model's tool call through, so `arguments` arrives as the model wrote it: as the JSON text of the
object (read as that object), or as something else (refused, saying what is wanted). Nothing sent is echoed back.
"""

import json
from dataclasses import replace
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent

SHAPE = (
    'arguments must be one JSON object of the tool\'s arguments, e.g. {"incident_id": "INC-42"} '
    "(tools/list gives each tool's)"
)


class ToolCallShape(ServerMiddleware[Any]):
    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params
        if ctx.method != "tools/call" or ctx.request_id is None or not isinstance(params, dict):
            return await call_next(ctx)
        if not isinstance(params.get("name"), str):
            return refused("name must be the name of a tool as text; tools/list gives them.")
        arguments = params.get("arguments")
        if isinstance(arguments, str):
            arguments = _object(arguments)
            if arguments is None:
                return refused(f"{SHAPE}; JSON text was sent that is not one object.")
            return await call_next(replace(ctx, params={**params, "arguments": arguments}))
        if arguments is not None and not isinstance(arguments, dict):
            return refused(f"{SHAPE}; a {_kind(arguments)} was sent.")
        return await call_next(ctx)


class ResourceErrorsRedacted(ServerMiddleware[Any]):
    """A failed `resources/read` keeps the URI in its error's data, as the specification has it (SEP-2164), but
    redacted and cut to URI_CHARS: the SDK sent it back as sent (`incident://<a key a model put there>`, whole)."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "resources/read":
            return await call_next(ctx)
        try:
            return await call_next(ctx)
        except MCPError as e:
            if not isinstance(e.data, dict) or not isinstance(e.data.get("uri"), str):
                raise
            from agent_postmortem.store.redact import redact

            raise MCPError(e.code, e.message, {**e.data, "uri": redact(e.data["uri"])[:URI_CHARS]}) from None


URI_CHARS = 200


def refused(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _kind(value: object) -> str:
    return {list: "list", bool: "boolean", int: "number", float: "number", str: "text"}.get(type(value), "value")
