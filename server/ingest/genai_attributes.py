"""What the readers that turn a framework's span attributes into OpenTelemetry GenAI ones (OpenInference,
OpenLLMetry, LangSmith) share: filling a GenAI name without overwriting it, and reading an attribute's JSON."""

from typing import Any

from agent_postmortem.ingest.json_input import JsonInputError, loads

NOTHING: tuple[Any, ...] = (None, "", [])  # values that say nothing: a GenAI attribute is not filled with them


def fill(out: dict[str, Any], key: str, value: Any, *, nothing: tuple[Any, ...] = NOTHING) -> None:
    """Set `out[key]` to `value` unless `value` says nothing or `out` already has a value there."""
    if value not in nothing and out.get(key) in (None, ""):
        out[key] = value


def json_object(raw: Any) -> dict[str, Any]:
    """The JSON object an attribute holds (as text or already parsed); {} for anything else."""
    if isinstance(raw, str):
        try:
            raw = loads(raw)  # nesting limited: a span's attribute is no place for a RecursionError
        except JsonInputError:
            return {}
    return raw if isinstance(raw, dict) else {}
