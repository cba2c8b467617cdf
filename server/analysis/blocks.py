"""A document as the rules read it: one block per Markdown heading, list item, quote line or paragraph.

The blame rules (server/analysis/blame.py) know where a sentence starts by the text's start or a full stop before it
("Forgot to renew the domain.", "By mistake, I ...", "On-call engineer missed ..."). In a document the sentence
under a heading or in a list item follows a line break and a marker instead ("# Review\\nForgot to renew ...",
"- By mistake, I ..."), so the rules read it as the heading's or the previous item's continuation and miss it.
`blocks` cuts a document where Markdown starts a new block (a blank line, a heading, a list item, a quote, a table
row, the line after a heading) or a plain list starts a new line, and drops the block's own marker, with the offset
of what is left; a paragraph wrapped over several lines stays one block, so a sentence that goes on past a line
break ("Dana deployed the migration\\nwithout reading it") is read whole. The scale that severity reads
(server/analysis/severity_scale.py) comes from `unwrapped` text for the same reason: a number and its unit wrapped
apart ("2.1M\\nrows") are one phrase.
"""

import re

# Where a new block starts: after a blank line, before a line opening with a Markdown marker (a heading, a quote, a
# list item, a table row); the line after a heading is cut apart below.
_CUT = re.compile(r"\n[ \t\r]*\n\s*|\n(?=[ \t]{0,3}(?:#{1,6}[ \t]|>|[-*+][ \t]|\d{1,3}[.)][ \t]|\|))")
# A line that ends with no word or mark carrying the sentence on, before a capital: a new line of a plain list
# ("The alert fired at 09:14\nForgot to renew the domain"), not a wrapped sentence ("... because\nDana deployed").
_NEW_LINE = re.compile(r"\n(?=[ \t]*[A-Z])")
_GOES_ON = re.compile(  # the end of a line that carries its sentence on to the next
    r"(?:[,;:(\-–—/&+]|\b(?:and|but|or|nor|so|that|which|who|the|a|an|to|of|by|for|with|in|on|at|from|because|"
    r"since|when|while|as|if|than|then|after|before|until|into|onto|our|their|his|her|its|my|your|this|these|"
    r"those))[ \t\r]*$",
    re.I,
)
_NAME_GOES_ON = re.compile(r"\b[a-z]+,?[ \t]+[A-Z][a-z]+[ \t\r]*$")  # "attorney, Zachariah\nCrabill, mistakenly ..."
_HEADING_LINE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t][^\n]*\n", re.M)
_MARKER = re.compile(r"\s*(?:(?:#{1,6}|>|[-*+]|\d{1,3}[.)])[ \t]+(?:\[[ xX]\][ \t]*)?)*\|?[ \t]*")


def blocks(text: str) -> list[tuple[int, str]]:
    """The blocks of `text` as (offset in `text`, block), markers dropped; the whole text when it has no breaks."""
    if "\n" not in text:
        return [(0, text)]
    cuts = {0, len(text)}
    for m in _CUT.finditer(text):
        cuts.update((m.start(), m.end()))
    for m in _NEW_LINE.finditer(text):
        line_end = max(0, m.start() - 40)
        if not _GOES_ON.search(text, line_end, m.start()) and not _NAME_GOES_ON.search(text, line_end, m.start()):
            cuts.add(m.start())
    for m in _HEADING_LINE.finditer(text):
        cuts.update((m.start(), m.end()))
    found = []
    bounds = sorted(cuts)
    for start, end in zip(bounds, bounds[1:], strict=False):
        marker = _MARKER.match(text, start, end)
        start = marker.end() if marker else start
        if text[start:end].strip():  # inside a paragraph a line break is a space, as Markdown renders it
            found.append((start, text[start:end].replace("\r", " ").replace("\n", " ")))
    return found


def unwrapped(text: str) -> str:
    """`text` with each line break inside a block read as a space, every other character and offset kept: what a
    rule written for one line ("2.1M rows", "for 38 minutes") reads in a paragraph wrapped anywhere."""
    chars = list(text)
    for start, block in blocks(text):
        chars[start : start + len(block)] = block
    for m in re.finditer(r"(?<=\d)\r?\n(?=\d)", text):  # "lost 3\n400 users" is not 3 400 (3,400) users
        chars[m.start() : m.end()] = text[m.start() : m.end()]
    return "".join(chars)
