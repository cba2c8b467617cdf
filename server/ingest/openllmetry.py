"""OpenLLMetry's span attributes (Traceloop's SDK and its `opentelemetry-instrumentation-*` packages) read as their
OpenTelemetry GenAI equivalents, so that a trace from it is one incident of the same shape. Pure: attributes in,
attributes out.

The SDK's decorators name a span's role in `traceloop.span.kind` (workflow, agent, task, tool), the function in
`traceloop.entity.name` and its call as JSON in `traceloop.entity.input` (`{"args": [...], "kwargs": {...}}`) and
`traceloop.entity.output`. A model call (`openai.chat`, `anthropic.chat`, ...) has no kind: `llm.request.type` (chat,
completion, embedding), the messages flattened as `gen_ai.prompt.<i>.role/content` and
`gen_ai.completion.<i>.role/content`, and the tokens as `gen_ai.usage.prompt_tokens/completion_tokens`. Without this
the incident was "KeyError in <service>", with no tool, arguments, agent or prompt, and counted no tool or model call.
A GenAI attribute already there is kept."""

import json
import re
from typing import Any

from agent_postmortem.ingest.genai_attributes import fill, json_object

KIND = "traceloop.span.kind"
REQUEST_TYPE = "llm.request.type"
_OPERATIONS = {"chat": "chat", "completion": "text_completion", "embedding": "embeddings"}
_MESSAGE = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.(role|content)$")
_DIRECTIONS = {"prompt": "input", "completion": "output"}
MAX_MESSAGES = 200  # of one span; the flattened keys of a hostile span are not all turned into messages


def as_genai(attributes: dict[str, Any], span_name: str) -> dict[str, Any]:
    """`attributes` with the GenAI names of what an OpenLLMetry span says; unchanged for any other span."""
    kind = str(attributes.get(KIND) or "").lower()
    request_type = str(attributes.get(REQUEST_TYPE) or "").lower()
    if not kind and not request_type:
        return attributes
    out = dict(attributes)
    name = attributes.get("traceloop.entity.name") or span_name.removesuffix(f".{kind}")
    call = json_object(attributes.get("traceloop.entity.input"))
    if request_type:
        fill(out, "gen_ai.operation.name", _OPERATIONS.get(request_type))
        fill(out, "gen_ai.usage.input_tokens", attributes.get("gen_ai.usage.prompt_tokens"))
        fill(out, "gen_ai.usage.output_tokens", attributes.get("gen_ai.usage.completion_tokens"))
        for direction, messages in _messages(attributes).items():
            fill(out, f"gen_ai.{direction}.messages", messages)
    elif kind == "tool":
        fill(out, "gen_ai.operation.name", "execute_tool")
        fill(out, "gen_ai.tool.name", name)
        fill(out, "gen_ai.tool.call.arguments", _arguments(call))
        fill(out, "gen_ai.tool.call.result", attributes.get("traceloop.entity.output"))
    elif kind in ("workflow", "agent"):
        fill(out, "gen_ai.operation.name", "invoke_agent")
        fill(out, "gen_ai.agent.name", name)
        asked = next((a for a in [*_list(call.get("args")), *_dict(call.get("kwargs")).values()] if _text(a)), None)
        fill(out, "gen_ai.input.messages", [{"role": "user", "content": asked}] if asked else None)
    return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _arguments(call: dict[str, Any]) -> str | None:
    """A tool's arguments: its keyword arguments as JSON when it had only those (as a model's tool call gives them),
    else the call as the SDK wrote it."""
    args, kwargs = _list(call.get("args")), _dict(call.get("kwargs"))
    if not args and not kwargs:
        return None
    return json.dumps(kwargs if not args else {"args": args, "kwargs": kwargs}, ensure_ascii=False)


def _messages(attributes: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """The flattened `gen_ai.prompt.<i>.role/content` (and completions) as GenAI message lists, in index order."""
    found: dict[str, dict[int, dict[str, str]]] = {"input": {}, "output": {}}
    for key, value in attributes.items():
        if value is not None and (match := _MESSAGE.match(key)) and int(match[2]) < MAX_MESSAGES:
            found[_DIRECTIONS[match[1]]].setdefault(int(match[2]), {})[match[3]] = str(value)
    return {d: [m for _, m in sorted(by_index.items())] for d, by_index in found.items() if by_index}
