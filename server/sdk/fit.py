"""Make what an agent's failure carries fit a capture, instead of losing the capture.

The SDK's text comes from the agent's exception and context, not from a person who could fix it: a message built
from binary data (NUL bytes, undecodable bytes kept as lone surrogates), an exception whose `__str__` raises,
arguments as a dict, or more text than a field holds. The MCP tool and the CLI refuse such values; here they are
made storable (NUL and lone surrogates as escapes, each field cut to its limit, the stack trace and description
trimmed to the capture's total), so the failure is still recorded.
"""

import json
from collections.abc import Callable
from datetime import date, datetime, time
from itertools import islice
from typing import Any, get_args

from annotated_types import MaxLen
from pydantic.fields import FieldInfo

from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.models.fields import MAX_CAPTURE_BYTES, storable
from agent_postmortem.store.redact import CUT_MARGIN, cut, within_total

KEPT_AS_GIVEN = {"idempotency_key"}  # compared exactly as sent: never altered


def message_of(error: BaseException) -> str:
    """`str(error)`, or a placeholder when the exception cannot be printed (its `__str__` raises)."""
    try:
        text = str(error)
    except Exception:
        return f"<unprintable {type(error).__name__}>"
    return text or type(error).__name__


def as_text(value: Any) -> str:
    """A context value as text: JSON for dicts, lists, tuples and sets (tool arguments), else `str`. Whatever the
    agent's objects are (cycles, keys that are not strings, datetimes, bytes, arrays, a `repr` that raises, nesting
    deeper than the JSON encoder goes), the arguments that can be read are kept."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple | set | frozenset):
        return json.dumps(_plain(value, depth=0, seen=set()), ensure_ascii=False)
    return _repr(value, str)


MAX_DEPTH = 20  # levels of nested arguments kept; deeper ones are written as "…"
MAX_ITEMS = 200  # items kept of one container, characters (x 10) of one string: a field holds 2,000 characters


def _plain(value: Any, *, depth: int, seen: set[int]) -> Any:
    """`value` as what JSON can hold: containers walked (a container inside itself is "<cycle>"), dates as ISO
    8601, anything else as its `repr`."""
    if isinstance(value, str):
        return value if len(value) <= 10 * MAX_ITEMS else cut(value, 10 * MAX_ITEMS) + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if not isinstance(value, dict | list | tuple | set | frozenset):
        return _repr(value, repr)
    if id(value) in seen:
        return "<cycle>"
    if depth >= MAX_DEPTH:
        return "…"
    seen.add(id(value))
    try:
        if isinstance(value, dict):
            items = dict(islice(value.items(), MAX_ITEMS))
            out = {_key(k): _plain(v, depth=depth + 1, seen=seen) for k, v in items.items()}
            return out | ({"…": f"{len(value) - MAX_ITEMS} more"} if len(value) > MAX_ITEMS else {})
        kept = [_plain(v, depth=depth + 1, seen=seen) for v in islice(value, MAX_ITEMS)]
        return kept + ([f"… {len(value) - MAX_ITEMS} more"] if len(value) > MAX_ITEMS else [])
    finally:
        seen.discard(id(value))


def _key(key: Any) -> str:
    return key if isinstance(key, str) else _repr(key, repr)


def _repr(value: Any, how: Callable[[Any], str]) -> str:
    if isinstance(value, bytes | bytearray) and len(value) > 10 * MAX_ITEMS:  # a payload of megabytes: its start
        return how(value[: 10 * MAX_ITEMS]) + "…"
    try:
        return how(value)
    except Exception:  # a __str__ or __repr__ that raises: the agent's object, not ours to fix
        return f"<unprintable {type(value).__name__}>"


def _own_max(metadata: Any) -> int | None:
    for meta in metadata:
        if isinstance(meta, MaxLen):
            return int(meta.max_length)
        if isinstance(meta, FieldInfo) and (inner := _own_max(meta.metadata)) is not None:
            return inner
    return None


def _max_length(annotation: Any) -> int | None:
    """The `max_length` of an annotated string type, also inside `X | None`."""
    own = _own_max(getattr(annotation, "__metadata__", ()))
    if own is not None:
        return own
    return next((n for n in map(_max_length, get_args(annotation)) if n is not None), None)


def _limit(name: str) -> int | None:
    field = IncidentCreate.model_fields.get(name)
    if field is None:
        return None
    own = _own_max(field.metadata)
    return own if own is not None else _max_length(field.annotation)


def fit(fields: dict[str, Any]) -> dict[str, Any]:
    """The text fields made storable and cut to their limits (a stack trace keeps its end, where the error is),
    then the description, stack trace, ... trimmed in turn until the capture is within its total size. Other
    values are left as given."""
    out = dict(fields)
    for name, value in fields.items():
        limit = _limit(name)
        if value is None or isinstance(value, bool) or name in KEPT_AS_GIVEN or limit is None:
            continue
        keep_end = name == "stack_trace"
        text = as_text(value)
        if len(text) > limit + CUT_MARGIN:  # megabytes from the agent: made storable only around what is kept
            text = text[-limit - CUT_MARGIN :] if keep_end else text[: limit + CUT_MARGIN]
        out[name] = cut(storable(text), limit, keep_end=keep_end)
    return within_total(out, MAX_CAPTURE_BYTES, IncidentCreate.trimmed_first)
