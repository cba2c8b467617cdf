"""OTLP/JSON trace files: one `ExportTraceServiceRequest`, or one per line (what the OpenTelemetry Collector's file
exporter writes), gzip-compressed or not, from a file or standard input. Read a line at a time in bounded memory:
a line (or a one-request document) over MAX_REQUEST_BYTES refuses the import at that line, never read whole."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent_postmortem.ingest import otlp
from agent_postmortem.ingest.json_input import JsonInputError, loads
from agent_postmortem.ingest.jsonfile import Readable, cut_short, display_name, empty, numbered_lines, open_input
from agent_postmortem.ingest.otlp import OtlpError, Span, has_spans, other_format, parse_request

MAX_REQUEST_BYTES = 32 * 1024 * 1024  # one request (a line, or the whole file when it is one document)
NOT_OTLP = (
    "OTLP/JSON is expected: a protobuf file (the Collector's file exporter with `format: proto`) is not read; export "
    "with `format: json`"
)


JOINED = "; a trace's later spans join its incident"  # what importing the whole file again adds


def read_files(paths: list[Path]) -> list[Span]:
    """The spans of every file, as one import (at most MAX_SPANS in all): the spans of a trace an exporter wrote
    over several files (paged) are grouped into that trace whichever file holds its failure."""
    spans: list[Span] = []
    for path in paths:
        spans += read_file(path, max_spans=otlp.MAX_SPANS - len(spans))
    return spans


def read_file(path: Path, *, max_spans: int = otlp.MAX_SPANS) -> list[Span]:
    """Spans from a file holding one OTLP/JSON request, or one request per line. Blank lines are skipped; a bad or
    over-long line is reported with its number."""
    name = display_name(path)
    spans: list[Span] = []
    first_odd: tuple[str, Any] | None = None  # a line before the first request with spans that is no object
    seen_spans = False
    first: Any = None
    with open_input(path) as stream:
        for where, payload in _requests(stream, name):
            first = payload if first is None else first
            if not seen_spans and not (isinstance(payload, dict) and has_spans(payload)):
                first_odd = first_odd or (None if isinstance(payload, dict) else (where, payload))
                continue
            if first_odd is not None:
                parse_request(first_odd[1], where=first_odd[0])  # raises: it says which line is not a request
            seen_spans = True
            spans += parse_request(payload, where=where, max_spans=max_spans - len(spans))
    if first is None:
        raise OtlpError(empty(name, "OTLP/JSON trace data (one request, or one per line)"))
    if not seen_spans:
        raise OtlpError(
            f"{name}: no resourceSpans in any request; OTLP/JSON trace data (an ExportTraceServiceRequest, as the "
            f"Collector's file exporter writes) is expected, not another format (Jaeger, Zipkin){other_format(first)}"
        )
    if not spans:  # `{"resourceSpans": null}` or `[]`: "0 traces" and exit 0 read as an import that worked
        raise OtlpError(
            f"{name}: no spans in any request (resourceSpans, or what it holds, is empty or null), so nothing was "
            "imported; OTLP/JSON trace data holds its spans as resourceSpans[].scopeSpans[].spans[]"
        )
    return spans


def _too_long(where: str) -> OtlpError:
    return OtlpError(
        f"{where}: longer than {MAX_REQUEST_BYTES:,} bytes, the most one request may be; split it into smaller "
        "requests, one per line (the Collector's batch processor: send_batch_max_size)"
    )


def _requests(stream: Readable, name: str) -> Iterator[tuple[str, Any]]:
    """(where, request) of each request in the file, a JSON array of them read as its items (`json.dump(requests)`
    was refused as holding no resourceSpans, or as not JSON when pretty-printed)."""
    for where, payload in _documents(stream, name):
        if isinstance(payload, list) and any(isinstance(item, dict) and has_spans(item) for item in payload):
            for number, item in enumerate(payload, start=1):
                yield f"{where} item {number}", item
        else:
            yield where, payload


def _documents(stream: Readable, name: str) -> Iterator[tuple[str, Any]]:
    """(where, document) of each non-blank line; or the whole file as one document when its first line is no JSON
    of its own (a request, or an array of them, written over several lines). A file of one is named as a whole."""
    rows = numbered_lines(stream, name, max_bytes=MAX_REQUEST_BYTES, not_text=NOT_OTLP)
    first: tuple[int, Any] | None = None  # the first request, held until another one follows
    started = False
    for number, text in rows:
        if text is None:
            raise _too_long(f"{name} line {number}")
        if not text.strip():
            continue
        try:
            payload = loads(text)
        except JsonInputError as e:
            if first is None and not started:
                yield name, _whole(text, rows, name, number, e)
                return
            hint = cut_short(text, number, "import-traces", JOINED)
            raise OtlpError(f"{name} line {number}: {e}{hint}") from None
        if first is None and not started:
            first, started = (number, payload), True
            continue
        if first is not None:
            yield f"{name} line {first[0]}", first[1]
            first = None
        yield f"{name} line {number}", payload
    if first is not None:
        yield name, first[1]


def _whole(text: str, rows: Iterator[tuple[int, str | None]], name: str, number: int, error: JsonInputError) -> Any:
    """The file as one request (or array) over several lines (at most MAX_REQUEST_BYTES in all); else the first
    line's error."""
    parts, size = [text], len(text)
    for _, more in rows:
        if more is None or size + len(more) > MAX_REQUEST_BYTES:
            raise _too_long(name)
        parts.append(more)
        size += len(more)
    try:
        payload = loads("".join(parts))
    except JsonInputError:
        payload = None
    if not isinstance(payload, dict | list):
        raise OtlpError(f"{name} line {number}: {error}")
    return payload
