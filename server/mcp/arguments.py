"""What a tool's arguments must be, said from the input schema the client was shown, for arguments that failed it."""

from typing import Any

from pydantic import ValidationError


def argument_problems(schema: dict[str, Any], error: ValidationError | list[str]) -> str:
    """One sentence for arguments that failed a tool's input schema (a validation error, or the names of arguments
    refused before it): each argument named with what it allows, from the schema the client was shown. Never the
    rejected value (it may be a secret)."""
    properties: dict[str, Any] = schema.get("properties", {})
    missing: dict[str, bool] = {}
    if isinstance(error, list):
        missing = dict.fromkeys(error, False)
    for e in [] if isinstance(error, list) else error.errors(include_input=False, include_url=False):
        name = str(e["loc"][0]) if e["loc"] else "arguments"
        missing[name] = missing.get(name, False) or e["type"] == "missing"
    parts = [
        f"{name} is required: {_allowed(properties.get(name, {}))}"
        if absent
        else f"{name} must be {_allowed(properties.get(name, {}))}"
        for name, absent in missing.items()
    ]
    noun = "argument" if len(parts) == 1 else "arguments"
    return f"Invalid {noun}: {'; '.join(parts)}."


def _allowed(prop: dict[str, Any]) -> str:
    branches = [b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"]
    choices = [str(v) for b in branches for v in b.get("enum", [])]
    kind: dict[str, Any] = next((b for b in branches if "type" in b), {})
    if choices:
        text = "one of " + ", ".join(choices)
    elif kind.get("type") in ("integer", "number"):
        text = ("an integer" if kind["type"] == "integer" else "a number") + _range(kind)
    elif kind.get("type") == "string":
        text = "text" + _length(kind)
    elif kind.get("type") == "boolean":
        text = "true or false"
    else:
        text = "a valid value"
    description = prop.get("description")
    return f"{text} ({description})" if description and len(description) <= 120 else text


def _range(schema: dict[str, Any]) -> str:
    low, high = _number(schema.get("minimum")), _number(schema.get("maximum"))
    if low is not None and high is not None:
        return f" between {low} and {high}"
    bounds = [
        f"at least {low}" if low is not None else None,
        f"greater than {_number(schema['exclusiveMinimum'])}" if "exclusiveMinimum" in schema else None,
        f"at most {high}" if high is not None else None,
        f"less than {_number(schema['exclusiveMaximum'])}" if "exclusiveMaximum" in schema else None,
    ]
    found = [b for b in bounds if b]
    return " " + " and ".join(found) if found else ""


def _number(value: object) -> str | None:
    """A bound as a person reads it: 1,000,000,000,000,000 rather than 1000000000000000."""
    if value is None:
        return None
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _length(schema: dict[str, Any]) -> str:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if high is None:
        return f" of at least {low} characters" if low else ""
    return f" of {low} to {high} characters" if low else f" of at most {high} characters"
