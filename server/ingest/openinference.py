"""OpenInference (Arize Phoenix's instrumentations) span attributes read as their OpenTelemetry GenAI equivalents, so
that a trace from either is one incident of the same shape. Pure: attributes in, attributes out.

OpenInference names a span's role in `openinference.span.kind` (AGENT, LLM, TOOL, CHAIN, ...), a model call's model
and tokens in `llm.model_name` and `llm.token_count.prompt/completion`, its messages flattened as
`llm.input_messages.<i>.message.role/content` (a message in parts as `message.contents.<j>.message_content.type/text`,
as the OpenAI Agents SDK's instrumentation writes every Responses API message), and a tool call's name, arguments and
result in `tool.name`, `input.value` and `output.value`. A GenAI attribute already there is kept.

A failed tool call of the OpenAI Agents SDK has no exception event: the SDK records `SpanError(message="Error running
tool" (or "Error running tool (non-fatal)" when the error went back to the model), data={"tool_name": ..., "error":
str(e)})` and the OpenInference processor writes it as the span's status, `f"{message}: {data}"`, the dict as Python
prints it. `tool_error` reads the error back out of it."""

import ast
import re
from typing import Any

from agent_postmortem.ingest.genai_attributes import fill

KIND = "openinference.span.kind"
_MESSAGE = re.compile(r"^llm\.(input|output)_messages\.(\d+)\.message\.(role|content)$")
_PART = re.compile(r"^llm\.(input|output)_messages\.(\d+)\.message\.contents\.(\d+)\.message_content\.(type|text)$")
MAX_MESSAGES = 200  # of one span; the flattened keys of a hostile span are not all turned into messages
_TOOL_ERROR = re.compile(r"Error running tool(?: \(non-fatal\))?: (\{.*\})", re.DOTALL)
# An error text that starts with its exception's name ("TimeoutError: upstream took 30s"), as str() of a wrapped error
_NAMED = re.compile(r"([A-Za-z_][\w.]*(?:Error|Exception|Timeout)): (.+)", re.DOTALL)
MAX_STATUS = 100_000  # characters of a status message read as the SDK's dict; a longer one is left as it is


def as_genai(attributes: dict[str, Any], span_name: str) -> dict[str, Any]:
    """`attributes` with the GenAI names of what an OpenInference span says; unchanged for any other span."""
    kind = str(attributes.get(KIND) or "").upper()
    if not kind:
        return attributes
    out = dict(attributes)
    if kind == "LLM":
        fill(out, "gen_ai.operation.name", "chat")
        fill(out, "gen_ai.request.model", attributes.get("llm.model_name"))
        fill(out, "gen_ai.usage.input_tokens", attributes.get("llm.token_count.prompt"))
        fill(out, "gen_ai.usage.output_tokens", attributes.get("llm.token_count.completion"))
        for direction, messages in _messages(attributes).items():
            fill(out, f"gen_ai.{direction}.messages", messages)
    elif kind == "TOOL":
        fill(out, "gen_ai.operation.name", "execute_tool")
        fill(out, "gen_ai.tool.name", attributes.get("tool.name") or span_name)
        fill(out, "gen_ai.tool.call.arguments", attributes.get("input.value"))
        fill(out, "gen_ai.tool.call.result", attributes.get("output.value"))
    elif kind == "AGENT":
        fill(out, "gen_ai.operation.name", "invoke_agent")
        fill(out, "gen_ai.agent.name", attributes.get("agent.name") or span_name)
        fill(out, "gen_ai.input.messages", _user_input(attributes.get("input.value")))
    return out


def _messages(attributes: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """The flattened `llm.input_messages.<i>.message.*` as GenAI message lists (role, content), in index order; a
    message given in parts has its text parts joined as its content (images and the like are not text)."""
    found: dict[str, dict[int, dict[str, str]]] = {"input": {}, "output": {}}
    parts: dict[tuple[str, int], dict[int, dict[str, str]]] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        if (match := _MESSAGE.match(key)) and int(match[2]) < MAX_MESSAGES:
            found[match[1]].setdefault(int(match[2]), {})[match[3]] = str(value)
        elif (match := _PART.match(key)) and int(match[2]) < MAX_MESSAGES and int(match[3]) < MAX_MESSAGES:
            parts.setdefault((match[1], int(match[2])), {}).setdefault(int(match[3]), {})[match[4]] = str(value)
    for (direction, index), by_part in parts.items():
        texts = [p["text"] for _, p in sorted(by_part.items()) if p.get("text") and p.get("type", "text") == "text"]
        message = found[direction].setdefault(index, {})
        if texts and not message.get("content"):
            message["content"] = "\n".join(texts)
    return {d: [m for _, m in sorted(by_index.items())] for d, by_index in found.items() if by_index}


def _user_input(value: Any) -> list[dict[str, str]] | None:
    """An agent span's `input.value` (what it was asked) as one user message."""
    return [{"role": "user", "content": value}] if isinstance(value, str) and value.strip() else None


def tool_error(status_message: str | None) -> tuple[str | None, str] | None:
    """The error type (when the error text names it) and the error text of an OpenAI Agents SDK tool failure's status
    message (`Error running tool: {'tool_name': 'search_flights', 'error': 'upstream took 30s'}`), or None for any
    other status. The incident was "Error in search_flights" with the whole status, the SDK's dict, as its message."""
    if not status_message or len(status_message) > MAX_STATUS:
        return None
    if (found := _TOOL_ERROR.fullmatch(status_message.strip())) is None:
        return None
    try:
        data = ast.literal_eval(found[1])  # literals only: nothing in it is run
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, str) or not error.strip():
        return None
    named = _NAMED.fullmatch(error.strip())
    return (named[1], named[2].strip()) if named else (None, error.strip())
