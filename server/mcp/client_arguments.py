"""Arguments as MCP clients send them, read against the tool's input schema before it is validated: null or an
empty choice is an absent argument, a choice in another spelling (or in quotes or backticks) is the value it stands
for, a list of one value is that value, a number sent as the JSON text of one is that number (a fraction sent as a
percentage, "5%", is that fraction); an argument the tool
does not take, a boolean where none is taken, or several values for one choice is refused with what to send
instead."""

import re
from typing import Any, cast

from mcp.server.mcpserver.exceptions import ToolError

from agent_postmortem.ingest.json_input import JsonInputError, loads
from agent_postmortem.mcp.arguments import argument_problems
from agent_postmortem.store.models.actions import owner_named


def checked(schema: dict[str, Any], name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments without those that stand for an absent optional argument (_absent); ToolError for one the tool
    does not take, naming those it takes and not the one sent (a model wrote it: it may be anything)."""
    known: dict[str, Any] = schema.get("properties", {})
    arguments = _renamed(known, arguments)
    unknown = [k for k in arguments if k not in known]
    if unknown:
        sent = "1 argument it does not take was" if len(unknown) == 1 else f"{len(unknown)} it does not take were"
        takes = f"takes only: {', '.join(known)}" if known else "takes no arguments"  # not "takes only: no arguments"
        raise ToolError(f"{name} {takes}; {sent} sent. Leave those out and call again.")
    required = set(schema.get("required", []))
    flags = [k for k, v in arguments.items() if isinstance(v, bool) and not _takes(known[k], "boolean")]
    if flags:  # pydantic reads true as 1: `limit: true` listed one incident
        raise ToolError(argument_problems(schema, flags))
    arguments = {k: _one(v) if _choices(known[k]) else _number(known[k], v) for k, v in arguments.items()}
    several = [k for k, v in arguments.items() if _choices(known[k]) and _several(_choices(known[k]), v)]
    if several:  # "must be one of a, b, c" of ["a", "b"] read as if the values were wrong
        said = "; ".join(f"{k} takes one value, one of {', '.join(_choices(known[k]))}" for k in several)
        noun = "argument" if len(several) == 1 else "arguments"
        raise ToolError(f"Invalid {noun}: {said}. Call once for each value wanted.")
    return {k: _choice(known[k], v) for k, v in arguments.items() if k in required or not _absent(known[k], v)}


def _renamed(known: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments with `owner_role` (a proposed item's name for it) read as `owner` by a tool that takes `owner`:
    add_action_item refused it without saying which argument it did not take. The model's own rule
    (`owner_named`) decides; ToolError when the two name different owners."""
    if "owner_role" in known or "owner" not in known:
        return arguments
    try:
        renamed = cast(dict[str, Any], owner_named(arguments, "owner", "owner_role"))  # a dict in, a dict out
    except ValueError as e:
        raise ToolError(f"{e}. Call again.") from None
    return renamed


def _absent(schema: dict[str, Any], value: Any) -> bool:
    """null for an optional argument, or empty text for an optional choice: clients that fill every argument send
    "" for the choices not meant (`"category": ""` was "category must be one of ..." on every list and search), as
    an empty text argument is absent already."""
    return value is None or (isinstance(value, str) and not value.strip() and bool(_choices(schema)))


def _choice(schema: dict[str, Any], value: Any) -> Any:
    """A choice sent in another case, with spaces around it or with words joined by a space or a hyphen ("Accept",
    " sev3 ", "HTML", "rate limit", "in-progress") as the one value of the argument's enum it stands for; anything
    else as sent, for validation to judge."""
    if not isinstance(value, str):
        return value
    choices = _choices(schema)
    matches = [c for c in choices if _spelling(c) == _spelling(value)]
    return matches[0] if len(matches) == 1 else value


def _choices(schema: dict[str, Any]) -> list[str]:
    return [c for s in (schema, *schema.get("anyOf", [])) for c in s.get("enum", []) if isinstance(c, str)]


def _one(value: Any) -> Any:
    """A list of one value (`["timeout"]`, or its JSON text) as that value; anything else as sent."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = loads(value)  # nesting limited: 10 KB of `[[[...]]]` were a RecursionError told to the client
        except JsonInputError:
            return value
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _number(schema: dict[str, Any], value: Any) -> Any:
    """A number or a flag sent as the JSON text of one (`"\\"27\\""`, `"\\"0.05\\""`, `"\\"true\\""`: the Inspector CLI
    sends an optional number's value so, quotes and all) as that number or flag; anything else as sent. Bare digits
    or words in text ("27", "yes") pydantic reads already."""
    integer, number, flag = _takes(schema, "integer"), _takes(schema, "number"), _takes(schema, "boolean")
    if not isinstance(value, str) or not (integer or number or flag) or _takes(schema, "string"):
        return value
    percent = re.fullmatch(r"(\d{1,3}(?:\.\d{1,12})?)\s*%", unquoted(value.strip()))
    if number and percent and _fraction(schema) and float(percent.group(1)) <= 100:
        return float(percent.group(1)) / 100  # a rate typed as a percentage: "5%" for 0.05
    text = value.strip()
    if len(text) < 3 or text[0] != text[-1] or text[0] not in "\"'":
        return value
    inner = text[1:-1].strip()
    if flag:
        return inner
    if re.fullmatch(r"-?\d{1,18}", inner):
        return int(inner)
    return float(inner) if number and re.fullmatch(r"-?\d{0,18}\.\d{1,18}", inner) else value


def _fraction(schema: dict[str, Any]) -> bool:
    """Whether a number argument is a fraction (at most 1: a rate or a confidence), so a percentage stands for one."""
    return any(
        "number" == s.get("type") and min(s.get("maximum", 2), s.get("exclusiveMaximum", 2)) <= 1
        for s in (schema, *schema.get("anyOf", []))
    )


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's input schema with each optional number, integer or flag as `anyOf` that value or null, as null for an
    optional argument is read (its absence). A client that converts what was typed by the schema's top-level type
    converts these no more: the Inspector CLI made `limit="2"` Number('"2"'), NaN, sent as null, and the list had its
    default length without a word; `user_facing=yes` was false. Sent as typed, the server reads it or says what is
    wrong."""
    required = set(schema.get("required", []))
    properties = dict(schema.get("properties", {}))
    for name, prop in properties.items():
        if name not in required and prop.get("type") in ("integer", "number", "boolean"):
            kept = {k: v for k, v in prop.items() if k in _ABOUT}
            properties[name] = {"anyOf": [{k: v for k, v in prop.items() if k not in _ABOUT}, {"type": "null"}], **kept}
    return {**schema, "properties": properties}


_ABOUT = ("default", "description", "title")


def _several(choices: list[str], value: Any) -> bool:
    """Whether a choice was sent as several of them: a list, or text joined by commas, "|" or "or"."""
    if isinstance(value, list):
        return len(value) > 1
    if not isinstance(value, str):
        return False
    parts = [p for p in re.split(r"\s*(?:[,|;/]|\bor\b|\band\b)\s*", value.strip(" []")) if p.strip(" '\"")]
    spelled = {_spelling(c) for c in choices}
    return len(parts) > 1 and all(_spelling(p.strip(" '\"")) in spelled for p in parts)


def _takes(schema: dict[str, Any], kind: str) -> bool:
    """Whether an argument's schema allows a value of this JSON type (directly or as one branch of anyOf)."""
    return any(s.get("type") == kind for s in (schema, *schema.get("anyOf", [])))


def _spelling(choice: str) -> str:
    """A choice without case, without what joins its parts and without quotes or backticks around it: "SEV 2",
    "sev-2", "in progress", "RateLimit" and '"mitigated"' (its JSON text, from a client that encodes every argument
    once more) are SEV2, in_progress, rate_limit and mitigated (no two values of one argument differ only in those)."""
    return re.sub(r"[\s_-]+", "", unquoted(choice)).casefold()


def unquoted(text: str) -> str:
    """Text without the quotes or backticks a model wrote around a value (`"2026-12-31"`, `` `note` ``)."""
    return text.strip().strip("\"'`").strip()


_FENCED = re.compile(r"```[\w+-]*[ \t]*\n(.*?)\n?[ \t]*```", re.DOTALL)


def fenced_json(text: str) -> str:
    """JSON a model sent in a code fence, with or without prose around it ("Here are the args:\n```json\n{...}\n```"),
    is the JSON inside: tool_args were stored fences and prose included, and the regression case learnt from the
    incident gave them as the arguments to replay. Text with no fence holding one JSON object or array, as sent."""
    blocks: list[str] = _FENCED.findall(text) if "```" in text else []
    for block in blocks:
        try:
            value = loads(block)  # nesting limited: 2,000 characters of `[[[...]]]` were a RecursionError
        except JsonInputError:
            continue
        if isinstance(value, dict | list):
            return block.strip()
    return text
