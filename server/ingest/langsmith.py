"""LangSmith's OpenTelemetry spans (LANGSMITH_OTEL_ENABLED: LangChain and LangGraph runs) read as GenAI ones, so that
a LangGraph agent's failed tool is an incident of the same shape as any other. Pure: attributes in, attributes out.

LangSmith names a run's type in `langsmith.span.kind` (llm, tool, chain, ...) and `gen_ai.operation.name`, but
gives a tool's name only as the span's name, and a run's inputs and outputs as JSON in `gen_ai.prompt` and
`gen_ai.completion`: `{"input": ...}` and `{"output": ...}` for a tool; for a model call and a graph, messages
as LangChain serialises them (`{"lc": 1, "id": [..., "HumanMessage"], "kwargs": {"content": ...}}`), as
`("user", text)` pairs or as role/content dicts, under `messages` (a chat model's as a list of lists) or
`generations`. Without this the incident was "Exception in <service>", with no tool, arguments or prompt.
A GenAI attribute already there is kept."""

from typing import Any

from agent_postmortem.ingest.genai_attributes import NOTHING, fill, json_object

KIND = "langsmith.span.kind"
MAX_MESSAGES = 200  # of one span
_ROLES = {"human": "user", "user": "user", "ai": "assistant", "assistant": "assistant", "system": "system"}
_ROLES |= {"tool": "tool", "function": "tool", "humanmessage": "user", "aimessage": "assistant"}
_ROLES |= {"systemmessage": "system", "toolmessage": "tool", "aimessagechunk": "assistant"}


def as_genai(attributes: dict[str, Any], span_name: str) -> dict[str, Any]:
    """`attributes` with the GenAI names of what a LangSmith span says; unchanged for any other span."""
    kind = str(attributes.get(KIND) or "").lower()
    if not kind:
        return attributes
    out = dict(attributes)
    inputs, outputs = json_object(attributes.get("gen_ai.prompt")), json_object(attributes.get("gen_ai.completion"))
    if kind == "tool":
        _fill(out, "gen_ai.tool.name", span_name)
        _fill(out, "gen_ai.tool.call.arguments", inputs.get("input", inputs or None))
        _fill(out, "gen_ai.tool.call.result", outputs.get("output"))
    else:
        _fill(out, "gen_ai.input.messages", _messages(inputs.get("messages")))
        generations = outputs.get("generations")
        rows = generations if isinstance(generations, list) else []
        flat = [g for row in rows for g in (row if isinstance(row, list) else [row])]
        _fill(out, "gen_ai.output.messages", _messages([g.get("message", g) for g in flat if isinstance(g, dict)]))
    return out


def _fill(out: dict[str, Any], key: str, value: Any) -> None:
    fill(out, key, value, nothing=(*NOTHING, {}))  # a run's empty inputs or outputs ({}) say nothing either


def _messages(raw: Any) -> list[dict[str, str]] | None:
    """Role/content messages from LangChain's forms of them; a chat model's batch (a list of lists) as its last row."""
    if not isinstance(raw, list) or not raw:
        return None
    if all(isinstance(m, list) and not _is_pair(m) for m in raw):
        raw = raw[-1]
    found = [m for m in (_message(item) for item in raw[:MAX_MESSAGES]) if m]
    return found or None


def _is_pair(item: list[Any]) -> bool:
    return len(item) == 2 and all(isinstance(x, str) for x in item)


def _message(item: Any) -> dict[str, str] | None:
    if isinstance(item, list) and _is_pair(item):  # ("user", "text")
        role, content = item
    elif isinstance(item, dict):
        body = item.get("kwargs") if isinstance(item.get("kwargs"), dict) else item.get("data", item)
        if not isinstance(body, dict):
            return None
        names = item.get("id")
        role = str(body.get("role") or body.get("type") or item.get("type") or "")
        if isinstance(names, list) and names and role.lower() not in _ROLES:
            role = str(names[-1])
        content = _text(body.get("content"))
    else:
        return None
    role = _ROLES.get(str(role).lower(), str(role).lower())
    return {"role": role, "content": content} if content else None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # parts: {"type": "text", "text": ...} or plain strings
        parts = [p if isinstance(p, str) else p.get("text") for p in content if isinstance(p, str | dict)]
        return "\n".join(p for p in parts if isinstance(p, str) and p)
    return ""
