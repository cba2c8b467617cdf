"""One failed trace read as an incident: the innermost failed span and its path to the root give the title, the error,
the agent, tool and model, the prompt and the description; the spans in time order give the timeline (agent steps,
tool calls with arguments and results, model calls with tokens), at most MAX_EVENTS of them, the failure's path
always kept. Attribute names follow the OpenTelemetry GenAI semantic conventions (server/ingest/traces.py)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agent_postmortem.analysis.wording import counted
from agent_postmortem.ingest.json_input import JsonInputError, loads
from agent_postmortem.ingest.otlp import Span, to_datetime
from agent_postmortem.ingest.span_fields import (
    agent_name,
    as_text,
    model_name,
    operation,
    short,
    span_error,
    tokens,
    tool_name,
)
from agent_postmortem.store.models import IncidentCreate, TimelineEventCreate
from agent_postmortem.store.redact import cut, fit

MAX_EVENTS = 60  # timeline entries per trace; the failure's path is always kept
AGENT_OPS = {"invoke_agent", "create_agent", "invoke_workflow"}
MODEL_OPS = {"chat", "text_completion", "generate_content", "embeddings"}


@dataclass(frozen=True)
class TraceIncident:
    trace_id: str
    incident: IncidentCreate
    timeline: list[TimelineEventCreate]


def trace_incident(trace_id: str, spans: list[Span]) -> TraceIncident:
    """The capture for one failed trace: the innermost failed span is where it went wrong."""
    by_id = {s.span_id: s for s in spans}
    failed = _innermost_failure(spans)
    path, left_out = _ancestors(failed, by_id)
    error_type, message, stack = span_error(failed)
    agent = (
        _first([failed, *path], "gen_ai.agent.name")
        or _first(spans, "gen_ai.agent.name")
        or failed.resource.get("service.name")
    )
    tool = tool_name(failed)
    model_span = _model_call(spans, failed)
    where = tool or agent or failed.name or "agent"
    if model_span is failed and not tool:
        where = f"{model_name(failed) or 'a model call'} ({agent or failed.name})"
    fields: dict[str, Any] = {
        "title": f"{error_type or 'Error'} in {where}"[:200],
        "description": _description(trace_id, spans, failed, path, left_out),
        "error_type": (error_type or "")[:200] or None,
        "error_message": cut(message or "", 2_000) or None,
        "stack_trace": cut(stack, 20_000, keep_end=True) if stack else None,
        "agent": short(agent),
        "tool": short(tool),
        "tool_args": as_text(failed.attributes.get("gen_ai.tool.call.arguments"), 2_000) or None,
        "model": short(model_name(failed) or (model_name(model_span) if model_span else None)),
        "prompt_excerpt": _prompt(model_span, path),
        "environment": short(
            failed.resource.get("deployment.environment.name") or failed.resource.get("deployment.environment")
        ),
        "occurred_at": failed.end or failed.start,
        "source_id": f"otel-trace:{trace_id}",
        "idempotency_key": f"otel-trace:{trace_id}",
    }
    incident = IncidentCreate.model_validate({k: v for k, v in fields.items() if v is not None})
    return TraceIncident(trace_id, incident, span_timeline(spans, by_id, keep={s.span_id for s in [failed, *path]}))


def _innermost_failure(spans: list[Span]) -> Span:
    """The earliest-ending failed span none of whose descendants failed (errors propagate up to the root)."""
    failed = [s for s in spans if s.failed]
    parents_of_failures = {s.parent_id for s in failed}
    leaves = [s for s in failed if s.span_id not in parents_of_failures] or failed
    return min(leaves, key=lambda s: (s.end_ns or s.start_ns, s.start_ns))


def _ancestors(span: Span, by_id: dict[str, Span], keep: int = 100) -> tuple[list[Span], int]:
    """The span's parents, nearest first, each once, at most `keep` of them, and how many more there are: a
    malformed trace's parent ids may form a cycle (a span its own parent), which read "Failed at: A > B > A > B > ..."
    a hundred times over."""
    out: list[Span] = []
    seen, more = {span.span_id}, 0
    current = span
    while current.parent_id in by_id and current.parent_id not in seen:
        current = by_id[current.parent_id]  # type: ignore[index]
        seen.add(current.span_id)
        if len(out) < keep:
            out.append(current)
        else:
            more += 1
    return out, more


def _first(spans: Iterable[Span], key: str) -> Any:
    return next((s.attributes[key] for s in spans if s.attributes.get(key)), None)


def _model_call(spans: list[Span], failed: Span) -> Span | None:
    """The failed span if it is a model call, else the last model call that started before the failure ended."""
    if operation(failed) in MODEL_OPS or model_name(failed):
        return failed
    before = [
        s for s in spans if (operation(s) in MODEL_OPS or model_name(s)) and s.start_ns <= (failed.end_ns or s.start_ns)
    ]
    return before[-1] if before else None


def _prompt(model_span: Span | None, path: list[Span]) -> str | None:
    """The last user message the model saw (gen_ai.input.messages), else the agent's input."""
    for span in [*([model_span] if model_span else []), *path]:
        text = _last_message(span.attributes.get("gen_ai.input.messages"), role="user")
        if text:
            return cut(text, 2_000)
    return None


def _last_message(raw: Any, *, role: str | None = None) -> str | None:
    """Text of the last message (of a role) in a GenAI messages attribute: JSON text or a structured list, with
    `parts` ({type: text, content}) or the older `content` string."""
    messages = raw
    if isinstance(raw, str):
        try:
            messages = loads(raw)
        except JsonInputError:
            return raw if role is None or role == "user" else None
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if not isinstance(message, dict) or (role and message.get("role") != role):
            continue
        parts = message.get("parts")
        if isinstance(parts, list):
            texts = [str(p.get("content", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text"]
            if any(texts):
                return "\n".join(t for t in texts if t)
        if isinstance(message.get("content"), str):
            return str(message["content"])
    return None


def _description(trace_id: str, spans: list[Span], failed: Span, path: list[Span], left_out: int) -> str:
    service_name = failed.resource.get("service.name")
    start = min((s.start_ns for s in spans if s.start_ns), default=0)
    end = max((s.end_ns for s in spans), default=0)
    chain = " > ".join(s.name or "span" for s in [*reversed(path), failed])
    if left_out:
        chain = f"({left_out} outer span{'s' if left_out > 1 else ''} left out) > {chain}"
    tools = [s for s in spans if operation(s) == "execute_tool" or s.attributes.get("gen_ai.tool.name")]
    models = [s for s in spans if operation(s) in MODEL_OPS]
    lines = [
        f"Imported from OpenTelemetry trace {trace_id}"
        + (f" of service {service_name}" if service_name else "")
        + f": {counted(len(spans), 'span')} over {max(0, end - start) / 1e9:.1f} s.",
        f"Failed at: {chain}.",
        f"Tool calls: {len(tools)} ({sum(s.failed for s in tools)} failed). "
        f"Model calls: {len(models)}{_token_total(models)}.",
    ]
    result = failed.attributes.get("gen_ai.tool.call.result")
    if result is not None:
        lines.append(f"Tool result: {as_text(result, 2_000)}")
    answer = _last_message((_model_call(spans, failed) or failed).attributes.get("gen_ai.output.messages"))
    if answer:
        lines.append(f"Last model output: {cut(answer, 2_000)}")
    return cut("\n".join(lines), 20_000)


def span_timeline(spans: list[Span], by_id: dict[str, Span], *, keep: set[str]) -> list[TimelineEventCreate]:
    """One event per span in start order; beyond MAX_EVENTS, the failure's path and the earliest others."""
    chosen = spans
    if len(spans) > MAX_EVENTS:
        others = [s for s in spans if s.span_id not in keep][: max(0, MAX_EVENTS - len(keep))]
        picked = {s.span_id for s in others} | keep
        chosen = [s for s in spans if s.span_id in picked]
    events = [TimelineEventCreate(at=s.start or s.end, kind="note", description=_step(s)) for s in chosen]
    if len(chosen) < len(spans):
        last = max(s.start_ns for s in spans)
        note = f"{len(spans) - len(chosen)} more spans of this trace are not shown"
        events.append(TimelineEventCreate(at=to_datetime(last), description=note))
    return events


def _token_total(models: list[Span]) -> str:
    """' (812 input / 41 output tokens)' over the model calls, each side summed over the calls that report it and
    said so when not every call did; '' when none reports a count."""
    reported = [tokens(s) for s in models]
    sums = {side: [c[side] for c in reported if side in c] for side in ("input", "output")}
    sums = {side: found for side, found in sums.items() if found}
    if not sums:
        return ""
    text = " / ".join(f"{sum(found)} {side}" for side, found in sums.items()) + " tokens"
    partial = {side: len(found) for side, found in sums.items() if len(found) < len(models)}
    if partial and len(set(partial.values())) == 1 and len(partial) == len(sums):
        text += f", reported by {next(iter(partial.values()))} of {len(models)}"
    elif partial:
        text += "".join(f", {side} reported by {n} of {len(models)}" for side, n in partial.items())
    return f" ({text})"


def _step(span: Span) -> str:
    """One line per span: what it did, and how it failed."""
    a = span.attributes
    op = operation(span)
    took = f" ({(span.end_ns - span.start_ns) / 1e9:.2f} s)" if span.end_ns > span.start_ns > 0 else ""
    if op == "execute_tool" or a.get("gen_ai.tool.name"):
        text = f"Tool {tool_name(span) or span.name} called{took}"
        if a.get("gen_ai.tool.call.arguments") is not None:
            text += f" with {as_text(a['gen_ai.tool.call.arguments'], 600)}"
        if a.get("gen_ai.tool.call.result") is not None:
            text += f"; result: {as_text(a['gen_ai.tool.call.result'], 600)}"
    elif op in MODEL_OPS:
        by = f" by agent {name}" if (name := agent_name(span)) else ""  # which agent, in a multi-agent trace
        text = f"Model call {op} to {model_name(span) or 'a model'}{by}{took}"
        counts = tokens(span)
        if counts:
            text += ": " + " / ".join(f"{n} {side}" for side, n in counts.items()) + " tokens"
        if a.get("gen_ai.response.finish_reasons"):
            reasons = a["gen_ai.response.finish_reasons"]
            text += f", finish: {', '.join(map(str, reasons)) if isinstance(reasons, list) else reasons}"
    elif op in AGENT_OPS or a.get("gen_ai.agent.name"):
        text = f"Agent {a.get('gen_ai.agent.name') or span.name} step {op or span.name}{took}"
    else:
        text = f"Span {span.name or '(unnamed)'}{took}"
    if span.failed:
        error_type, message, _ = span_error(span)
        text += ". FAILED: " + ": ".join(dict.fromkeys(p for p in (error_type, message) if p) or ["error"])
    return fit(text, 2_000)
