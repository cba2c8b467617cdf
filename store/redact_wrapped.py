"""A secret wrapped over lines: a key cut by a terminal, a log viewer or a mail client at its width.

"sk-proj-Ab3d...\\n...tU3vW5": the rules see each half alone, so the first half may be replaced and the second kept,
or neither when each half is too short for its rule. `wrapped_spans` reads the text with such breaks taken out, runs
the rules (keys, tokens, addresses: `find`) on that, and maps what crosses a break back to the text it covers. It
does not join the next line of a config file ("...vW5\\nDB_HOST=localhost"), a word after a whole value that ended
its line ("jane@example.com\\nfor access"), or numbers on two lines.
"""

import re
from bisect import bisect_right
from collections.abc import Callable

Span = tuple[int, int, str, bool]  # start, end, kind, is PII

# Such a break ends a full line (32 characters or more, none shorter than the wrapped line before it), between two
# token characters.
_MID_TOKEN_BREAK = re.compile(r"(?<=[A-Za-z0-9_+/=.@-])\r?\n(?=[A-Za-z0-9_+/=.@-])")
_WRAP_WIDTH = 32
# What a piece of a wrapped key looks like after its break: a run of 8 or more with a digit or a capital inside.
_RANDOM = re.compile(r"(?=[\w+/=.-]{8})[\w+/=.-]*(?:\d|[a-z][A-Z])")
_ASSIGNMENT = re.compile(r"[A-Za-z_][\w.-]*\s*[=:](?![=]|$)")
_TOKEN_END = re.compile(r"$|[\s\"'`,;)\]}>|]")


def _wrap_breaks(text: str) -> list[re.Match[str]]:
    breaks: list[re.Match[str]] = []
    for m in _MID_TOKEN_BREAK.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        width = m.start() - line_start
        previous = breaks[-1] if breaks and breaks[-1].end() == line_start else None
        if width >= _WRAP_WIDTH and (
            previous is None or width >= previous.start() - (text.rfind("\n", 0, previous.start()) + 1)
        ):
            breaks.append(m)
    return breaks


def _after_break(text: str, at: int) -> int:
    return at + 1 if text[at] == "\n" else at + 2


def wrapped_spans(text: str, plain: list[Span], find: Callable[[str], list[Span]]) -> list[Span]:
    """Secrets and email addresses that a wrap inside them hides: read with those breaks taken out, mapped back to
    the text they cover (the break included), and kept when they end where a token ends. An address that ends a line
    of prose is not joined to the next line's first word."""
    breaks = _wrap_breaks(text)
    if not breaks:
        return []
    joined: list[str] = []
    cuts: list[int] = []  # the joined view's index of each removed break
    removed: list[int] = []  # characters removed before that index, the break included
    cursor = 0
    for m in breaks:
        joined.append(text[cursor : m.start()])
        cuts.append(m.start() - (removed[-1] if removed else 0))
        removed.append((removed[-1] if removed else 0) + len(m.group(0)))
        cursor = m.end()
    joined.append(text[cursor:])

    def where(i: int) -> int:  # the index in `text` of the joined view's i-th character
        at = bisect_right(cuts, i)
        return i + (removed[at - 1] if at else 0)

    found = []
    for start, end, kind, is_pii in find("".join(joined)):
        first, last = where(start), where(end - 1) + 1
        crossed = [m.start() for m in breaks if first < m.start() < last]
        if not crossed or not _TOKEN_END.match(text, last):
            continue
        if any(_ASSIGNMENT.match(text, _after_break(text, b), last) for b in crossed):
            continue  # the next line of a config file ("...vW5\nDB_HOST=localhost") is not the key's end
        ended = [e for _, e, k, _ in plain if k == kind and e in crossed]
        if ended and not _RANDOM.match(text, _after_break(text, max(ended)), last):
            continue  # a whole value ended the line ("...Q7r8\nnext line", "jane@example.com\nfor access")
        found.append((first, last, kind, is_pii))
    return found
