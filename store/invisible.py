"""One definition of the characters a reader cannot see but a model reads, taken from Unicode properties (the
`regex` module keeps them current) rather than from a hand list.

Dropped: Default_Ignorable_Code_Point (zero-width characters, joiners, bidi controls, variation selectors including
VS17-256, Hangul fillers, the combining grapheme joiner, the tag block used for "ASCII smuggling"), every control
(Cc: C0 and C1) except tab and newline, format (Cf), private-use (Co), surrogate (Cs) and unassigned (Cn) code
points, and U+2800 BRAILLE PATTERN BLANK, the one blank no property marks as ignorable. A terminal's escape
sequence (a colour, `ESC[1m`; a title or a hyperlink, `ESC]8;;url BEL`) goes whole, not only its ESC: its rest
("[1m") would stay glued to the word it coloured, and a token printed in colour would not be seen as one.
Line and paragraph separators, vertical tab, form feed and carriage returns become `\n` (NEL, U+0085, is
dropped with the other C1 controls: today it is mostly a cp1252 ellipsis decoded as Latin-1). The same
characters written as JSON escapes (`\\u200b`, `\\udb40\\udc41`: a tool's arguments serialised with
ensure_ascii) are dropped too, so that they cannot split a secret in stored text and come back when the JSON is
read.

Applied to every text at capture, before redaction and storage, and again to every value put into a prompt.
"""

import re

import regex

_HIDDEN = r"\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}\N{BRAILLE PATTERN BLANK}"
_INVISIBLE = regex.compile(r"[[" + _HIDDEN + r"]--[\t\n]]", regex.V1)
_VISIBLE = regex.compile(r"[^\s" + _HIDDEN + r"]", regex.V1)  # what stays, and is not blank, when no escape is near
_ESC = r"(?:\x1b|(?<!\\)\\u001[bB])"  # ESC, or its JSON escape (a log line serialised with ensure_ascii)
_BEL = r"(?:\x07|(?<!\\)\\u0007)"
_TERMINAL = re.compile(  # CSI (colours, cursor moves), then OSC (titles, hyperlinks) ended by BEL or ESC \\
    rf"{_ESC}(?:\[[0-?]*[!-/]*[@-~]|\][^\x07\x1b\n]*?(?:{_BEL}|{_ESC}\\\\?))"
)
_LINE_BREAK = re.compile(r"\r\n?|[\x0b\x0c\u2028\u2029]")
_ESCAPES = (  # JSON's surrogate pairs first, then single \uXXXX (JSON, Python reprs) and \UXXXXXXXX (Python reprs)
    re.compile(r"(\\+)u([dD][89abAB][0-9a-fA-F]{2})\1u([dD][c-fC-F][0-9a-fA-F]{2})"),
    re.compile(r"(\\+)(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))"),
)


def _code_point(match: re.Match[str]) -> int:
    if match.re is _ESCAPES[0]:
        high, low = int(match.group(2), 16), int(match.group(3), 16)
        return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
    return min(int(match.group(2) or match.group(3), 16), 0x10FFFF)


def _drop_escapes(text: str) -> tuple[str, int]:
    dropped = 0

    def drop(match: re.Match[str]) -> str:
        nonlocal dropped
        char = chr(_code_point(match))
        if char in "\t\n" or 0xD800 <= ord(char) <= 0xDFFF or not _INVISIBLE.match(char):  # a half of a pair: kept
            return match.group(0)
        dropped += 1
        slashes = match.group(1)  # odd: an escape at this level; even: an escape one level of JSON deeper
        return slashes[: -1 if len(slashes) % 2 else -2]

    before = None
    while before != text:  # dropping an escape can join the pieces of another
        before = text
        for pattern in _ESCAPES:
            text = pattern.sub(drop, text)
    return text, dropped


# What a required text of invisible characters alone is refused as, wherever it comes in (a form, a tool, a command):
# it was "String should have at least 3 characters" once they were dropped, though more were sent.
NOTHING_VISIBLE = "has no visible character (only zero-width, direction or control ones, or their escapes)"


def something_visible(text: object) -> object:
    """`text` as it was, when it is no text, empty (a length rule says that) or has a character left once the
    invisible ones are dropped; else refused as having nothing visible (a pydantic BeforeValidator)."""
    if isinstance(text, str) and text and not _shows(text):
        raise ValueError(NOTHING_VISIBLE)
    return text


def _shows(text: str) -> bool:
    """Whether `text` keeps a visible character once `strip_invisible` has dropped the rest. Without ESC or a
    backslash no escape sequence can take a visible character with it, so the first visible one answers (nearly
    always the first character): the field is stripped anyway when the capture is redacted, and it was stripped a
    first time here, whole, for every field of every capture."""
    if "\x1b" in text or "\\" in text:
        return bool(strip_invisible(text)[0].strip())
    return _VISIBLE.search(text) is not None


def strip_invisible(text: str) -> tuple[str, int]:
    """The text without invisible characters (nor their escapes), its line breaks made `\\n`; and how many
    characters were dropped or changed (a CRLF line end counts as none)."""
    changed = sum(1 for m in _LINE_BREAK.finditer(text) if m.group(0) != "\r\n")
    text = _LINE_BREAK.sub("\n", text)
    if "\x1b" in text or "\\u001" in text:
        plain = _TERMINAL.sub("", text)
        changed += len(text) - len(plain)
        text = plain
    kept = _INVISIBLE.sub("", text)  # before the escapes: dropping a character can complete one (`\\\x1fu200b`)
    changed += len(text) - len(kept)
    if "\\u" in kept or "\\U" in kept:
        kept, dropped = _drop_escapes(kept)
        changed += dropped
    return kept, changed
