"""What a client sends to `/mcp` as a body, read before the MCP SDK sees it, so that three mistakes get a JSON-RPC
error an MCP client shows instead of the SDK's answers: a body over the limit (plain text "Request body too large",
which a Python client shows as "Server returned an error response"), a JSON array (a batch: the SDK's -32602 quoted
the whole array back, secrets a client put in it included) and a body that starts with a UTF-8 byte-order mark
(a .NET or PowerShell client's default; the SDK answered "Parse error: expected value at line 1 column 1"), and an
object that is not a JSON-RPC 2.0 message or a request whose id is unusable (`unusable`). And a GET on a stateless
server, which has no stream to give."""

from mcp.types import jsonrpc_message_adapter
from pydantic import ValidationError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_postmortem.ingest.json_input import JsonInputError, loads

BOM = b"\xef\xbb\xbf"
INVALID_REQUEST = -32600


class ClearBodies:
    """POST /mcp bodies read whole (up to `max_body`), then given to the app as they came, less a leading BOM."""

    def __init__(self, app: ASGIApp, *, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or str(scope.get("path", "")).rstrip("/") != "/mcp":
            await self.app(scope, receive, send)
            return
        try:
            body = await read_whole(receive, self.max_body)
        except BodyTooLarge:
            said = f"Request body too large: a message to /mcp is at most {self.max_body // 1024} KiB."
            await _error(413, said + " Nothing was done.")(scope, receive, send)
            return
        if body is None:  # the client went away
            return
        body = body.removeprefix(BOM)
        if body.lstrip()[:1] == b"[":
            said = "Batches are not supported: send one JSON-RPC message per request (an object, not an array)."
            await _error(400, said + " Nothing was done.")(scope, receive, send)
            return
        why = unusable(body)
        if why is not None:
            await _error(400, f"Invalid Request: {why} Nothing was done.")(scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)


def unusable(body: bytes) -> str | None:
    """Why JSON sent to /mcp cannot be answered, or None (text that is not JSON is the SDK's parse error, which
    quotes nothing). JSON that is no JSON-RPC 2.0 message (`"jsonrpc": "1.0"`, a method that is a number, params that
    are text) got the SDK's -32602 with pydantic's dump of every union branch, the values sent quoted; a request whose
    id is null, fractional, a boolean or an object was read as a notification: 202, and the client waited for an
    answer that never came."""
    try:
        message = loads(body)  # nesting limited: a few KB of `{"a":{"a":...}}` was a RecursionError and a bare 500
    except JsonInputError:
        return None
    try:
        jsonrpc_message_adapter.validate_python(message, by_name=False)
    except ValidationError:
        return (
            'a message to /mcp is one JSON-RPC 2.0 object: "jsonrpc": "2.0", a method (text) with its params (an '
            "object) and an id for a request, or the result or error of a request the server sent."
        )
    given = message.get("id", 0)
    if "method" in message and (isinstance(given, bool) or not isinstance(given, str | int)):
        return "a request's id is a string or an integer (a message without an id is a notification, never answered)."
    return None


class BodyTooLarge(Exception):
    """A request's body past the limit: read no further."""


async def read_whole(receive: Receive, max_body: int) -> bytes | None:
    """The request's body (`b""` for none), None when the client went away; BodyTooLarge past `max_body` bytes."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
        if size > max_body:
            raise BodyTooLarge
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then whatever the connection says next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": message}}, status)


class NoStreamWithoutSessions:
    """GET /mcp on a stateless server: 405 saying why. The SDK answered 200 text/event-stream and then nothing, ever
    (no session, so nothing can be sent on it), holding the request until the client gave up."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        on_mcp = str(scope.get("path", "")).rstrip("/") == "/mcp"
        if scope["type"] == "http" and scope.get("method") == "GET" and on_mcp:
            said = (
                "Method Not Allowed: this server is stateless (no MCP sessions), so it has no stream to open with GET;"
                " send each request with POST."
            )
            response = _error(405, said)
            response.headers["Allow"] = "POST"
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


UNKNOWN_SESSION = (
    "Session not found: this server holds no MCP session with this mcp-session-id (the server restarted, the session "
    "ended or was idle too long, or a proxy sent the request to another replica: run replicas with --stateless). "
    "Start a new session: send initialize again. Nothing was done."
)


class ClearUnknownSessions:
    """The SDK's 404 for an unknown `mcp-session-id` with a message that says why and what to do (it said only
    "Session not found"). The status stays 404: a client starts a new session on it, as the transport says."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with_id = any(name == b"mcp-session-id" for name, _ in scope.get("headers", []))
        if scope["type"] != "http" or not with_id or str(scope.get("path", "")).rstrip("/") != "/mcp":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def clear(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 404:
                replaced = True
                await _error(404, UNKNOWN_SESSION)(scope, receive, send)
            elif not replaced:
                await send(message)

        await self.app(scope, receive, clear)
