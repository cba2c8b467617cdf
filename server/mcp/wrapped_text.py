"""A text a model sent as the tool's arguments again, as the JSON text of an object (`{"text": "..."}`): the text
inside is what is read, and what is found in it is placed back in the text as sent."""

import json
import re
from typing import TYPE_CHECKING

if (
    TYPE_CHECKING
):  # the blameless checker imports numpy: not on the way to the MCP handshake (tests/mcp/test_cold_start)
    from agent_postmortem.analysis.blameless import BlamelessReport

_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)  # a JSON string, its escapes included


def unwrapped(text: str, key: str) -> str:
    """A text a model sent as the tool's arguments again (`{"query": "rate limit"}`, `{"text": "..."}`, or an object of
    one text) is the text inside: it was read as it stood, braces and key included (search's best hit was a weak
    match; check_blameless suggested rewrites ending in `"}`)."""
    if not text.lstrip().startswith("{"):
        return text
    try:
        sent = json.loads(text)
    except ValueError:
        return text
    if isinstance(sent, dict):
        texts = [v for v in sent.values() if isinstance(v, str)]
        inner = sent.get(key, texts[0] if len(sent) == 1 and texts else None)
        if isinstance(inner, str) and inner.strip():
            return inner
    return text


def unwrapped_id(value: object, key: str) -> object:
    """An id as clients send it: the JSON text of the arguments (`{"incident_id": "INC-1"}`, or an object of one
    text) or of the id itself (`"INC-1"`, quotes and all) is the id inside; anything else as sent. Tools and prompts
    read ids through this (a prompt answered "no incident" for what a tool read)."""
    if not isinstance(value, str):
        return value
    text = unwrapped(value, key).strip()
    if len(text) > 2 and text[0] == text[-1] == '"':
        try:
            inner = json.loads(text)
        except ValueError:
            return text
        return inner if isinstance(inner, str) else text
    return text


def blameless_as_sent(report: "BlamelessReport", sent: str, inner: str) -> "BlamelessReport":
    """`report` on `inner`, the text unwrapped from `sent`, with its findings' `start` and `end` pointing into `sent`
    (they pointed into the text inside: `{"text": "Alice broke prod"}` gave 0 to 11, `{"text": "A`)."""
    places = _places(sent, inner) if inner != sent else None
    if places is None:
        return report
    findings = [f.model_copy(update={"start": places[f.start], "end": places[f.end]}) for f in report.findings]
    return report.model_copy(update={"findings": findings})


def _places(sent: str, inner: str) -> list[int] | None:
    """Where each character of `inner` stands in `sent`, the object text it is a string value of, and where it ends
    (an escape, `\\n` or `\\u00e9`, is one character written as several)."""
    for literal in _LITERAL.finditer(sent):
        if not sent[: literal.start()].rstrip().endswith(":"):
            continue  # a key
        try:
            if json.loads(literal.group()) != inner:
                continue
        except ValueError:
            continue
        body, at, places, i = literal.group()[1:-1], literal.start() + 1, [], 0
        while i < len(body):
            places.append(at + i)
            i += _escape_length(body, i)
        return [*places, at + len(body)] if len(places) == len(inner) else None
    return None


def _escape_length(body: str, i: int) -> int:
    if body[i] != "\\":
        return 1
    if body[i + 1] != "u":
        return 2
    pair = body[i + 6 : i + 8] == "\\u" and 0xDC00 <= int(body[i + 8 : i + 12], 16) < 0xE000
    return 12 if 0xD800 <= int(body[i + 2 : i + 6], 16) < 0xDC00 and pair else 6
