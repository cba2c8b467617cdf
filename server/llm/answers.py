"""What every LLM path does with an answer (the configured LLM, the client's model through sampling, the local
server): find the JSON object in it, say what is wrong with it, and ask once for a repair."""

import json
import re

from pydantic import BaseModel, ValidationError

from agent_postmortem import prompts
from agent_postmortem.errors import validation_problems

_FENCE = re.compile(r"```[a-zA-Z]*\s*\n(.*?)```", re.DOTALL)
_OPENING_FENCE = re.compile(r"```[a-zA-Z]*\s*\n\s*(?=\{)")


def extract_json(text: str) -> str:
    """The JSON object in a model's answer, wherever it sits: bare, in a ``` fence, or among prose ("Here is the
    analysis: {...} Let me know if..."). The longest object that parses wins, so a `{}` in the prose does not, nor
    the JSON schema the model was given and repeated; a fenced one is preferred. With none that parses, the text
    from the first `{` (or all of it) is returned, so the validator says what is wrong with it (cut off, not JSON).
    Every LLM path uses this: sampling, OpenAI-compatible endpoints and the local server. Text that is one JSON
    string (the object's JSON encoded once more, as a client that serialises an argument already serialised sends
    it) is read as the text it holds."""
    inner = _json_string(text)
    if inner is not None:
        return extract_json(inner)
    found = _fenced_object(text)
    if found is not None:
        return found
    for block in _FENCE.findall(text):
        found = _longest_object(block)
        if found is not None:
            return found
    found = _longest_object(text)
    if found is not None:
        return found
    start = text.find("{")
    return text[start:].strip() if start >= 0 else text.strip()


def _fenced_object(text: str) -> str | None:
    """The object that opens a ``` fence, read as JSON to its end: a ``` inside one of its strings (an analysis
    quoting a code fence) does not end it, as it would end the fence's text."""
    decoder = json.JSONDecoder()
    for opening in _OPENING_FENCE.finditer(text):
        try:
            value, end = decoder.raw_decode(text, opening.end())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and not _is_schema(value):
            return text[opening.end() : end]
    return None


def _json_string(text: str) -> str | None:
    stripped = text.strip()
    if not stripped.startswith('"'):
        return None
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, str) else None


def _longest_object(text: str) -> str | None:
    decoder = json.JSONDecoder()
    best: str | None = None
    matching = True
    at = text.find("{")
    while at >= 0:
        try:
            value, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError as e:
            # an object inside a broken one (a trailing comma in the analysis) is a part of it, not the answer: it
            # would be validated in its place, and the error would name every field as missing
            closed = _closing(text, at) if matching else None
            matching = closed is not None  # once a brace is never closed, scanning again would only cost time
            end = closed or max(e.pos, at + 1)
        else:
            if isinstance(value, dict) and not _is_schema(value) and (best is None or end - at > len(best)):
                best = text[at:end]
        at = text.find("{", end)
    return best


def _closing(text: str, at: int) -> int | None:
    """Just past the `}` that closes the `{` at `at` (braces inside JSON strings skipped), or None when none does."""
    depth, quoted, escaped = 0, False, False
    for n in range(at, len(text)):
        c = text[n]
        if quoted:
            escaped, quoted = (not escaped and c == "\\"), quoted and (escaped or c != '"')
        elif c == '"':
            quoted = True
        elif c in "{}":
            depth += 1 if c == "{" else -1
            if depth == 0:
                return n + 1
    return None


def _is_schema(value: dict[str, object]) -> bool:
    """A JSON schema the model repeated (the one it was given), not its answer: no answer has these keys."""
    return "$defs" in value or ("properties" in value and value.get("type") == "object")


def repair_request(problems: str, *, truncated: bool) -> str:
    """What every LLM path says in its one repair round: what was wrong with the answer."""
    return prompts.render("repair_answer", problems=problems, truncated=truncated).strip()


def problems(error: Exception, schema: type[BaseModel] | None = None) -> str:
    """What was wrong with an answer, for the log and the repair round (never the answer itself)."""
    return (
        validation_problems(error, limit=12, name_keys=False, schema=schema)
        if isinstance(error, ValidationError)
        else str(error)[:300]
    )
