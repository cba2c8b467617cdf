"""Where a secret may have been wrapped over lines (store/redact_wrapped.py joins the text there): each line break
between two token characters, with the prefix the next line repeats (mail quoting, an indentation, a container's or
service's name, a timestamp), whether the line it ends is as full as a wrapping terminal or `fold` leaves it, and
the breaks between a credential's name and a value alone on the next line, or inside a cookie header."""

import re
from functools import cached_property
from typing import NamedTuple

from agent_postmortem.store.redact_pairs import cookie_goes_on, could_join, joiner, scheme_or_url

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
# A syslog header is such a timestamp with the host and program after it: RFC 3164 ("Dec  6 10:00:00 web01
# app[123]: ", "<34>" before it as sent) and RFC 5424 ("<34>1 2026-12-06T10:00:00Z web01 app 123 - - ": host, program,
# process, message id, structured data).
_SYSLOG = (
    r"(?:<\d{1,3}>)?[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} [\w.:-]+ [\w./-]+(?:\[\d+\])?: "
    r"|<\d{1,3}>\d{1,2} \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2}) (?:\S+ ){4}"
    r"(?:-|(?:\[[^\]\n]*\])+) ?"
)
PREFIX = re.compile(
    r"(?P<base>[ \t]*(?:>[ \t]?)+|[ \t]+|\[(?!\d)[^\]\n]{1,80}\][ \t]+|[\w.-]{1,40}[ \t]*\|[ \t]?)?"
    rf"(?P<time>{_SYSLOG}|{_TIME})?"
)
_DIGITS = re.compile(r"\d+")
_CLOCK = re.compile(r"\d{2}:\d{2}:\d{2}")  # a text without one has no timestamps to leave out of widths
_COOKIE = re.compile(r"(?i)cookie")
# A wrapping terminal or `fold` fills each line it cuts: a break ends a line that is no shorter than the lines
# around it (16 characters or more), or one of 32 or more that is no shorter than the wrapped line before it.
_NARROW, _WIDE = 16, 32
ASSIGNMENT = re.compile(r"[A-Za-z_][\w.-]*\s*[=:](?![=]|$)")

# What a piece of a wrapped key looks like after its break: a run of 8 or more with a letter, and a digit or a
# capital inside (not a date: "2026-12-06 10:00"); a shorter one that ends its line has a digit or an inner capital.
RANDOM = re.compile(r"(?=[\w+/=.-]{8})(?=[\w+/=.-]*[A-Za-z])[\w+/=.-]*(?:\d|[a-z][A-Z])")
_LAST_RUN = re.compile(r"[\w+/=.@-]+$")


class Break(NamedTuple):
    start: int  # where the line break starts
    line_end: int  # where the next line starts
    end: int  # where the token goes on: after the next line's prefix
    full: bool  # the line it ends is no shorter than the lines around it
    block: bool  # and as wide as the line before it: a block cut at one width
    weak: bool  # read as a wrap only beside a random-looking piece: under 32 columns, or the next line has a prefix
    joiner: str | None = None  # between a name and its value, or in a cookie header (full): what it is read as
    width: int = 0  # of the line it ends (a wrap inside a token)


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
            prefix = PREFIX.match(self.text, start, end) if self.stamped else None
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
    mine = PREFIX.match(text, start, lines.ends[line])
    if mine is None or mine.end() == start:
        return following
    if mine.group("time"):
        theirs = PREFIX.match(text, following, lines.ends[line + 1])
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
    if not ASSIGNMENT.match(text, at):
        return False
    start, end = lines.starts[line], lines.ends[line]
    return "=" in text[start:end] or ":" in text[start:end] or random_before(text, end)


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


def _pair_break(lines: _Lines, line: int) -> Break | None:
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
    return Break(start, lines.starts[line + 1], at, False, False, True, join)


def _cookie_break(lines: _Lines, line: int, in_header: bool) -> Break | None:
    """A break in a cookie header cut at a width: inside a cookie's name, or at the `; ` between two."""
    width, end = lines.width(line) + 1, lines.ends[line]  # its last `;` is not counted
    if width <= _NARROW or width < lines.width(line + 1):
        return None
    at = _after_prefix(lines, line)
    if at is None or not cookie_goes_on(lines.text, lines.starts[line], end, at, in_header=in_header):
        return None
    if not in_header and width <= _WIDE and ASSIGNMENT.match(lines.text, at):  # "Cookie: a=b" then "DB_HOST=x"
        return None
    return Break(end, lines.starts[line + 1], at, True, False, False, "")


def wrap_breaks(text: str) -> list[Break]:
    lines = _Lines(text)
    breaks: list[Break] = []
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
            stamped = prefixed and line_stamped(text, lines.starts[line + 1])  # widths leave the times out
            block = full and (stamped or not prefixed) and width == lines.width(line - 1)
            breaks.append(Break(at, lines.starts[line + 1], end, full, block, prefixed or not wide, None, width))
    return breaks


def line_stamped(text: str, at: int) -> bool:
    """Whether the line at `at` starts with a timestamp (after a prefix)."""
    prefix = PREFIX.match(text, at)
    return prefix is not None and prefix.group("time") is not None


def random_before(text: str, at: int) -> bool:
    """Whether the token that ends at `at` (a line break) looks random (a piece of a key, not a word)."""
    run = _LAST_RUN.search(text, max(0, at - 256), at)
    return run is not None and RANDOM.match(text, run.start(), at) is not None
