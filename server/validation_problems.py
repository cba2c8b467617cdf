"""Validation errors said in one line, by field and never with the rejected value: every entry point reports them
so."""

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic stays off `postmortem --help`
    from pydantic import BaseModel, ValidationError
    from pydantic_core import ErrorDetails

# pydantic's own sentences for text that is no time ("Input should be a valid datetime or date, unexpected extra
# characters at the end of the input") say what its parser met, not what to send: one sentence with an example.
ISO_TIME = "expected an ISO 8601 date or time (2026-12-15 or 2026-12-15T10:00:00Z)"
_NO_TIME = frozenset(
    {"datetime_parsing", "datetime_from_date_parsing", "datetime_type", "date_parsing", "date_from_datetime_parsing"}
)
# pydantic's sentence for what is not an object names the model ("instance of StepRun"), which no file or user knows
_SAID = {**dict.fromkeys(_NO_TIME, ISO_TIME), "model_type": "expected a JSON object"}

# The JSON parser's words for text it could not read (pydantic's `json_invalid`: "EOF while parsing a string at line 1
# column 86"), said as what is wrong in the text; its place is kept, in words.
_JSON_FAULTS = (
    ("trailing comma", "a comma before a closing bracket"),
    ("trailing characters", "more text after the JSON"),
    ("key must be a string", "a key not in double quotes"),
    ("expected `:`", "a key without a colon after it"),
    ("expected `,` or", "a missing comma or closing bracket"),
    (
        "control character",
        "a raw control character inside a string (a line break, a tab or an ESC: write it as \\n, \\t or \\u001b)",
    ),
    ("invalid escape", "a backslash that starts no JSON escape (write one as \\\\)"),
    ("invalid unicode", "a \\u escape that is no character"),
    ("expected ident", "a word that is not a JSON value (true, false and null are)"),
    ("expected value", "something that is not a JSON value"),
)
_AT = re.compile(r"\s*at line (\d+) column (\d+)$")


def validation_problems(
    error: "ValidationError",
    *,
    limit: int = 10,
    within: Sequence[str | int] = (),
    name_keys: bool = True,
    names: Mapping[str, str] | None = None,
    schema: "type[BaseModel] | None" = None,
    unknown_keys: str = "",
) -> str:
    """What is wrong with validated input, and where, in one line: `timeline.0.at: expected an ISO 8601 date or
    time (...); title: Field required; and 2 more`. Every entry point reports validation this one way, never with the
    rejected value (it may be a secret). The whole record (not an object, a cross-field rule) is `(record)`, or
    `within`, the path of the record in the input. `name_keys=False` for text written by a model: an unexpected key
    is then named by where it is, not by the key itself (which the model wrote), with the keys `schema` takes there.
    `names` renames a top-level field to what the user gave it as (a command-line option). `unknown_keys` puts the
    record's own unexpected keys first, in one sentence that begins with it: a file of another format had 20 of them,
    told one a sentence and cut after three."""
    errors = error.errors(include_input=False, include_url=False)
    parts: list[str] = []
    if unknown_keys and (keys := [_path(e["loc"][:1]) for e in errors if _own_key(e)]):
        shown = ", ".join(keys[:12]) + (f" and {len(keys) - 12} more" if len(keys) > 12 else "")
        parts.append(f"{unknown_keys}: {shown}")
        errors = [e for e in errors if not _own_key(e)]
    for e in errors:
        loc = [*within, *e["loc"]]
        if names and loc and isinstance(loc[0], str) and loc[0] in names:
            loc[0] = names[loc[0]]
        if e["type"] == "extra_forbidden" and not name_keys:
            takes = _keys_at(schema, e["loc"][:-1])
            said = f"it takes: {', '.join(takes)}" if takes else "remove keys not in the schema"
            part = f"{_path(loc[:-1])}: unexpected key ({said})"
            if part not in parts:  # one sentence per place, however many keys it has
                parts.append(part)
        elif e["type"] == "value_error":  # a rule's own sentence: "Value error, " is pydantic's wrapping
            said = e["msg"].removeprefix("Value error, ")
            parts.append(f"{_path(loc)}: {said}" if loc else said)
        elif e["type"] == "json_invalid":
            parts.append(_json_fault(str(e.get("ctx", {}).get("error", ""))))
        elif e["type"] in _SAID:
            parts.append(f"{_path(loc)}: {_SAID[e['type']]}")
        elif e["type"] == "string_too_long" and e["loc"] == ("title",):  # a whole report pasted as the title
            rest = (names or {}).get("description", "description")
            parts.append(f"{_path(loc)}: {e['msg']}: one line says what went wrong, the rest goes in {rest}")
        else:
            parts.append(f"{_path(loc)}: {e['msg']}")
    more = f"; and {len(parts) - limit} more" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more


def _json_fault(error: str) -> str:
    """The parser's words for JSON it could not read, said plainly, with where."""
    at = _AT.search(error)
    where = f" at line {at.group(1)}, column {at.group(2)}" if at else ""
    if error.startswith("EOF while parsing"):
        return f"the JSON is not complete: it stops{where} with a bracket or a quote still open"
    said = next((fault for start, fault in _JSON_FAULTS if error.startswith(start)), "text that is not JSON")
    return f"not valid JSON{where}: {said}"


def _own_key(e: "ErrorDetails") -> bool:
    return e["type"] == "extra_forbidden" and len(e["loc"]) == 1


def _keys_at(schema: "type[BaseModel] | None", loc: Sequence[str | int]) -> list[str]:
    """The keys the object at `loc` of `schema` takes (list indexes skipped), or none when it is not a model."""
    from pydantic import BaseModel

    model = schema
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model is not None else None
        model = _model_in(field.annotation) if field is not None else None
    return list(model.model_fields) if model is not None and issubclass(model, BaseModel) else []


def _model_in(annotation: object) -> "type[BaseModel] | None":
    """The model a field holds: itself, or inside a list or an optional (`list[DraftWhy]`, `Factor | None`)."""
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _path(loc: Sequence[str | int]) -> str:
    """Where a problem is; redacted, as the store redacts keys: a key of the input can be a secret (`{"ghp_…": 1}`)."""
    path = ".".join(str(p) for p in loc)
    if not path:
        return "(record)"
    from agent_postmortem.store.redact import redact  # here: `postmortem --help` reads no pattern

    return redact(path)
