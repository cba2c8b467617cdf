"""The shape of a `tools/call` (and of a `prompts/get`) before the SDK validates it: what a client sent that a model
can fix becomes a tool error the model reads, not a protocol error (-32602 "Invalid request parameters", with nothing
to act on).

Clients pass a model's tool call through, so `arguments` arrives as the model wrote it: as the JSON text of the
object (read as that object), or as something else (refused, saying what is wanted). Nothing sent is echoed back.
"""

import json
from dataclasses import replace
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, METHOD_NOT_FOUND, CallToolResult, TextContent

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


class PromptArgumentsShape(ServerMiddleware[Any]):
    """A `prompts/get` whose arguments are what a model wrote: the JSON text of the object is read as that object, a
    number or boolean as its text (`{"incident_id": 42}`), null as the argument left out; any other shape is an
    invalid-params error saying what is wanted. The SDK answered each with -32602 "Invalid request parameters" and
    nothing to act on, as it did for tools."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params
        if ctx.method != "prompts/get" or not isinstance(params, dict) or params.get("arguments") is None:
            return await call_next(ctx)
        arguments = params["arguments"]
        if isinstance(arguments, str):
            arguments = _object(arguments)
        if not isinstance(arguments, dict):
            raise MCPError(INVALID_PARAMS, f"{PROMPT_SHAPE}; a {_kind(arguments)} was sent.")
        if any(isinstance(v, dict | list) for v in arguments.values()):
            raise MCPError(INVALID_PARAMS, f"{PROMPT_SHAPE}; an argument was sent as a list or an object.")
        text = {k: v if isinstance(v, str) else json.dumps(v) for k, v in arguments.items() if v is not None}
        return await call_next(replace(ctx, params={**params, "arguments": text}))


PROMPT_SHAPE = 'arguments must be one JSON object of text values, e.g. {"incident_id": "INC-42"} (prompts/list)'


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


class MethodNotFoundUnechoed(ServerMiddleware[Any]):
    """An unknown JSON-RPC method is -32601 "Method not found" without the method sent: the SDK put it in the error's
    data whole (a key a client sent there, or 300 KB of it, came back), as it did an unknown tool's name."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        try:
            return await call_next(ctx)
        except MCPError as e:
            if e.code != METHOD_NOT_FOUND:
                raise
            raise MCPError(METHOD_NOT_FOUND, "Method not found") from None


def middleware() -> list[ServerMiddleware[Any]]:
    """What the server runs every request through, outermost first."""
    return [MethodNotFoundUnechoed(), ToolCallShape(), PromptArgumentsShape(), ResourceErrorsRedacted()]


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
