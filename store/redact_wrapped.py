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
from collections.abc import Callable
from functools import cached_property
from typing import NamedTuple

from agent_postmortem.store.redact_pairs import cookie_goes_on, could_join, joiner, scheme_or_url, value_ok

Span = tuple[int, int, str, bool]  # start, end, kind, is PII

_TOKEN = r"[A-Za-z0-9_+/=.@-]"
_NEWLINE = r"\n|(?:\\{1,3}r)?\\{1,3}n"  # a newline, or its escape in a string (once, or twice as in JSON in JSON)
_LINE_BREAK = re.compile(_NEWLINE)
_IS_TOKEN = re.compile(_TOKEN)
_SENTENCE = re.compile(r"[A-Z][a-z]")  # after a full stop that ends a line: the next sentence
_CLOSING = frozenset("\\\"'`)]},;")
# What every line of a block may start with: email quoting ("> ", "> > ", ">> "), an indentation, the container
# of `kubectl logs --prefix` ("[pod/api-7d9f/app] "), the service of `docker compose logs` ("api-1  | "); then a
# timestamp, as a log viewer or `--timestamps` puts on each line ("2026-12-01T10:00:00.123Z ", "[10:00:00] "),
# which is the same prefix on the next line when it has the same shape (another time, as many fields).
_TIME = r"\[?(?:\d{4}-\d{2}-\d{2}[T ])?\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?\]?[ \t]+"
_PREFIX = re.compile(
    r"(?P<base>[ \t]*(?:>[ \t]?)+|[ \t]+|\[(?!\d)[^\]\n]{1,80}\][ \t]+|[\w.-]{1,40}[ \t]*\|[ \t]?)?"
    rf"(?P<time>{_TIME})?"
)
_DIGITS = re.compile(r"\d+")
_CLOCK = re.compile(r"\d{2}:\d{2}:\d{2}")  # a text without one has no timestamps to leave out of widths
_COOKIE = re.compile(r"(?i)cookie")
# A wrapping terminal or `fold` fills each line it cuts: a break ends a line that is no shorter than the lines
# around it (16 characters or more), or one of 32 or more that is no shorter than the wrapped line before it.
_NARROW, _WIDE = 16, 32
# What a piece of a wrapped key looks like after its break: a run of 8 or more with a letter, and a digit or a
# capital inside (not a date: "2026-12-06 10:00"); a shorter one that ends its line has a digit or an inner capital.
_RANDOM = re.compile(r"(?=[\w+/=.-]{8})(?=[\w+/=.-]*[A-Za-z])[\w+/=.-]*(?:\d|[a-z][A-Z])")
_SHORT_TAIL = re.compile(r"[\w+/=.-]{0,6}(?:\d|[a-z][A-Z])[\w+/=.-]*(?=$|\n|\\|[\"'`,;)\]}>])")
_ASSIGNMENT = re.compile(r"[A-Za-z_][\w.-]*\s*[=:](?![=]|$)")
_TOKEN_END = re.compile(r"$|[\s\"'`,;)\]}>|@\\]")  # "@": a password in a URL ends there
_SPACE = re.compile(r"\s")
_WHOLE_LINE = re.compile(r"[\w+/=.@-]*(?=[\"'`,;)\]}>]*(?:\n|\\{1,3}[rn]|\Z))")
_LAST_RUN = re.compile(r"[\w+/=.@-]+$")
_MIXED_DOMAIN = re.compile(r"@[^@]*(?:[a-z][A-Z]|[A-Z]{2}[a-z])")
_Edges = tuple[set[tuple[str, int]], set[tuple[str, int]]]  # (kind, start) and (kind, end) of the plain spans
_SPACED = frozenset({"private_key", "cookie"})  # a key block has lines, a cookie header several cookies


class _Break(NamedTuple):
    start: int  # where the line break starts
    line_end: int  # where the next line starts
    end: int  # where the token goes on: after the next line's prefix
    full: bool  # the line it ends is no shorter than the lines around it
    block: bool  # and as wide as the line before it: a block cut at one width
    weak: bool  # read as a wrap only beside a random-looking piece: under 32 columns, or the next line has a prefix
    joiner: str | None = None  # between a name and its value, or in a cookie header (full): what it is read as


class _Lines:
    """Where each line of a text starts and ends, a line ending at a newline or at its escape."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts, self.ends = [0], []
        for m in _LINE_BREAK.finditer(text):
            self.ends.append(m.start())
            self.starts.append(m.end())
        self.ends.append(len(text))
        self.widths: dict[int, int] = {}

    @cached_property
    def stamped(self) -> bool:
        return _CLOCK.search(self.text) is not None

    @cached_property
    def cookies(self) -> bool:
        return _COOKIE.search(self.text) is not None

    @cached_property
    def scheme_or_url(self) -> bool:
        return scheme_or_url(self.text)

    def width(self, index: int) -> int:
        """The line's width as it was shown: its escapes (`\\"` in a JSON string) count as one character, and what
        closes a string around it (`"}`) not at all; after a timestamp, whose length varies (a fraction's trailing
        zeros left out)."""
        if not 0 <= index < len(self.starts):
            return 0
        if index not in self.widths:
            start, end = self.starts[index], self.ends[index]
            prefix = _PREFIX.match(self.text, start, end) if self.stamped else None
            start = prefix.end() if prefix is not None and prefix.group("time") else start
            while end > start and self.text[end - 1] in _CLOSING:
                end -= 1
            self.widths[index] = end - start - self.text.count("\\", start, end)
        return self.widths[index]


def _after_prefix(lines: _Lines, line: int) -> int | None:
    """Where the next line goes on: after the prefix this line starts with, when the next line starts with it too
    (a line of the same block; a timestamp of the same shape); else at its start. None when it starts with a part
    of it only (an empty quoted line)."""
    text, start, following = lines.text, lines.starts[line], lines.starts[line + 1]
    mine = _PREFIX.match(text, start, lines.ends[line])
    if mine is None or mine.end() == start:
        return following
    if mine.group("time"):
        theirs = _PREFIX.match(text, following, lines.ends[line + 1])
        if theirs is None or not theirs.group("time") or theirs.group("base") != mine.group("base"):
            return following
        same = _DIGITS.sub("0", theirs.group("time")) == _DIGITS.sub("0", mine.group("time"))
        return theirs.end() if same else following
    prefix = mine.group(0)
    if not text.startswith(prefix.rstrip() or prefix, following):
        return following
    return following + len(prefix) if text.startswith(prefix, following) else None


def _continued_at(lines: _Lines, line: int) -> int | None:
    """Where the token goes on in the next line (`_after_prefix`). None when no token character is there, or an
    ellipsis ("Bearer\\n...)")."""
    text = lines.text
    at = _after_prefix(lines, line)
    if at is None or not _IS_TOKEN.match(text, at) or text.startswith("..", at):
        return None
    return None if text[lines.ends[line] - 1] == "." and _SENTENCE.match(text, at) else at


def _config_line_after(text: str, lines: _Lines, line: int, at: int) -> bool:
    """Whether the next line of a config file starts at `at` ("...vW5\nDB_HOST=localhost"), not the rest of a name
    cut in two ("aws_secret_acces\ns_key = ...")."""
    if not _ASSIGNMENT.match(text, at):
        return False
    start, end = lines.starts[line], lines.ends[line]
    return "=" in text[start:end] or ":" in text[start:end] or _random_before(text, end)


def _value_at(lines: _Lines, line: int) -> int | None:
    """Where the next line's content starts: after the prefix this line starts with (`_after_prefix`), then any
    spaces. None when it has none."""
    text, end = lines.text, lines.ends[line + 1]
    at = _after_prefix(lines, line)
    if at is None:
        return None
    while at < end and text[at] in " \t":
        at += 1
    return at if at < end else None


def _pair_break(lines: _Lines, line: int) -> _Break | None:
    """A break between a name (or a URL's user) ending this line and its value starting the next."""
    if not could_join(lines.text, lines.starts[line], lines.ends[line], scheme_or_url=lines.scheme_or_url):
        return None
    at = _value_at(lines, line)
    join = None if at is None else joiner(lines.text, lines.starts[line], lines.ends[line], at)
    if at is None or join is None:
        return None
    start = lines.ends[line]
    while start > lines.starts[line] and lines.text[start - 1] in " \t":
        start -= 1
    return _Break(start, lines.starts[line + 1], at, False, False, True, join)


def _cookie_break(lines: _Lines, line: int, in_header: bool) -> _Break | None:
    """A break in a cookie header cut at a width: inside a cookie's name, or at the `; ` between two."""
    width, end = lines.width(line) + 1, lines.ends[line]  # its last `;` is not counted
    if width <= _NARROW or width < lines.width(line + 1):
        return None
    at = _after_prefix(lines, line)
    if at is None or not cookie_goes_on(lines.text, lines.starts[line], end, at, in_header=in_header):
        return None
    if not in_header and width <= _WIDE and _ASSIGNMENT.match(lines.text, at):  # "Cookie: a=b" then "DB_HOST=x"
        return None
    return _Break(end, lines.starts[line + 1], at, True, False, False, "")


def _wrap_breaks(text: str) -> list[_Break]:
    lines = _Lines(text)
    breaks: list[_Break] = []
    for line, at in enumerate(lines.ends[:-1]):
        in_cookie = bool(breaks) and breaks[-1].line_end == lines.starts[line] and breaks[-1].joiner == ""
        pair = (lines.cookies and _cookie_break(lines, line, in_cookie and breaks[-1].full)) or _pair_break(lines, line)
        if pair is not None:
            breaks.append(pair)
            continue
        width = lines.width(line)
        if width < _NARROW or not _IS_TOKEN.match(text, at - 1):
            continue
        full = width >= lines.width(line - 1) and width >= lines.width(line + 1)
        previous = breaks[-1] if breaks and breaks[-1].line_end == lines.starts[line] else None
        wide = width >= _WIDE and (previous is None or width >= lines.width(line - 1))
        end = _continued_at(lines, line) if full or wide else None
        if end is not None and not _config_line_after(text, lines, line, end):
            prefixed = end > lines.starts[line + 1]
            stamped = prefixed and _stamped(text, lines.starts[line + 1])  # widths leave the times out
            block = full and (stamped or not prefixed) and width == lines.width(line - 1)
            breaks.append(_Break(at, lines.starts[line + 1], end, full, block, prefixed or not wide))
    return breaks


def _joined(text: str, breaks: list[_Break]) -> tuple[str, Callable[[int], int]]:
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


def _goes_on(text: str, after: _Break, last: int) -> bool:
    """Whether what follows a break at which a whole value ended is more of it: after a full line, a random-looking
    run, or a short one that ends its line ("...Q7r8\\nnext line", "jane@example.com\\nfor access" are not). After a
    timestamp, a piece that is all its line, or in a block cut at one width: not the next log record ("…Z 8f3a2b1c
    done")."""
    if not after.full:
        return False
    if not after.block and _stamped(text, after.line_end) and not _WHOLE_LINE.match(text, after.end):
        return False
    tail = _SHORT_TAIL.match(text, after.end)
    return bool(_RANDOM.match(text, after.end, last)) or (tail is not None and tail.end() == last)


def _stamped(text: str, at: int) -> bool:
    """Whether the line at `at` starts with a timestamp (after a prefix)."""
    prefix = _PREFIX.match(text, at)
    return prefix is not None and prefix.group("time") is not None


def _random_before(text: str, at: int) -> bool:
    """Whether the token that ends at `at` (a line break) looks random (a piece of a key, not a word)."""
    run = _LAST_RUN.search(text, max(0, at - 256), at)
    return run is not None and _RANDOM.match(text, run.start(), at) is not None


def _ends_whole(text: str, b: _Break, kind: str, ends: set[tuple[str, int]]) -> bool:
    """Whether a value of this kind ended at the break, or right before a full stop that ends the line."""
    return (kind, b.start) in ends or (text[b.start - 1] == "." and (kind, b.start - 1) in ends)


def _goes_on_after(text: str, kind: str, crossed: list[_Break], last: int, spans: _Edges) -> bool:
    """Whether a value read across these breaks is one: not the next line of a config file ("...vW5\\nDB_HOST=x"),
    nor a word after a whole value that ended its line ("jane@example.com.\\nThanks"), nor a word before one that
    starts the next ("send mail to\\n> jane@example.com"). A cookie header is name=value pairs: it goes on over
    each full line."""
    if kind == "cookie":
        return all(b.full for b in crossed)
    if any(_ASSIGNMENT.match(text, b.end, last) for b in crossed):
        return False
    starts, ends = spans
    if kind not in _SPACED and kind != "email" and any(b.weak for b in crossed):  # "has_secret = True\n    yield"
        if not any(_random_before(text, b.start) or _RANDOM.match(text, b.end) for b in crossed):
            return False
    for b in crossed:
        if (kind, b.end) in starts and not (b.block or _random_before(text, b.start)):
            return False
    ended = [b for b in crossed if _ends_whole(text, b, kind, ends)]
    return not ended or _goes_on(text, ended[-1], last)


def wrapped_spans(text: str, plain: list[Span], find: Callable[[str], list[Span]]) -> list[Span]:
    """Secrets and email addresses that a wrap inside them hides: read with those breaks taken out, mapped back to
    the text they cover (the breaks included), and kept when they end where a token ends."""
    breaks = _wrap_breaks(text)
    if not breaks:
        return []
    joined, where = _joined(text, breaks)
    starts = [b.start for b in breaks]
    edges = ({(kind, start) for start, _, kind, _ in plain}, {(kind, end) for _, end, kind, _ in plain})
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
        if not crossed or _goes_on_after(text, kind, crossed, last, edges):
            found.append((first, last, kind, is_pii))
    return found


def _between_a_pair(b: _Break, kind: str) -> bool:
    """Whether a break between a name and its value is inside this span (one in a cookie header may be)."""
    return b.joiner is not None and not (b.full and kind == "cookie")


_VALUE_OPENS = re.compile(r":?(?:b?\\{0,3}[\"'`])?")  # what stands between a name's line and its value


def _pair_before(text: str, breaks: list[_Break], starts: list[int], first: int) -> _Break | None:
    """The break between a name and its value when the value starts at `first`."""
    at = bisect_right(starts, first) - 1
    b = breaks[at] if at >= 0 else None
    if b is None or b.joiner is None or b.end > first:
        return None
    return b if _VALUE_OPENS.fullmatch(text, b.end, first) else None


def _covered(plain: list[Span], first: int, last: int) -> bool:
    """Whether a secret found on its own line covers this span already (an address it is part of does not)."""
    return any(start <= first and last <= end and not is_pii for start, end, _, is_pii in plain)
