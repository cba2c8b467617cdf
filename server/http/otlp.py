"""A live OTLP/HTTP trace receiver: `POST /v1/traces` with an OTLP/JSON body, beside `/mcp` on the HTTP server.

It is guarded exactly like `/mcp`: the same bearer token (401 without it, 403 without the scope), the same
Host/Origin allow-lists, the same body limit, and the RateLimit middleware that wraps the whole app. Answers follow
the OTLP/HTTP spec: 200 with `{"partialSuccess": {...}}` (with `rejectedSpans` and `errorMessage` for the traces not
stored: a span dated after this server's clock, the sender's clock is wrong), 400 with a Status (`{"code",
"message"}`) for a malformed body (not retryable), 415 for protobuf (only JSON is supported) and for a compression
other than gzip, 503 when the store is unavailable (retryable)."""

import gzip
import io
import logging
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
from mcp.server.auth.middleware.bearer_auth import RequireAuthMiddleware
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecurityMiddleware
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agent_postmortem.errors import validation_problems
from agent_postmortem.http.bodies import BodyTooLarge, read_whole, replay
from agent_postmortem.http.security import SCOPE, HttpSecurity
from agent_postmortem.ingest.json_input import JsonInputError, loads
from agent_postmortem.ingest.otlp import OtlpError, Span, parse_request
from agent_postmortem.ingest.trace_memory import TraceMemory

if TYPE_CHECKING:
    from agent_postmortem.ingest.traces import TraceImport
    from agent_postmortem.service.facade import PostmortemService

logger = logging.getLogger(__name__)
PATH = "/v1/traces"
INVALID_ARGUMENT, UNAVAILABLE = 3, 14  # google.rpc.Code values, as OTLP's Status uses them
ENCODINGS = ("", "identity", "gzip")  # what an exporter may send; the collector's zstd, snappy, deflate are not read


def add_trace_receiver(mcp: MCPServer, get_service: Callable[[], "PostmortemService"], security: HttpSecurity) -> None:
    """Register `POST /v1/traces` on the server's HTTP app (call before `streamable_http_app`)."""
    app: ASGIApp = TraceReceiver(get_service, security)
    if security.token_verifier is not None:
        app = RequireAuthMiddleware(app, [SCOPE])
    mcp._custom_starlette_routes.append(Route(PATH, endpoint=app, methods=["POST"]))


class TraceReceiver:
    def __init__(self, get_service: Callable[[], "PostmortemService"], security: HttpSecurity) -> None:
        self.get_service = get_service
        self.guard = TransportSecurityMiddleware(security.transport_security)
        self.max_body = security.max_body
        self.memory = TraceMemory()  # a trace's earlier batches, read with its later ones

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # the body is read here, not by the MCP SDK's limit, which answered 413 in plain text to an OTLP exporter
        try:
            body = await read_whole(receive, self.max_body)
        except BodyTooLarge:
            limit = f"the body is larger than {self.max_body // 1024} KiB: export fewer spans per request"
            await _status(413, INVALID_ARGUMENT, limit)(scope, receive, send)
            return
        if body is None:  # the exporter went away
            return
        request = Request(scope, replay(body, receive))
        response = await self.guard.validate_request(request) or await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        encoding = request.headers.get("content-encoding", "").strip().lower()
        refused = _unreadable(request.headers.get("content-type", ""), encoding)
        if refused is not None:
            return refused
        try:
            body = self._decoded(await request.body(), encoding)
        except _TooLarge:
            return _status(413, INVALID_ARGUMENT, f"the inflated body is larger than {self.max_body // 1024} KiB")
        except (OSError, EOFError, zlib.error):  # a bad header, a bad stream, or a truncated one
            return _status(400, INVALID_ARGUMENT, "the body is not valid gzip (Content-Encoding: gzip)")
        try:
            spans = parse_request(loads(body))
        except JsonInputError as e:
            return _status(400, INVALID_ARGUMENT, f"the body is {e}")
        except OtlpError as e:
            return _status(400, INVALID_ARGUMENT, f"not OTLP/JSON trace data: {e}")
        try:
            result = await anyio.to_thread.run_sync(self._import, spans, len(body))
        except ValidationError as e:  # a span's values cannot be stored (a NUL byte, say): sending it again won't help
            problems = validation_problems(e, limit=5)
            return _status(400, INVALID_ARGUMENT, f"a failed trace is not a storable incident ({problems})")
        except Exception:  # the exporter retries a 503; the reason goes to the server log
            logger.exception("could not import traces")
            return _status(503, UNAVAILABLE, "the incident store is unavailable; retry later")
        if result.incident_ids or result.refused:
            logger.info("traces: %s", result.model_dump_json(exclude={"titles"}))
        if result.refused:  # the others are stored: OTLP's partial success names what was not, and why
            return JSONResponse(
                {"partialSuccess": {"rejectedSpans": str(result.refused_spans), "errorMessage": result.refusal}}
            )
        return JSONResponse({"partialSuccess": {}})

    def _decoded(self, body: bytes, encoding: str) -> bytes:
        if encoding != "gzip":
            return body
        data = gzip.GzipFile(fileobj=io.BytesIO(body)).read(self.max_body + 1)
        if len(data) > self.max_body:
            raise _TooLarge
        return data

    def _import(self, spans: list[Span], body_bytes: int) -> "TraceImport":
        from agent_postmortem.ingest.traces import import_traces

        traces = self.memory.join(spans)
        result = import_traces(self.get_service(), traces)
        self.memory.remember(traces, body_bytes)
        return result


def _unreadable(content_type: str, encoding: str) -> Response | None:
    """415 for a body this receiver cannot read: protobuf, or a compression other than gzip (the collector's zstd,
    snappy or deflate, read as plain bytes, was "the body is not JSON")."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return _status(
            415,
            INVALID_ARGUMENT,
            "only OTLP/HTTP JSON is supported: send Content-Type application/json "
            "(set OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json); protobuf is not accepted",
        )
    if encoding not in ENCODINGS:
        return _status(
            415,
            INVALID_ARGUMENT,
            "only gzip or uncompressed bodies are accepted: set the exporter's compression to gzip or none "
            "(OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=gzip)",
        )
    return None


class _TooLarge(Exception):
    pass


def _status(http: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=http)
