"""A text as the language checks read it, and the way back to the text as it was sent.

The checks (blameless.py) read a text once redacted (store/redact.py: invisible characters dropped, every secret a
typed placeholder), so that no finding, rewrite or model prompt holds a secret, and without what a terminal or a
renderer reads as markup rather than words: Rich's style tags (`[bold]`, `[/bold]`, `[/]`) and Mermaid's
directives (`%%{init: ...}%%`). A placeholder reads as one word, `REDACTED_github_token` (`[REDACTED:github_token]`
in a sentence cut its clause in two), and is shown again as a placeholder in what a check returns (`shown`).
`Read.back` gives a span of the read text as offsets into the text as sent.
"""

import re
from dataclasses import dataclass

from agent_postmortem.store.redact import PLACEHOLDER_PATTERN, redact

_AS_WORD = re.compile(r"\bREDACTED_([a-z_0-9]+)\b")
_STYLES = "bold|italic|underline|dim|strike|blink|reverse|b|i|u|s|link|red|green|yellow|blue|magenta|cyan|white|black"
_MARKUP = rf"\[/?(?:{_STYLES})(?:[ =][^\[\]\n]{{0,80}})?\]|\[/[a-z ]{{0,30}}\]|%%\{{[^\n]*?\}}%%"  # Rich; Mermaid
_NOISE = re.compile(rf"{_MARKUP}|(?P<value>{PLACEHOLDER_PATTERN.pattern})")

Op = tuple[str, int, int, int, int]  # (equal, replace or delete, from start, from end, to start, to end)


class _Map:
    """Offsets in one text (from) as offsets in another (to), by the operations that turn one into the other: a
    span's start maps to where its first character came from, its end to where its last one did."""

    def __init__(self, ops: list[Op], length: int, to_length: int) -> None:
        self.starts = [to_length] * (length + 1)  # every character is in one operation; the end is the end
        self.ends = [0] * (length + 1)
        for tag, i1, i2, j1, j2 in ops:
            alike = tag == "equal"
            self.starts[i1:i2] = range(j1, j1 + i2 - i1) if alike else [j1] * (i2 - i1)
            self.ends[i1 + 1 : i2 + 1] = range(j1 + 1, j1 + i2 - i1 + 1) if alike else [j2] * (i2 - i1)

    def span(self, start: int, end: int) -> tuple[int, int]:
        lo = self.starts[start]
        return lo, max(lo, self.ends[end])


_LINE_ENDS = "\r\x0b\x0c\u2028\u2029"  # what the redaction writes as "\n" (a CRLF: its "\r" is dropped)


def _opcodes(redacted: str, sent: str) -> list[Op]:
    """How `redacted` came from `sent`, in one pass: the redaction only drops characters (invisible ones, escape
    sequences), writes line ends as "\\n" and puts a placeholder for each secret; a placeholder stands for what `sent`
    holds up to where the text after it goes on."""
    if redacted == sent:
        return [("equal", 0, len(sent), 0, len(sent))]
    ops: list[Op] = []
    i = j = 0
    while i < len(redacted) and j < len(sent):
        placeholder = PLACEHOLDER_PATTERN.match(redacted, i) if redacted[i] == "[" else None
        if placeholder is not None and not sent.startswith(placeholder[0], j):
            k = _goes_on(redacted, placeholder.end(), sent, j)
            ops.append(("replace", i, placeholder.end(), j, k))
            i, j = placeholder.end(), k
        elif redacted[i] == sent[j] or (redacted[i] == "\n" and sent[j] in _LINE_ENDS and sent[j + 1 : j + 2] != "\n"):
            run = _alike(redacted, i, sent, j)
            _same(ops, i, j, run)
            i, j = i + run, j + run
        else:
            ops.append(("delete", i, i, j, j + 1))
            j += 1
    ops.append(("replace", i, len(redacted), j, len(sent)))
    return ops


def _alike(a: str, i: int, b: str, j: int) -> int:
    """How many characters from `a[i]` and `b[j]` on are alike (at least 1: the first is), compared in blocks."""
    run, step = 1, 256
    while step:
        if (
            i + run + step <= len(a)
            and j + run + step <= len(b)
            and a[i + run : i + run + step] == b[j + run : j + run + step]
        ):
            run += step
        else:
            step //= 2
    return run


def _same(ops: list[Op], i: int, j: int, run: int) -> None:
    """`run` more characters alike from `i` and `j`: the run of them before grows (one operation per run)."""
    if ops and ops[-1][0] == "equal" and ops[-1][2] == i and ops[-1][4] == j:
        ops[-1] = ("equal", ops[-1][1], i + run, ops[-1][3], j + run)
    else:
        ops.append(("equal", i, i + run, j, j + run))


def _goes_on(redacted: str, at: int, sent: str, start: int) -> int:
    """Where in `sent` (from `start`) the redacted text from `at` goes on: the first place its next characters are
    found (fewer of them when invisible characters in `sent` split them); the end of `sent` when nothing follows."""
    rest = PLACEHOLDER_PATTERN.split(redacted[at : at + 64], maxsplit=1)[0]
    for size in (16, 8, 4, 2, 1):
        if len(rest) >= size or size == 1:
            found = sent.find(rest[:size], start + 1) if rest else -1
            if found >= 0:
                return found
    return len(sent)


@dataclass(frozen=True)
class Read:
    text: str  # what the checks read
    redacted: str  # the text redacted (store/redact.py)
    _to_shown: _Map
    _to_sent: _Map

    def back(self, start: int, end: int) -> tuple[int, int]:
        """The span [start, end) of the read text as offsets into the text as sent."""
        return self._to_sent.span(*self._to_shown.span(start, end))


# What a placeholder stands for, in words the sentence reader knows: it never saw a placeholder, and read "Dana pushed
# REDACTED_github_token to prod by mistake." as blaming nobody (0.018; "... pushed a credential ..." 0.994).
_STANDS_FOR = {
    "email": "someone",
    "name": "someone",
    "phone": "a phone number",
    "ip_address": "an address",
    "ipv6": "an address",
}  # an email address or a name stands for a person
_SPACES = re.compile(r"[ \t]{2,}")


def in_words(text: str) -> str:
    """A sentence of the read text as the sentence reader reads it: each placeholder as what it stands for ("a
    credential" for a secret), the spaces left where markup was taken out made one."""
    text = _AS_WORD.sub(lambda m: _STANDS_FOR.get(m[1], "a credential"), text)
    return _SPACES.sub(" ", text)


def shown(text: str) -> str:
    """Text written from the read text (a quote, a rewrite) with its placeholders as the redaction writes them."""
    return _AS_WORD.sub(r"[REDACTED:\1]", text)


def as_read(sent: str) -> Read:
    """`sent` as the checks read it (see the module's docstring)."""
    redacted = redact(sent)
    pieces, ops, at, length = [], list[Op](), 0, 0
    for m in _NOISE.finditer(redacted):
        kept, put, end = redacted[at : m.start()], f"REDACTED_{m['value'][10:-1]}" if m["value"] else "", m.end()
        if not put and redacted[m.start() - 1 : m.start()] == " " == redacted[end : end + 1]:
            end += 1  # markup between two words goes with one of its spaces: "Dana [/bold] pushed" reads "Dana pushed"
        ops += [("equal", length, length + len(kept), at, m.start()), ("replace", length + len(kept),
                length + len(kept) + len(put), m.start(), end)]  # fmt: skip
        pieces += [kept, put]
        length, at = length + len(kept) + len(put), end
    ops.append(("equal", length, length + len(redacted) - at, at, len(redacted)))
    pieces.append(redacted[at:])
    text = "".join(pieces)
    to_sent = _Map(_opcodes(redacted, sent), len(redacted), len(sent))
    return Read(text, redacted, _Map(ops, len(text), len(redacted)), to_sent)
