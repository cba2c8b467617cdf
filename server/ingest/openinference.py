"""OpenInference (Arize Phoenix's instrumentations) span attributes read as their OpenTelemetry GenAI equivalents, so
that a trace from either is one incident of the same shape. Pure: attributes in, attributes out.

OpenInference names a span's role in `openinference.span.kind` (AGENT, LLM, TOOL, CHAIN, ...), a model call's model
and tokens in `llm.model_name` and `llm.token_count.prompt/completion`, its messages flattened as
`llm.input_messages.<i>.message.role/content`, and a tool call's name, arguments and result in `tool.name`,
`input.value` and `output.value`. A GenAI attribute already there is kept."""

import re
from typing import Any

KIND = "openinference.span.kind"
_MESSAGE = re.compile(r"^llm\.(input|output)_messages\.(\d+)\.message\.(role|content)$")
MAX_MESSAGES = 200  # of one span; the flattened keys of a hostile span are not all turned into messages


def as_genai(attributes: dict[str, Any], span_name: str) -> dict[str, Any]:
    """`attributes` with the GenAI names of what an OpenInference span says; unchanged for any other span."""
    kind = str(attributes.get(KIND) or "").upper()
    if not kind:
        return attributes
    out = dict(attributes)
    if kind == "LLM":
        _fill(out, "gen_ai.operation.name", "chat")
        _fill(out, "gen_ai.request.model", attributes.get("llm.model_name"))
        _fill(out, "gen_ai.usage.input_tokens", attributes.get("llm.token_count.prompt"))
        _fill(out, "gen_ai.usage.output_tokens", attributes.get("llm.token_count.completion"))
        for direction, messages in _messages(attributes).items():
            _fill(out, f"gen_ai.{direction}.messages", messages)
    elif kind == "TOOL":
        _fill(out, "gen_ai.operation.name", "execute_tool")
        _fill(out, "gen_ai.tool.name", attributes.get("tool.name") or span_name)
        _fill(out, "gen_ai.tool.call.arguments", attributes.get("input.value"))
        _fill(out, "gen_ai.tool.call.result", attributes.get("output.value"))
    elif kind == "AGENT":
        _fill(out, "gen_ai.operation.name", "invoke_agent")
        _fill(out, "gen_ai.agent.name", attributes.get("agent.name") or span_name)
        _fill(out, "gen_ai.input.messages", _user_input(attributes.get("input.value")))
    return out


def _fill(out: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, "", []) and out.get(key) in (None, ""):
        out[key] = value


def _messages(attributes: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """The flattened `llm.input_messages.<i>.message.*` as GenAI message lists (role, content), in index order."""
    found: dict[str, dict[int, dict[str, str]]] = {"input": {}, "output": {}}
    for key, value in attributes.items():
        match = _MESSAGE.match(key)
        if match and value is not None and int(match[2]) < MAX_MESSAGES:
            found[match[1]].setdefault(int(match[2]), {})[match[3]] = str(value)
    return {d: [m for _, m in sorted(by_index.items())] for d, by_index in found.items() if by_index}


def _user_input(value: Any) -> list[dict[str, str]] | None:
    """An agent span's `input.value` (what it was asked) as one user message."""
    return [{"role": "user", "content": value}] if isinstance(value, str) and value.strip() else None
