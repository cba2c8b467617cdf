"""OpenTelemetry GenAI traces -> incidents. A trace with a failed span (status ERROR, or an `error.type`) becomes
one capture, keyed by its trace id so that importing it again stores nothing new; its spans, in time order, become
the incident's timeline (agent steps, tool calls with arguments and results, model calls with tokens).

Attribute names follow the OpenTelemetry GenAI semantic conventions (gen_ai.operation.name, gen_ai.agent.name,
gen_ai.tool.name, gen_ai.tool.call.arguments/result, gen_ai.request/response.model, gen_ai.usage.*_tokens,
gen_ai.input/output.messages, error.type) and the exception event (exception.type/message/stacktrace)."""

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agent_postmortem.ingest import langsmith, openinference, openllmetry
from agent_postmortem.ingest.otlp import Span, to_datetime
from agent_postmortem.ingest.trace_reading import TraceIncident, span_timeline, trace_incident
from agent_postmortem.service.incidents import CLOCK_SKEW
from agent_postmortem.store.models import TimelineEventCreate
from agent_postmortem.store.models.fields import storable
from agent_postmortem.store.redact import redact, redact_model

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService


class TraceImport(BaseModel):
    traces: int = Field(description="traces seen")
    failed_traces: int = Field(description="traces with a failed span: one capture each")
    created: int = 0
    duplicates: int = Field(default=0, description="traces imported before (same trace id): nothing new stored")
    occurrences: int = Field(default=0, description="new traces of an open incident's failure: counted on it")
    timeline_events: int = 0
    incident_ids: list[str] = Field(default_factory=list)
    counted_on: list[str] = Field(
        default_factory=list, description="the open incidents the occurrences were counted on, each once"
    )
    titles: list[str] = Field(default_factory=list, description="--dry-run only: what would be captured")
    refused: int = Field(default=0, description="failed traces not imported: a span is dated after this clock")
    refused_spans: int = Field(default=0, description="the spans of the refused traces")
    refusal: str | None = Field(default=None, description="why, for the first refused trace: what to fix")
    unmatched: int = Field(
        default=0,
        description="traces without a failed span and of no incident: nothing stored (a trace's spans are joined "
        "only within one import, or to its incident when its failure was imported before)",
    )


def failed_traces(traces: dict[str, list[Span]]) -> list[TraceIncident]:
    return [trace_incident(t, _genai(spans)) for t, spans in traces.items() if any(s.failed for s in spans)]


def _genai(spans: list[Span]) -> list[Span]:
    """The spans with OpenInference, LangSmith and OpenLLMetry attributes also under their GenAI names (server/ingest/
    openinference.py, langsmith.py, openllmetry.py)."""
    return [_as_genai(s) for s in spans]


def _as_genai(span: Span) -> Span:
    span = _storable(span)
    if openinference.KIND in span.attributes:
        return replace(span, attributes=openinference.as_genai(span.attributes, span.name))
    if langsmith.KIND in span.attributes:
        return replace(span, attributes=langsmith.as_genai(span.attributes, span.name))
    if openllmetry.KIND in span.attributes or openllmetry.REQUEST_TYPE in span.attributes:
        return replace(span, attributes=openllmetry.as_genai(span.attributes, span.name))
    return span


def _storable(span: Span) -> Span:
    """The span with NUL and lone surrogates in its text as escapes (a tool's binary answer in an exception message,
    a JSON `\\u0000`): one such span refused the import of every trace with it, "contains a NUL character"."""
    texts = [span.name, span.status_message, *_strings(span.attributes), *_strings(span.resource)]
    texts += [text for event in span.events for text in _strings(event.attributes)]
    if all(_clean(text) for text in texts):
        return span
    return replace(
        span,
        name=storable(span.name),
        status_message=storable(span.status_message),
        attributes=_escaped(span.attributes),
        resource=_escaped(span.resource),
        events=tuple(replace(e, attributes=_escaped(e.attributes)) for e in span.events),
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, v in value.items() for text in [key, *_strings(v)]]
    if isinstance(value, list | tuple):
        return [text for v in value for text in _strings(v)]
    return []


def _clean(text: str) -> bool:
    return "\x00" not in text and (text.isascii() or storable(text) == text)


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    return value


def plan_traces(traces: dict[str, list[Span]], *, now: datetime) -> tuple[list[TraceIncident], TraceImport]:
    """The failed traces to capture, and the counts so far: a trace with a span dated after `now` (beyond clock
    skew) is refused whole, before anything is stored, so that it leaves nothing half-imported."""
    found = failed_traces(traces)
    result = TraceImport(traces=len(traces), failed_traces=len(found))
    keep: list[TraceIncident] = []
    for item in found:
        refusal = _dated_later(item.trace_id, traces[item.trace_id], now + CLOCK_SKEW)
        if refusal is None:
            keep.append(item)
            continue
        result.refused += 1
        result.refused_spans += len(traces[item.trace_id])
        result.refusal = result.refusal or refusal
    return keep, result


def import_traces(service: "PostmortemService", traces: dict[str, list[Span]]) -> TraceImport:
    """Capture each failed trace through the normal path (redaction, classification, triage) and add its timeline.
    A trace seen before gets only the spans its incident's timeline lacks (a later batch of the same trace)."""
    found, result = plan_traces(traces, now=service.clock())
    for item in found:
        _import_failed(service, item, result)
    for trace_id, spans in traces.items():  # a later batch with no failure: its spans join the failure's timeline
        if any(s.failed for s in spans):
            continue
        if (known := service.store.find_by_key(f"otel-trace:{trace_id}")) is None:
            result.unmatched += 1
            continue
        found_id = known.incident_id
        stored = service.get_incident(found_id)
        if stored.source_id == f"otel-trace:{trace_id}":  # not an occurrence counted on another incident
            spans = _genai(spans)
            timeline = span_timeline(spans, {s.span_id: s for s in spans}, keep=set())
            # as a failed trace's: a secret one span names goes from the batch's other spans too
            named: list[tuple[str, str]] = []
            timeline = [redact_model(event, named)[0] for event in timeline]
            result.timeline_events += _add_missing(service, found_id, timeline, stored=stored)
    return result


def _import_failed(service: "PostmortemService", item: TraceIncident, result: TraceImport) -> None:
    """One failed trace: a new incident with its timeline, one more occurrence of an open incident, or nothing new
    (a trace imported before: only the spans its incident's timeline lacks)."""
    named: list[tuple[str, str]] = []  # the spans first: a secret one names goes from the others and the incident
    item = replace(item, timeline=[redact_model(event, named)[0] for event in item.timeline])
    captured = service.capture_incident(item.incident, known=named)
    if captured.deduplicated and captured.replayed:  # a trace counted on an incident before: nothing new
        result.duplicates += 1
        return
    if captured.deduplicated:
        result.occurrences += 1
        if captured.id not in result.counted_on:
            result.counted_on.append(captured.id)
        return
    result.incident_ids.append(captured.id)
    stored = service.get_incident(captured.id)
    if not captured.replayed:
        result.created += 1
    else:
        result.duplicates += 1
        if stored.source_id != item.incident.source_id:  # the trace was an occurrence of another incident
            return
    result.timeline_events += _add_missing(service, captured.id, item.timeline, stored=stored)


def _add_missing(
    service: "PostmortemService", incident_id: str, timeline: list[TimelineEventCreate], stored: Any = None
) -> int:
    """Add the events the incident's timeline lacks; how many."""
    known = {e.description for e in (stored or service.get_incident(incident_id)).timeline}
    added = 0
    for event in timeline:
        if redact(event.description) not in known:
            service.add_timeline_event(incident_id, event)
            added += 1
    return added


def _dated_later(trace_id: str, spans: list[Span], latest: datetime) -> str | None:
    """Why a trace cannot be stored as it is, if a span of it is dated after `latest` (this clock, plus skew): the
    clock of the host that sent it is wrong."""
    last = max(max(s.start_ns, s.end_ns) for s in spans)
    when = to_datetime(last)
    if when is None or when <= latest:
        return None
    return (
        f"trace {trace_id}: a span is dated {when.isoformat(timespec='seconds')}, after this clock "
        f"({(latest - CLOCK_SKEW).isoformat(timespec='seconds')}, {int(CLOCK_SKEW.total_seconds() // 60)} minutes of "
        "skew allowed); nothing of it was stored: set the clock of the host that sent it (NTP) and send it again"
    )
