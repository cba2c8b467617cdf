"""Stored text as inert Markdown: one escaping function per place a value lands in a report.

Every stored value is hostile wherever it is shown: a newline ends a code span, a fence swallows the rest of
the report, a reference definition or an autolink adds a link, a raw tag is live HTML in renderers that allow
it. Each function returns `Markdown`, text that is safe as it is; the report templates escape everything else
with `inline` (their `finalize`), so a value a template forgets to escape is escaped anyway.

- `inline`: paragraph text, a list item, a heading, a table cell. One line; no construct of its own, and no
  @-mention that would ping someone on GitHub (`@&#8203;octocat`, as bots write it).
- `block`: multi-line text (a description, a root cause): one paragraph whose lines are hard line breaks, a blank
  line kept as a line of one no-break space.
- `code`: an inline code span, outside tables.
- `fence`: a fenced code block (a stack trace), on lines of its own.
- `link`: a link to one of this server's own resources (report://INC-4), with an escaped label.

`clipped` cuts a long value (a similar incident's root cause in a table cell) at a word, marked with "…".
"""

import re

__all__ = ["Markdown", "block", "clipped", "code", "fence", "finalize", "inline", "link"]


class Markdown(str):
    """Text that is already valid, inert Markdown: placed as it is."""


_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_ENTITY_START = re.compile(r"[#A-Za-z0-9]")
_ALNUM = re.compile(r"[^\W_]")
_MENTION_AFTER = re.compile(r"[A-Za-z0-9]")
_ALWAYS = {"`": "\\`", "*": "\\*", "~": "\\~", "[": "\\[", "]": "\\]", "|": "\\|", "<": "&lt;", ">": "&gt;"}
# at the start of a line: a list item (`- `, `+ `, `1. `, `2) `), a thematic break or setext underline (`---`, `===`),
# a heading (`#`); `*`, `_`, `>` and the rest are escaped wherever they are
_LINE_START = re.compile(r"^(?:([-+=])(?=\s|[-=\s]*$)|(#)|(\d{1,9})([.)])(?=\s|$))")
_TRAILING_HASHES = re.compile(r"(?<=\s)(#+)$")


def _escape_char(text: str, i: int) -> str:
    char = text[i]
    if char in _ALWAYS:
        return _ALWAYS[char]
    after = text[i + 1] if i + 1 < len(text) else ""
    if char == "\\":  # a backslash escapes the next punctuation (ours too): double it there
        return "\\\\" if after == "" or after in _PUNCTUATION else char
    if char == "&":  # an entity (&lt; &#60;) would be decoded
        return "&amp;" if _ENTITY_START.match(after) else char
    if char == "@":  # a GitHub mention in a report pasted into an issue pings whoever a stored value names
        before = text[i - 1] if i else ""
        mention = _MENTION_AFTER.match(after) and not (_ALNUM.match(before) or (before and before in "_`"))
        return "@&#8203;" if mention else char  # reads as @octocat, pings no one; ops@example.com stays
    if char == "_":  # emphasis, unless between two letters or digits (snake_case stays readable)
        before = text[i - 1] if i else ""
        return char if _ALNUM.match(before) and _ALNUM.match(after) else "\\_"
    return char


def inline(value: object) -> Markdown:
    """One line of text that renders as itself: whitespace (newlines too) collapsed, every character that could
    start a Markdown or HTML construct escaped."""
    text = " ".join(str(value).split())
    escaped = "".join(_escape_char(text, i) for i in range(len(text)))
    escaped = _LINE_START.sub(lambda m: f"\\{m[1] or m[2]}" if m[1] or m[2] else f"{m[3]}\\{m[4]}", escaped)
    return Markdown(_TRAILING_HASHES.sub(lambda m: "\\#" * len(m[1]), escaped))


BLANK = "\u00a0"  # a line of one no-break space: blank to a reader, no blank line to Markdown


def block(value: object) -> Markdown:
    """Multi-line text as one paragraph: each line escaped like `inline`, lines joined by hard breaks. Blank lines
    between lines of text (one, however many there were) are kept as a line holding only a no-break space: an
    empty line would end the paragraph and a list item (a timeline event), a no-break space is text."""
    lines = [inline(part) for part in str(value).splitlines()]
    kept = [line or BLANK for n, line in enumerate(lines) if line or (n and lines[n - 1])]
    while kept and kept[-1] == BLANK:
        kept.pop()
    return Markdown("  \n".join(kept))


def code(value: object) -> Markdown:
    """An inline code span whose fence is longer than any backtick run inside: nothing in it is interpreted,
    and it cannot end early. Whitespace (newlines too) is collapsed. Not for table cells (a pipe ends a cell)."""
    text = " ".join(str(value).split())
    if not text:
        return Markdown("")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


FENCED_LINES = 20  # a stack trace ends with the error: its last lines are the ones a reader needs


def fence(value: object, *, last: int = FENCED_LINES) -> Markdown:
    """Lines kept as written (indentation too) in a fenced code block whose fence is longer than any backtick run
    inside, so nothing in it is interpreted and it cannot end early; only the `last` lines, saying how many went."""
    lines = [line.rstrip() for line in str(value).splitlines() if line.strip()]
    left_out = max(0, len(lines) - last)
    kept = ([f"… {left_out} earlier line(s) left out"] if left_out else []) + lines[left_out:]
    text = "\n".join(kept)
    ticks = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return Markdown(f"{ticks}text\n{text}\n{ticks}")


_OWN_RESOURCE = re.compile(r"(?:report|review|runbook|incident)://[A-Za-z0-9_-]{1,80}")


def link(label: object, target: str) -> Markdown:
    """A link to one of this server's own resources; any other target leaves the escaped label unlinked."""
    if not _OWN_RESOURCE.fullmatch(target):
        return inline(label)
    return Markdown(f"[{inline(label)}]({target})")


def finalize(value: object) -> str:
    """The templates' default: values not already `Markdown` are escaped as `inline` text."""
    if isinstance(value, Markdown):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return inline(value)


def clipped(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut at the last word that fits and marked with "…", so that a
    stub is not taken for the whole text."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    words = cut.rsplit(" ", 1)[0] if " " in cut[limit // 2 :] else cut
    return words.rstrip(" ,;:-") + "…"
