"""`postmortem serve` over stdio: the SDK's stdio transport, with every line it cannot decode answered.

The SDK's transport hands a line that is not JSON (or nested past its parser's limit, or not a JSON-RPC message)
to the server as an exception, which only logs it at debug level: the client gets no reply at all and waits.
JSON-RPC 2.0 says such a line gets an error response with `"id": null`: -32700 (parse error) for text that is
not JSON, -32600 (invalid request) for JSON that is not a JSON-RPC message. A thin reader between the transport
and the server sends that answer on the transport's own write stream (so frames never interleave) and passes
everything else through; the SDK's handling of stdin and stdout (fd claims, encoding) is untouched."""

import logging
import re
import signal
import threading
import typing
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol, Self

import anyio
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ClientRequest,
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError

from agent_postmortem.ingest.json_input import JsonInputError, loads

logger = logging.getLogger(__name__)
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


BOM = "\ufeff"


def _refused_text(problem: Exception) -> str | None:
    """The line the SDK's strict parser refused as not JSON, as text; None for any other problem."""
    if not isinstance(problem, ValidationError):
        return None
    errors = problem.errors()
    raw = errors[0].get("input") if errors and errors[0]["type"] == "json_invalid" else None
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return raw if isinstance(raw, str) else None


def blank(problem: Exception) -> bool:
    """A line with nothing on it (an empty line between messages, a lone CR): no message, so nothing to answer; it
    was answered with a parse error for `"id": null`, which some clients take for a broken server."""
    text = _refused_text(problem)
    return text is not None and not text.strip(BOM + " \t\r\n")


def recovered(problem: Exception) -> SessionMessage | None:
    """A line the SDK's strict parser refused only for a lone surrogate escape (`"\\ud800"`, which JavaScript
    clients can send: the JSON grammar allows it, Unicode does not), or for the UTF-8 byte-order mark a client's
    writer put before its first message (.NET's UTF8Encoding and PowerShell do; the initialize was refused as "not
    JSON" and the client never connected): the message, each lone surrogate replaced by U+FFFD, so the request is
    answered instead of left waiting. None for anything else."""
    raw = _refused_text(problem)
    if raw is None:
        return None
    try:
        parsed = loads(raw.removeprefix(BOM))
        return SessionMessage(jsonrpc_message_adapter.validate_python(_scrub(parsed), by_name=False))
    except (JsonInputError, ValidationError):
        return None


def _scrub(value: object) -> object:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    return value


def error_for(problem: Exception) -> ErrorData:
    """The JSON-RPC error for a line the transport could not decode (never quoting the line)."""
    errors = problem.errors(include_input=False) if isinstance(problem, ValidationError) else []
    if errors and all(e["type"] != "json_invalid" for e in errors):
        return ErrorData(code=INVALID_REQUEST, message="Invalid Request: the line is not a JSON-RPC 2.0 message")
    if any("recursion limit" in e["msg"] for e in errors):
        return ErrorData(code=PARSE_ERROR, message="Parse error: the JSON is nested too deeply")
    return ErrorData(code=PARSE_ERROR, message="Parse error: the line is not JSON")


REQUESTS = frozenset(  # the methods a client asks the server with: "tools/list", "ping", ...
    method
    for kind in typing.get_args(ClientRequest)
    for method in typing.get_args(kind.model_fields["method"].annotation)
)
NO_ID = ErrorData(
    code=INVALID_REQUEST,
    message="Invalid Request: a request's id is a string or an integer (MCP allows no null id), never a fraction, a "
    "boolean or an object",
)


def without_id(message: object) -> bool:
    """A client's request that the SDK read as a notification, its id null (or 1.5, true, {}, or left out): the SDK
    dropped it without an answer and the client waited for one forever."""
    return isinstance(message, JSONRPCNotification) and message.method in REQUESTS


class Incoming(Protocol):
    """What the stdio transport reads: messages, or what it could not decode."""

    async def receive(self) -> SessionMessage | Exception: ...
    async def aclose(self) -> None: ...


class Outgoing(Protocol):
    async def send(self, item: SessionMessage, /) -> None: ...


HANDSHAKE = ("initialize", "ping")


ANSWER_AFTER_EOF = 600.0  # seconds the requests still running at end of input get to answer (a draft's limit)


class Answers:
    """The server's write stream, noting which requests have been answered: a client that sends its requests and
    closes stdin (`printf ... | postmortem serve`, the shutdown the MCP spec describes) got no answer to them, though
    a capture among them was stored, since the SDK ends the session at end of input. `asking`: the server's own
    requests to the client (sampling) not answered yet, which after the end of input never will be."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.pending: set[Any] = set()
        self.asking: set[Any] = set()

    async def send(self, item: SessionMessage, /) -> None:
        if isinstance(item.message, JSONRPCRequest):
            self.asking.add(item.message.id)
        await self._inner.send(item)
        if isinstance(item.message, JSONRPCResponse | JSONRPCError):
            self.pending.discard(item.message.id)

    def read(self, message: Any) -> None:
        """Note a message the client sent."""
        if isinstance(message, JSONRPCRequest):
            self.pending.add(message.id)
        elif isinstance(message, JSONRPCResponse | JSONRPCError):
            self.asking.discard(message.id)
        elif isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
            self.pending.discard((message.params or {}).get("requestId"))

    async def settled(self) -> None:
        """Once every request read is answered, or one waits on the client, which has stopped sending."""
        with anyio.move_on_after(ANSWER_AFTER_EOF):
            while self.pending and not self.asking:
                await anyio.sleep(0.05)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        result: bool | None = await self._inner.__aexit__(exc_type, exc, tb)
        return result


class AnsweringReader:
    """The server's read stream: messages pass through; an undecodable line is answered on `write`. `on_handshake`
    runs once, when the first message after the handshake arrives (normally `notifications/initialized`). With
    `answers`, the end of input is passed on once every request read has been answered, cancelled or left waiting
    on the client."""

    def __init__(
        self,
        inner: Incoming,
        write: Outgoing,
        on_handshake: Callable[[], None] | None = None,
        answers: Answers | None = None,
    ) -> None:
        self._inner = inner
        self._write = write
        self._on_handshake = on_handshake
        self._answers = answers

    def _passing(self, message: SessionMessage) -> SessionMessage:
        if self._on_handshake is not None and getattr(message.message, "method", None) not in HANDSHAKE:
            started, self._on_handshake = self._on_handshake, None
            started()
        if self._answers is not None:
            self._answers.read(message.message)
        return message

    @property
    def last_context(self) -> Any:  # the sender's context, which the SDK's dispatcher reads when present
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage:
        while True:
            try:
                item = await self._inner.receive()
            except anyio.EndOfStream:
                if self._answers is not None:
                    await self._answers.settled()
                raise
            message = recovered(item) if isinstance(item, Exception) else item
            if isinstance(item, Exception) and message is None:
                if not blank(item):
                    await self._refuse(error_for(item), "an undecodable line")
            elif message is None or without_id(message.message):
                await self._refuse(NO_ID, "a request without an id")
            else:
                return self._passing(message)

    async def _refuse(self, error: ErrorData, what: str) -> None:
        logger.warning("stdio: answered %s with JSON-RPC error %d", what, error.code)
        await self._write.send(SessionMessage(JSONRPCError(jsonrpc="2.0", id=None, error=error)))

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def lowlevel(mcp: MCPServer) -> Server[Any]:
    """The low-level server inside an MCPServer. The SDK runs it on streams of its own only (`run_stdio_async`) and
    offers no public way to run it on ours, so this is the one reach into its internals (mcp 2.3.0);
    tests/mcp/test_stdio.py fails if the SDK renames or retypes it."""
    server: Server[Any] = mcp._lowlevel_server
    return server


async def serve_stdio(mcp: MCPServer, on_handshake: Callable[[], None] | None = None) -> None:
    """What `MCPServer.run_stdio_async` does, with the answering reader in front of the server."""
    server = lowlevel(mcp)
    try:
        async with stdio_server() as (read_stream, write_stream):
            answers = Answers(write_stream)
            reader = AnsweringReader(read_stream, answers, on_handshake, answers)
            await server.run(reader, answers, server.create_initialization_options())
    except* BrokenPipeError:  # the client closed its end of stdout: it reads no more answers, so none is owed
        logger.info("stdio: the client stopped reading before every answer was written")


def run_stdio(mcp: MCPServer, *, on_handshake: Callable[[], None] | None = None) -> None:
    """Serve one client on stdin/stdout. `on_handshake` (loading the knowledge base) starts once `initialize` has
    been answered: started with the process, it took the CPU from the handshake (2 cores: `initialize` answered
    after 1.26-1.42 s against 0.60-0.66 s for a bare MCPServer).

    Ctrl-C stops the server at once, as SIGTERM does: asyncio would turn it into a cancellation that waits for the
    thread blocked reading stdin, so the server ran on until the client closed stdin. Stopping at any moment loses
    nothing acknowledged (docs/reliability.md: the SIGKILL loop)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    anyio.run(serve_stdio, mcp, on_handshake)
