"""What one span of a trace says, read by the OpenTelemetry GenAI semantic conventions: its operation, tool, model,
agent and token counts, and its error (type, message, stack trace), each as text of bounded length."""

import json
import re
from typing import Any

from agent_postmortem.ingest import openinference
from agent_postmortem.ingest.otlp import Span
from agent_postmortem.store.redact import cut


def span_error(span: Span) -> tuple[str | None, str | None, str | None]:
    exc = next((e.attributes for e in span.events if e.name == "exception"), {})
    error_type = as_text(exc.get("exception.type") or span.attributes.get("error.type"), 200) or None
    message = as_text(exc.get("exception.message"), 2_000) or span.status_message or None
    if not exc and (said := openinference.tool_error(span.status_message)):  # the OpenAI Agents SDK's tool error
        error_type, message = error_type or said[0], as_text(said[1], 2_000)
    if message is None and span.attributes.get("gen_ai.tool.call.result") is not None:
        message = as_text(span.attributes["gen_ai.tool.call.result"], 2_000)
    stack = as_text(exc.get("exception.stacktrace"), 20_000) or None
    if error_type in (None, "Exception", "builtins.Exception") and message and _TRACEBACK in message:
        return _unwrapped(as_text(exc.get("exception.message"), 20_000) or message) or (error_type, message, stack)
    return error_type, message, stack


_TRACEBACK = "Traceback (most recent call last):"
_RAISED = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")  # a traceback's last line: "module.Type: message"


def _unwrapped(text: str) -> tuple[str, str | None, str] | None:
    """A generic `Exception` whose message is another exception's Python traceback (LangChain's run error, which
    LangSmith's OpenTelemetry export records as `Exception(repr(e) + traceback)`): that exception's type and message
    from the traceback's last line, the traceback as the stack trace (None when there is no such line). It was
    "Exception in <service>" with the whole traceback as its message."""
    trace = text[text.index(_TRACEBACK) :]
    lines = [line for line in trace.splitlines() if line.strip()]
    last_frame = max((i for i, line in enumerate(lines) if line.startswith("  File ")), default=0)
    at = next((i for i in range(last_frame + 1, len(lines)) if not lines[i].startswith(" ")), None)
    raised = _RAISED.match(lines[at]) if at is not None else None
    if at is None or raised is None:
        return None
    stack = "\n".join(lines)
    message = "\n".join([raised[2] or "", *lines[at + 1 :]]).strip()
    return raised[1][:200], cut(message, 2_000) or None, cut(stack, 20_000, keep_end=True)


def tool_name(span: Span) -> Any:
    """`gen_ai.tool.name`, else a tool call's span name (the conventions name it `execute_tool <tool>`; the name
    attribute is only recommended, and a failed call without it was titled after the agent, with no tool)."""
    if span.attributes.get("gen_ai.tool.name") or operation(span) != "execute_tool":
        return span.attributes.get("gen_ai.tool.name")
    return span.name.removeprefix("execute_tool ").strip() or None


def model_name(span: Span) -> str | None:
    value = span.attributes.get("gen_ai.response.model") or span.attributes.get("gen_ai.request.model")
    return str(value) if value else None


def operation(span: Span) -> str:
    return str(span.attributes.get("gen_ai.operation.name") or "")


def tokens(span: Span) -> dict[str, int]:
    """The token counts the span reports, by side ("input", "output"): a count it does not report (or that is not a
    number) is left out, not read as 0, which said a model call that reported only its input had answered nothing."""
    counts: dict[str, int] = {}
    for side in ("input", "output"):
        value: Any = span.attributes.get(f"gen_ai.usage.{side}_tokens")
        if isinstance(value, bool):
            continue
        try:
            counts[side] = int(value)
        except (TypeError, ValueError, OverflowError):
            continue
    return counts


def as_text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else cut(text, limit - 1) + "…"


def agent_name(span: Span) -> str | None:
    """The span's `gen_ai.agent.name` on one line, as long as a name may be; None without one."""
    value = span.attributes.get("gen_ai.agent.name")
    return short(" ".join(str(value).split())) if value else None


def short(value: Any) -> str | None:
    return str(value)[:200] if value else None
