"""A secret wrapped over lines: a key cut by a terminal, `fold`, a log viewer or a mail client at its width.

"sk-proj-Ab3d...\\n...tU3vW5": the rules see each piece alone, so the first may be replaced and the rest kept, or
none when each is too short for its rule. `wrapped_spans` reads the text with such breaks taken out, runs the rules
(keys, tokens, addresses: `find`) on that, and maps what crosses a break back to the text it covers. A break is a
newline, or its escape inside a JSON or Python string (`\\n`), between two token characters; the next line may
start with the prefix its line started with (email quoting `> `, an indentation, `kubectl logs --prefix`,
`docker compose logs`), which goes with the break. It does not join the next line of a config file
("...vW5\\nDB_HOST=localhost"), a word after a whole value that ended its line ("jane@example.com\\nfor access"), or
numbers on two lines.
"""

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable

from agent_postmortem.store.redact_breaks import ASSIGNMENT, RANDOM, Break, line_stamped, random_before, wrap_breaks
from agent_postmortem.store.redact_pairs import value_ok

Span = tuple[int, int, str, bool]  # start, end, kind, is PII
_SHORT_TAIL = re.compile(r"[\w+/=.-]{0,6}(?:\d|[a-z][A-Z])[\w+/=.-]*(?=$|\n|\\|[\"'`,;)\]}>])")
_LETTERS_TAIL = re.compile(r"[A-Za-z]{1,7}(?=[\"'`)\]}>]*(?:$|\n|\\))")
_TOKEN_END = re.compile(r"$|[\s\"'`,;)\]}>|@\\]")  # "@": a password in a URL ends there
_SPACE = re.compile(r"\s")
_WHOLE_LINE = re.compile(r"[\w+/=.@-]*(?=[\"'`,;)\]}>]*(?:\n|\\{1,3}[rn]|\Z))")
_MIXED_DOMAIN = re.compile(r"@[^@]*(?:[a-z][A-Z]|[A-Z]{2}[a-z])")
_Edges = tuple[set[tuple[str, int]], set[tuple[str, int]]]  # (kind, start) and (kind, end) of the plain spans
_SPACED = frozenset({"private_key", "cookie"})  # a key block has lines, a cookie header several cookies


def _joined(text: str, breaks: list[Break]) -> tuple[str, Callable[[int], int]]:
    """The text with the breaks taken out, and the map from an index in it to the index in `text`."""
    pieces: list[str] = []
    cuts: list[int] = []  # the joined view's index right after each break (and what it is read as)
    removed: list[int] = []  # characters removed before that index, the break included
    cursor = length = gone = 0
    for b in breaks:
        join = b.joiner or ""
        pieces += [text[cursor : b.start], join]
        length += b.start - cursor + len(join)
        gone += b.end - b.start - len(join)
        cuts.append(length)
        removed.append(gone)
        cursor = b.end
    pieces.append(text[cursor:])

    def where(i: int) -> int:
        at = bisect_right(cuts, i)
        return i + (removed[at - 1] if at else 0)

    return "".join(pieces), where


def _goes_on(text: str, after: Break, last: int, cut_widths: Counter[int]) -> bool:
    """Whether what follows a break at which a whole value ended is more of it: after a full line, a random-looking
    run, or a short one that ends its line ("...Q7r8\\nnext line", "jane@example.com\\nfor access" are not). After a
    timestamp, a piece that is all its line, or in a block cut at one width: not the next log record ("…Z 8f3a2b1c
    done"). A short piece of letters only ("…tU3" then "abc") is one only when it is all its line and the line cut
    is as wide as another line of the text cut inside a token: the text's wrap width, which "EOF" or "Thanks" after
    a key that merely ended its line does not show."""
    if not after.full:
        return False
    stamped = line_stamped(text, after.line_end)
    if not after.block and stamped and not _WHOLE_LINE.match(text, after.end):
        return False
    tail = _SHORT_TAIL.match(text, after.end) or (
        _LETTERS_TAIL.match(text, after.end) if cut_widths[after.width] > 1 and not stamped else None
    )
    return bool(RANDOM.match(text, after.end, last)) or (tail is not None and tail.end() == last)


def _ends_whole(text: str, b: Break, kind: str, ends: set[tuple[str, int]]) -> bool:
    """Whether a value of this kind ended at the break, or right before a full stop that ends the line."""
    return (kind, b.start) in ends or (text[b.start - 1] == "." and (kind, b.start - 1) in ends)


def _goes_on_after(
    text: str, kind: str, crossed: list[Break], last: int, spans: _Edges, cut_widths: Counter[int]
) -> bool:
    """Whether a value read across these breaks is one: not the next line of a config file ("...vW5\\nDB_HOST=x"),
    nor a word after a whole value that ended its line ("jane@example.com.\\nThanks"), nor a word before one that
    starts the next ("send mail to\\n> jane@example.com"). A cookie header is name=value pairs: it goes on over
    each full line."""
    if kind == "cookie":
        return all(b.full for b in crossed)
    if any(ASSIGNMENT.match(text, b.end, last) for b in crossed):
        return False
    starts, ends = spans
    if kind not in _SPACED and kind != "email" and any(b.weak for b in crossed):  # "has_secret = True\n    yield"
        if not any(random_before(text, b.start) or RANDOM.match(text, b.end) for b in crossed):
            return False
    for b in crossed:
        if (kind, b.end) in starts and not (b.block or random_before(text, b.start)):
            return False
    ended = [b for b in crossed if _ends_whole(text, b, kind, ends)]
    return not ended or _goes_on(text, ended[-1], last, cut_widths)


def wrapped_spans(text: str, plain: list[Span], find: Callable[[str], list[Span]]) -> list[Span]:
    """Secrets and email addresses that a wrap inside them hides: read with those breaks taken out, mapped back to
    the text they cover (the breaks included), and kept when they end where a token ends."""
    breaks = wrap_breaks(text)
    if not breaks:
        return []
    joined, where = _joined(text, breaks)
    starts = [b.start for b in breaks]
    edges = ({(kind, start) for start, _, kind, _ in plain}, {(kind, end) for _, end, kind, _ in plain})
    cut_widths = Counter(b.width for b in breaks if b.full and b.joiner is None)
    found = []
    for start, end, kind, is_pii in find(joined):
        first, last = where(start), where(end - 1) + 1
        crossed = breaks[bisect_right(starts, first) : bisect_left(starts, last)]
        if not _TOKEN_END.match(text, last) or any(_between_a_pair(b, kind) for b in crossed):
            continue
        after = _pair_before(text, breaks, starts, first)
        if after is not None:
            if _covered(plain, first, last) or not value_ok(text, kind, last, joined[start:end]):
                continue
        elif not crossed:
            continue
        if kind not in _SPACED and _SPACE.search(joined, start, end):
            continue  # a quoted value is on one line: "`key=` (…); URL\n`sig=`" is two
        if kind == "email" and _MIXED_DOMAIN.search(joined, start, end):
            continue  # a domain is in one case: "…colostate.edu\nBenno", "…UNLV.EDU\nFred" are an address and a name
        if not crossed or _goes_on_after(text, kind, crossed, last, edges, cut_widths):
            found.append((first, last, kind, is_pii))
    return found


def _between_a_pair(b: Break, kind: str) -> bool:
    """Whether a break between a name and its value is inside this span (one in a cookie header may be)."""
    return b.joiner is not None and not (b.full and kind == "cookie")


_VALUE_OPENS = re.compile(r":?(?:b?\\{0,3}[\"'`])?")  # what stands between a name's line and its value


def _pair_before(text: str, breaks: list[Break], starts: list[int], first: int) -> Break | None:
    """The break between a name and its value when the value starts at `first`."""
    at = bisect_right(starts, first) - 1
    b = breaks[at] if at >= 0 else None
    if b is None or b.joiner is None or b.end > first:
        return None
    return b if _VALUE_OPENS.fullmatch(text, b.end, first) else None


def _covered(plain: list[Span], first: int, last: int) -> bool:
    """Whether a secret found on its own line covers this span already (an address it is part of does not)."""
    return any(start <= first and last <= end and not is_pii for start, end, _, is_pii in plain)
