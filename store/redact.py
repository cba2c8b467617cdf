"""Redaction before anything is stored: secrets and personal data in captured text become typed placeholders.

Two detectors, one replacement: the project's own rules (`redact_rules`) give exact spans for the formats that
matter most in agent failures (provider keys, tokens, private keys, credentials in URLs, headers, config pairs, prose
and CLI flags, and PII: email, phones, Luhn-valid cards, IBANs with a valid checksum, US SSNs, IPv4 and IPv6
addresses); detect-secrets' plugins (with its false-positive filters) run on each line as a second opinion, and any
value they report that the rules missed is replaced too. Entropy-only detection is left out: in stack traces it
flags commit hashes, digests and request ids.

Invisible characters (`invisible`: how instructions get smuggled to a model, and how a secret is split so
that no rule sees it) are dropped first, in the same pass, and counted, so the record keeps a flag and no later
reader, model or report sees them. Placeholders (`[REDACTED:github_token]`) match no rule, so redaction is
idempotent.
"""

import re
from collections import Counter
from collections.abc import Sequence
from functools import cache, partial
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agent_postmortem.store.invisible import strip_invisible
from agent_postmortem.store.models.fields import MAX_CAPTURE_BYTES
from agent_postmortem.store.redact_checks import CHECKS
from agent_postmortem.store.redact_detect import NOT_SECRET_VALUES, detect_secrets_values, looks_like_value
from agent_postmortem.store.redact_found import PLACEHOLDER, PLACEHOLDER_PATTERN, replaced, replaced_in
from agent_postmortem.store.redact_named import NAMED_CHECKS, NAMED_HINTS, NAMED_RULES
from agent_postmortem.store.redact_pairs import actions_result_spans, block_spans
from agent_postmortem.store.redact_rules import HINTS, PII_RULES, SECRET_RULES, UNICODE_RULES, card_spans
from agent_postmortem.store.redact_wrapped import wrapped_spans

__all__ = [
    "PLACEHOLDER",
    "PLACEHOLDER_PATTERN",
    "redact",
    "redact_model",
    "redact_text",
    "redact_value",
    "strip_invisible",
]


@cache
def _compiled() -> list[tuple[str, re.Pattern[str], int, bool]]:
    def compiled(kind: str, pattern: str) -> re.Pattern[str]:
        return re.compile(pattern, 0 if kind in UNICODE_RULES else re.ASCII)

    rules = [(kind, compiled(kind, p), g, False) for kind, p, g in SECRET_RULES + NAMED_RULES]
    return rules + [(kind, compiled(kind, p), g, True) for kind, p, g in PII_RULES]


_HINTS = HINTS | NAMED_HINTS  # the rules of `redact_named` with the table's
_CHECKS = CHECKS | NAMED_CHECKS
_URL_PASSWORDS = frozenset({"url_credentials", "connection_string"})


def _spans(text: str) -> list[tuple[int, int, str, bool]]:
    found = _rule_spans(text)
    passwords = [(s, e) for s, e, kind, _ in found if kind in _URL_PASSWORDS]
    if passwords:  # `hunter2@db.internal` after a URL's user reads as an address: the host is kept, not the address
        found = [f for f in found if f[2] != "email" or not any(s <= f[0] < e for s, e in passwords)]
    found += [(start, end, "credit_card", True) for start, end in card_spans(text)]
    named = (block_spans(text) if ":" in text and "\n" in text else []) + (  # a YAML block scalar's value, or
        actions_result_spans(text) if "Evaluating: " in text else []  # an Actions debug log's result
    )
    found += [(s, e, "password_pair", False) for s, e in named if not NOT_SECRET_VALUES.match(text[s:e])]
    return found + wrapped_spans(text, found, partial(_rule_spans, joined=True))


# A line break or tab escaped in a JSON or Python string ("…\\nsk-proj-…"): its letter would glue to the token after
# it (no word boundary: the key was kept; an address took the "n" and broke the escape), so the rules read it as
# spaces, the same length.
_ESCAPED_SPACE = re.compile(r"\\+[nrt]")


_QUOTE_NEXT = re.compile(r"\\{0,3}[\"'`]")  # a quote, or one escaped in a JSON or a repr string


def _rule_spans(text: str, *, joined: bool = False) -> list[tuple[int, int, str, bool]]:
    """The rules' spans; in a text whose wrapped lines were `joined`, only keys, tokens and addresses (numbers on
    two lines are two numbers)."""
    found: list[tuple[int, int, str, bool]] = []
    if "\\" in text:
        text = _ESCAPED_SPACE.sub(lambda m: " " * len(m.group(0)), text)
    lowered = text.lower()
    for kind, pattern, group, is_pii in _compiled():
        if (joined and is_pii and kind != "email") or (
            kind in _HINTS and not any(hint in lowered for hint in _HINTS[kind])
        ):
            continue
        at = 0
        while (match := pattern.search(text, at)) is not None:
            at = max(match.end(), match.start() + 1)
            start, end = match.span(group)
            value = match.group(group)
            if start > match.start() and value and value[-1] in "=:" and _QUOTE_NEXT.match(text, end):
                inner = pattern.search(text, start)  # the value may be a name whose own value follows it
                if inner is not None and inner.start() < end:  # (`"token": "client_secret='…'"`): that pair, then
                    at = start
                    continue
            if start < 0 or text.startswith("[REDACTED:", start) or NOT_SECRET_VALUES.match(value):
                continue
            check = _CHECKS.get(kind)
            if check is not None and not check(value, text[max(0, start - 10) : start]):
                continue
            found.append((start, end, kind, is_pii))
    return found


def redact_text(text: str) -> tuple[str, Counter[str]]:
    """The text without invisible characters and with every secret and PII span replaced by a typed placeholder,
    and the count per type (invisible characters count as `invisible_characters`)."""
    result, counts, _ = _redacted(text)
    return result, counts


def _redacted(text: str) -> tuple[str, Counter[str], list[tuple[str, str]]]:
    """`redact_text`, with the secrets found (value and type) to replace in the record's other fields."""
    if not text:
        return text, Counter(), []
    text, hidden = strip_invisible(text)
    spans = sorted(_spans(text), key=lambda s: (s[0], s[3], -(s[1] - s[0])))  # at one start: secrets, then longest
    out, counts, cursor = [], Counter[str](), 0
    for start, end, kind, _ in spans:
        if start < cursor:  # overlaps an earlier span: its placeholder covers both (a password read as an address)
            cursor = max(cursor, end)
            continue
        out += [text[cursor:start], PLACEHOLDER.format(kind)]
        counts[kind] += 1
        cursor = end
    out.append(text[cursor:])
    result = "".join(out)
    if hidden:
        counts["invisible_characters"] += hidden
    found = _named(text, spans) + detect_secrets_values(result)
    return replaced(result, found, counts), counts, found


def _named(text: str, spans: Sequence[tuple[int, int, str, bool]]) -> list[tuple[str, str]]:
    """The secrets the rules found by their name or shape, to replace wherever else the text repeats them ("printed
    hunter2hunter2" above "password: hunter2hunter2"). Not a value of letters alone: a rule can take a word for one
    ("password: incorrect"), and the word elsewhere in prose is no secret."""
    values = (text[start:end] for start, end, _, pii in spans if not pii)
    kinds = (kind for _, _, kind, pii in spans if not pii)
    return [(v, k) for v, k in zip(values, kinds, strict=True) if looks_like_value(v) and not v.isalpha()]


CUT_CONTEXT = 400  # characters read on each side of a cut for a secret it would split
LONGEST_KEY = 8_192  # a private key block can be this long: its header is looked for this far before a cut
CUT_MARGIN = LONGEST_KEY + CUT_CONTEXT  # of a longer text, what a cut reads beyond `limit`


def cut(text: str, limit: int, *, keep_end: bool = False) -> str:
    """`text` cut to at most `limit` characters (its start, or its end when `keep_end`), never through a secret or a
    personal datum: one the cut would split is left out whole. Cut first and redacted later, the part kept
    (`ghp_Q7wErTy9UiOp2As`, the end of a key without its prefix) no longer matches any rule and was stored in clear."""
    if len(text) <= limit:
        return text
    at = len(text) - max(limit, 0) if keep_end else max(limit, 0)
    header = text.rfind("-----BEGIN", max(0, at - LONGEST_KEY), at)  # a key block the cut may be inside
    low = max(0, at - CUT_CONTEXT) if header < 0 else max(0, min(header, at - CUT_CONTEXT))
    high = at + (CUT_CONTEXT if header < 0 else CUT_MARGIN)  # far enough to see where that block ends
    spans = [(start + low, end + low, kind) for start, end, kind, _ in _spans(text[low:high])]
    moved, kind = True, ""
    while moved:  # a span that ends where another starts: move past each one the cut falls in
        moved = False
        for start, end, kind_found in spans:
            if start < at < end:
                at, moved, kind = (end if keep_end else start), True, kind_found
    kept = text[at:] if keep_end else text[:at]
    return kept or PLACEHOLDER.format(kind)[:limit]  # all of it one secret: what redaction would have left


def fit(text: str, limit: int) -> str:
    """`text` whole when it fits in `limit` characters; else its start, cut never through a secret (see `cut`), and
    how much was left out (a cut that says nothing reads as the whole text). Sliced, a key the cut fell inside was
    stored as its start (`sk-proj-Q7wErTy9U`), which no rule recognises, in clear."""
    kept = limit
    while len(text) > limit and kept > 0:  # the marker's length depends on the count it names: a step or two
        head = cut(text, kept)
        marker = f" … [{len(text) - len(head):,} more characters not kept]"
        if len(head) + len(marker) <= limit:
            return head + marker
        kept = limit - len(marker)
    return text if len(text) <= limit else text[:limit]


def _trimmed(text: str, excess: int, *, keep_end: bool) -> str:
    """`text` shorter by at least `excess` UTF-8 bytes, from its start when `keep_end`, never splitting a character
    nor a secret."""
    data = text.encode("utf-8")
    kept = max(0, len(data) - excess)
    fits = (data[len(data) - kept :] if keep_end else data[:kept]).decode("utf-8", "ignore")
    return cut(text, len(fits), keep_end=keep_end)


def within_total(values: dict[str, Any], total: int, order: Sequence[str]) -> dict[str, Any]:
    """`values` with the texts named in `order` trimmed in turn (a stack trace from its start: its end holds the
    error) until all their texts total at most `total` UTF-8 bytes; the rest as given."""
    out = dict(values)
    for name in order:
        excess = sum(len(v.encode("utf-8")) for v in out.values() if isinstance(v, str)) - total
        if excess <= 0:
            break
        value = out.get(name)
        if isinstance(value, str):
            out[name] = _trimmed(value, excess + 16, keep_end=name == "stack_trace")
    return out


def redact(text: str) -> str:
    return redact_text(text)[0]


def redact_value(value: Any, counts: Counter[str] | None = None, found: list[tuple[str, str]] | None = None) -> Any:
    """Redact every string inside a JSON-like value (dicts, lists, nested context); `found` collects the secrets
    found (value and type)."""
    if isinstance(value, str):
        text, counted, values = _redacted(value)
        if counts is not None:
            counts.update(counted)
        if found is not None:
            found += values
        return text
    if isinstance(value, list):
        return [redact_value(v, counts, found) for v in value]
    if isinstance(value, dict):  # keys too: a secret can be a key (`{"ghp_…": "repo"}`)
        out: dict[Any, Any] = {}
        for key, item in value.items():
            key = redact_value(key, counts, found)
            while key in out:  # two keys that redact alike both stay
                key = f"{key}'"
            out[key] = redact_value(item, counts, found)
        return out
    return value


M = TypeVar("M", bound=BaseModel)


def redact_model(model: M, known: list[tuple[str, str]] | None = None) -> tuple[M, Counter[str]]:
    """A copy of a record with every text field (nested ones too) redacted, and the count per type. `known`: the
    secrets found in the records redacted before it in one capture (a run's steps), replaced in this one too; this
    record's are added to it."""
    counts: Counter[str] = Counter()
    found = [] if known is None else known
    data = redact_value(model.model_dump(), counts, found)
    if found:
        data = replaced_in(data, found, counts)
    if not counts:
        return model, counts
    order: Sequence[str] = getattr(type(model), "trimmed_first", ())
    if order:  # placeholders longer than what they replaced can take a whole capture past its total size
        data = within_total(data, MAX_CAPTURE_BYTES, order)
    from agent_postmortem.store.records.integrity import validated  # here: records/ reads redact.py lazily too

    try:  # a restore's text longer than new input takes stays whole (integrity.whole_text)
        return validated(type(model), data), counts
    except ValidationError as e:  # a placeholder can be longer than what it replaced: trim to the field's limit
        for error in e.errors(include_input=False, include_url=False):
            if error["type"] != "string_too_long":
                raise
            _trim(data, list(error["loc"]), int(error["ctx"]["max_length"]))
        return type(model).model_validate(data), counts


def _trim(data: Any, loc: list[str | int], limit: int) -> None:
    for key in loc[:-1]:
        data = data[key]
    text = data[loc[-1]]  # a stack trace keeps its end, where the error is, as the SDK cuts one
    data[loc[-1]] = "…" + text[len(text) - limit + 1 :] if loc[-1] == "stack_trace" else text[: limit - 1] + "…"
