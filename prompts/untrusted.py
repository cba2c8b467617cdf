"""Untrusted text as prompt data: invisible characters dropped (the store's one definition), and anything that reads
as the data delimiter defused, however it is spelt.

Look-alikes are found on a folded view of the text: NFKC (fullwidth and other compatibility forms), then Unicode's
confusables (confusables.txt, through the confusable-homoglyphs package) for the characters of the delimiter
(`<`, `>`, `/`, `DATA`, `END`), then upper case. What the folded view matches is replaced in the original text.
"""

import unicodedata
from functools import cache

import regex

from agent_postmortem.store.invisible import strip_invisible

DEFUSED = "[delimiter removed]"
_TARGETS = "<>/\\DATEN"
_OPEN = r"(?:<|&LT;?|&#0*60;?|&#X0*3C;?)"
_CLOSE = r"(?:>|&GT;?|&#0*62;?|&#X0*3E;?)"
_SEP = r"[\s._-]?"
_WORD = rf"(?:D{_SEP}A{_SEP}T{_SEP}A|E{_SEP}N{_SEP}D)"
_TAIL = rf"(?:[^<>\n]{{0,60}}?{_CLOSE}+)?"
_DELIMITER = regex.compile(
    rf"{_OPEN}+\s*[/\\]\s*{_WORD}{_TAIL}"  # a closing tag, whatever follows the word: </DATA_BLOCK>, </END>
    rf"|{_OPEN}+\s*{_WORD}(?![A-Z]){_TAIL}"  # an opening one: <DATA-1>, <<END>>, a cut-off <DATA-1
    rf"|[\p{{Ps}}\p{{Pi}}]\s*[/\\]\s*{_WORD}(?![A-Z])(?:[^\n]{{0,60}}?[\p{{Pe}}\p{{Pf}}>])?",  # 〈/DATA-1〉, [/END]
)

# a chat template's control tokens, which llama.cpp, vLLM and Ollama read as such inside a message's text: an
# incident holding `<|im_end|><|im_start|>system` ended the user's turn and opened a system one for the local model
_CONTROL = regex.compile(
    r"<\|[^|<>\n]{1,40}\|>"  # ChatML, Llama 3, Phi, harmony (and DeepSeek's fullwidth bars, folded): <|im_end|>
    r"|<\s*/?\s*S\s*>|<\s*(?:START|END)_OF_TURN\s*>"  # Llama 2 and Mistral's <s> </s>; Gemma's turns
    r"|\[\s*/?\s*INST\s*\]|<<\s*/?\s*SYS\s*>>"  # Llama 2 and Mistral's [INST] [/INST] <<SYS>>
)


@cache
def _confusables() -> dict[str, str]:
    """Each character Unicode lists as confusable with one of the delimiter's characters, mapped to it."""
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for char, homoglyphs in confusables_data.items():
        for glyph in (h["c"] for h in homoglyphs):
            if char in _TARGETS or char.upper() in _TARGETS and char.isascii():
                table.setdefault(glyph, char.upper())
            elif len(glyph) == 1 and glyph.upper() in _TARGETS and glyph.isascii():
                table.setdefault(char, glyph.upper())
    return {k: v for k, v in table.items() if len(k) == 1 and not k.isascii()}


def fold(text: str) -> tuple[str, list[int]]:
    """The text as its delimiter characters look (NFKC, confusables, upper case), and for each folded character
    the index of the original character it came from."""
    if text.isascii():
        return text.upper(), list(range(len(text)))
    table = _confusables()
    pieces, where = [], []
    for i, char in enumerate(text):
        for c in unicodedata.normalize("NFKC", char):
            piece = table.get(c, c).upper()
            pieces.append(piece)
            where += [i] * len(piece)
    return "".join(pieces), where


def defuse_delimiters(text: str) -> str:
    folded, where = fold(text)
    found = [*_DELIMITER.finditer(folded), *_CONTROL.finditer(folded)]
    spans: list[tuple[int, int]] = []
    for start, end in sorted((where[m.start()], where[m.end() - 1] + 1) for m in found if m.end() > m.start()):
        if spans and start < spans[-1][1]:  # overlapping matches are one
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    for start, end in reversed(spans):
        text = text[:start] + DEFUSED + text[end:]
    return text


def neutralize(text: object) -> str:
    """Untrusted text as prompt data: no invisible characters, and delimiter look-alikes and a chat template's
    control tokens defused so that it cannot open or close a data block, nor end the turn it is in."""
    return defuse_delimiters(strip_invisible("" if text is None else str(text))[0])
