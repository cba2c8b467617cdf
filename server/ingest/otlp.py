"""OTLP/JSON trace payloads (an `ExportTraceServiceRequest`: resourceSpans[].scopeSpans[].spans[]) read into flat
spans. Pure: no I/O, no service. Follows the OTLP/JSON rules: ids are hex strings (base64, as protobuf's own JSON
mapping writes them, is accepted too), 64-bit integers may be strings, enums are integers (names accepted).

Malformed input raises `OtlpError` with a message that says where (never the value: it may hold a secret)."""

import base64
import binascii
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent_postmortem.store.models import LATEST

STATUS_ERROR = 2
MAX_SPANS = 100_000  # per import: 300,000 spans (120 MB of JSON) took 1.1 GB to read, a million would take 4 GB
MAX_TIME_NS = int(LATEST.timestamp()) * 10**9  # the latest time a record may hold; 0 means "not set"
# The earliest time a span may have: 1970 is a clock never set, or a time in seconds, milli- or microseconds sent as
# nanoseconds (1.79e18 ns is 2026; 1.79e15 read as ns is 1970-01-21). Stored, it would sort before every incident.
MIN_TIME_NS = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp()) * 10**9
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


class OtlpError(ValueError):
    """A payload that is not OTLP/JSON trace data; the message names the place, never the value."""


@dataclass(frozen=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    status_code: int = 0
    status_message: str = ""
    events: tuple[SpanEvent, ...] = ()
    resource: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status_code == STATUS_ERROR or bool(self.attributes.get("error.type"))

    @property
    def start(self) -> datetime | None:
        return to_datetime(self.start_ns)

    @property
    def end(self) -> datetime | None:
        return to_datetime(self.end_ns)


def to_datetime(ns: int) -> datetime | None:
    return datetime.fromtimestamp(ns / 1e9, UTC) if ns > 0 else None


def parse_request(payload: Any, *, where: str = "request", max_spans: int | None = None) -> list[Span]:
    """The spans of one ExportTraceServiceRequest (a decoded JSON object); more than `max_spans` is refused, and so
    is an object of another format (it was taken for a request without spans: 200, and nothing stored)."""
    if not isinstance(payload, dict) or payload and not has_spans(payload):
        raise OtlpError(f"{where}: expected a JSON object with resourceSpans{other_format(payload)}")
    resource_spans = _get(payload, "resourceSpans", "resource_spans", default=[])
    spans: list[Span] = []
    for r, rs in enumerate(_list(resource_spans, f"{where}: resourceSpans")):
        here = f"{where}: resourceSpans[{r}]"
        resource = _dict(_get(_dict(rs, here), "resource") or {}, f"{here}.resource")  # null: its default
        resource_attrs = attributes(_get(resource, "attributes", default=[]), f"{here}.resource.attributes")
        for s, ss in enumerate(_list(_get(rs, "scopeSpans", "scope_spans", default=[]), f"{here}.scopeSpans")):
            scope = f"{here}.scopeSpans[{s}]"
            for n, raw in enumerate(_list(_get(_dict(ss, scope), "spans", default=[]), f"{scope}.spans")):
                if max_spans is not None and len(spans) >= max_spans:
                    raise OtlpError(
                        f"{where}: more than {MAX_SPANS:,} spans in one import; split the file (one request per line, "
                        "as the Collector's file exporter writes, split with `split -l`) and import each part"
                    )
                spans.append(_span(raw, resource_attrs, f"{scope}.spans[{n}]"))
    return spans


def other_format(payload: Any) -> str:
    """What to do instead, for a document of a format this is sometimes confused with ("" when none is known)."""
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):  # what the Agents SDK's exporter posts
        payload = payload["data"]
    item = payload[0] if isinstance(payload, list) and payload else payload
    if not isinstance(item, dict):
        return ""
    if item.get("object") in ("trace", "trace.span") or "span_data" in item:
        return (
            ": this is an OpenAI Agents SDK trace export; instrument the application with OpenInference "
            "(openinference-instrumentation-openai-agents) and send its OpenTelemetry spans here, through a Collector "
            "that exports OTLP/JSON (docs/traces.md)"
        )
    if "run_type" in item:
        return (
            ": this is a LangSmith run export; have the application send OpenTelemetry instead "
            "(LANGSMITH_OTEL_ENABLED=true, LANGSMITH_OTEL_ONLY=true, OTEL_EXPORTER_OTLP_ENDPOINT at a Collector that "
            "exports OTLP/JSON here)"
        )
    steps = item.get("trace") or item.get("steps") or item.get("history")
    if isinstance(steps, list) and steps and isinstance(steps[0], dict) and {"role", "content"} & steps[0].keys():
        return ": this is a multi-agent run's steps (as Who&When writes them); import it with `postmortem import-steps`"
    return ""


def has_spans(payload: dict[str, Any]) -> bool:
    return "resourceSpans" in payload or "resource_spans" in payload


def group_traces(spans: Iterable[Span]) -> dict[str, list[Span]]:
    """Spans by trace id, each trace in start-time order; a span seen twice (a re-sent batch) counts once, and of two
    different spans under one id the failed one is kept (the other one hid the failure: the trace had none)."""
    traces: dict[str, dict[str, Span]] = defaultdict(dict)
    for span in spans:
        known = traces[span.trace_id].setdefault(span.span_id, span)
        if span.failed and not known.failed:
            traces[span.trace_id][span.span_id] = span
    return {t: sorted(by_id.values(), key=lambda s: (s.start_ns, s.end_ns)) for t, by_id in traces.items()}


def attributes(raw: Any, where: str) -> dict[str, Any]:
    """OTLP KeyValue list -> plain dict."""
    out: dict[str, Any] = {}
    for i, kv in enumerate(_list(raw, where)):
        kv = _dict(kv, f"{where}[{i}]")
        key = kv.get("key")
        if not isinstance(key, str):
            raise OtlpError(f"{where}[{i}]: attribute without a string key")
        out[key] = any_value(kv.get("value"), f"{where}[{i}]")
    return out


def any_value(raw: Any, where: str) -> Any:
    """An OTLP AnyValue -> str, int, float, bool, list, dict or None."""
    if raw is None or raw == {}:
        return None
    value = _dict(raw, where)
    if "stringValue" in value:
        return "" if value["stringValue"] is None else str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return _int(value["intValue"], where)
    if "doubleValue" in value:
        return _float(value["doubleValue"], where)
    if "arrayValue" in value:
        items = _dict(value["arrayValue"] or {}, where).get("values", [])
        return [any_value(v, f"{where}.arrayValue[{i}]") for i, v in enumerate(_list(items, where))]
    if "kvlistValue" in value:
        return attributes(_dict(value["kvlistValue"] or {}, where).get("values", []), f"{where}.kvlistValue")
    if "bytesValue" in value:
        return str(value["bytesValue"])
    raise OtlpError(f"{where}: unknown attribute value type")


def _span(raw: Any, resource: dict[str, Any], where: str) -> Span:
    raw = _dict(raw, where)
    trace_id = _id(_get(raw, "traceId", "trace_id"), 16, f"{where}.traceId")
    span_id = _id(_get(raw, "spanId", "span_id"), 8, f"{where}.spanId")
    parent = _get(raw, "parentSpanId", "parent_span_id")
    status = _dict(_get(raw, "status", default={}) or {}, f"{where}.status")
    code = status.get("code", 0)
    listed = _list(raw.get("events", []), f"{where}.events")
    events = tuple(_event(e, f"{where}.events[{i}]") for i, e in enumerate(listed))
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=_id(parent, 8, f"{where}.parentSpanId") if parent else None,
        name=str(raw.get("name") or ""),
        start_ns=_time(_get(raw, "startTimeUnixNano", "start_time_unix_nano", default=0), f"{where}.startTimeUnixNano"),
        end_ns=_time(_get(raw, "endTimeUnixNano", "end_time_unix_nano", default=0), f"{where}.endTimeUnixNano"),
        attributes=attributes(raw.get("attributes", []), f"{where}.attributes"),
        status_code=_status_code(code, f"{where}.status.code"),
        status_message=str(status.get("message", "") or ""),
        events=events,
        resource=resource,
    )


def _status_code(code: Any, where: str) -> int:
    """0, 1 or 2, as a number, a numeric string or its name: "2" was read as unset, and another word too, so the
    span's failure, and the trace's incident, were silently not there."""
    if isinstance(code, str) and code.strip() in _STATUS_NAMES:
        return _STATUS_NAMES[code.strip()]
    if isinstance(code, str) and not code.strip().isdigit():
        raise OtlpError(f"{where}: expected 0, 1 or 2 or its name (STATUS_CODE_ERROR)")
    return _int(code, where)


def _event(raw: Any, where: str) -> SpanEvent:
    raw = _dict(raw, where)
    return SpanEvent(
        name=str(raw.get("name", "")),
        time_ns=_time(_get(raw, "timeUnixNano", "time_unix_nano", default=0), f"{where}.timeUnixNano"),
        attributes=attributes(raw.get("attributes", []), f"{where}.attributes"),
    )


def _id(raw: Any, size: int, where: str) -> str:
    """A trace or span id as lowercase hex: OTLP/JSON writes hex; protobuf's JSON mapping writes base64."""
    if raw is None or raw == "":
        raise OtlpError(f"{where}: missing")
    if not isinstance(raw, str):  # a number, say: it was "missing", which sent the sender looking for an absent key
        raise OtlpError(f"{where}: not a {size}-byte id in hex (a JSON string)")
    if len(raw) == 2 * size and _HEX.match(raw):
        return raw.lower()
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != size:
        raise OtlpError(f"{where}: not a {size}-byte id in hex")
    return decoded.hex()


def _get(d: dict[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if name in d:
            return d[name]
    return default


def _dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise OtlpError(f"{where}: expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise OtlpError(f"{where}: expected a list")
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise OtlpError(f"{where}: expected an integer")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a float that is infinite
        raise OtlpError(f"{where}: expected an integer") from None


def _time(value: Any, where: str) -> int:
    """Nanoseconds since the Unix epoch, within what a record can hold (0: not set)."""
    ns = _int(value, where)
    if not 0 <= ns < MAX_TIME_NS:
        raise OtlpError(f"{where}: out of range (nanoseconds since 1970, before the year {LATEST.year})")
    if 0 < ns < MIN_TIME_NS:
        raise OtlpError(
            f"{where}: before the year 2000: OTLP times are nanoseconds since 1970 (a time in seconds, milli- or "
            "microseconds reads as 1970), or the sending host's clock is not set"
        )
    return ns


def _float(value: Any, where: str) -> float:
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise OtlpError(f"{where}: expected a number") from None


def spans_of(payloads: Iterable[Any]) -> Iterator[Span]:
    for i, payload in enumerate(payloads):
        yield from parse_request(payload, where=f"request {i + 1}")
