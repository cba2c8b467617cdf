"""Scale of impact: the numbers a person would cite when asked "how bad was it?", read from a capture's text.

Each `Finding` is one dimension (people affected, records, money, outage length, share of failing requests, data
lost or exposed, an attack that succeeded, harm to people, legal consequences, the environment, a stated severity)
with its value and the quoted words it rests on, so a severity decision can list its reasons. This module reads the
numbers (counts, money, durations, shares, a stated severity); the phrases are `severity_phrases.py`. Pure regular
expressions over a few short fields: deterministic and well under a millisecond per capture.
"""

import re

from agent_postmortem.analysis.blocks import unwrapped
from agent_postmortem.analysis.severity_findings import ALL, Dimension, Finding
from agent_postmortem.analysis.severity_phrases import (
    CONDITIONAL,
    HYPOTHETICAL,
    NEGATABLE,
    NEGATED,
    PHRASES,
    theft_of_goods,
)

__all__ = ["ALL", "Dimension", "Finding", "extract"]

_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}
_VAGUE = {"dozens": 24.0, "hundreds": 200.0, "thousands": 2000.0, "millions": 2e6, "tens of thousands": 20000.0}
# Thousands are grouped by a comma, a dot, a space, a no-break space or a narrow no-break space: "12,000",
# "12.000", "12 000", "1.234.567". A number is grouped only by its shape: one to three digits, then groups of exactly
# three after one and the same separator, with no digit right after. "12.000" is therefore twelve thousand (a count
# of twelve is not written with three decimals); "12.0005", "1.5" and "v1.2.300" (no digit or a dot before: see
# _NOT_A_COUNT) are not grouped. A comma or a space grouping may end in decimals ("$1,234.56"); a dot grouping may not.
_GROUPED = r"\d{1,3}(?:(?:(?:,\d{3})+|(?:[ \u00a0\u202f]\d{3})+)(?:\.\d+)?|(?:\.\d{3})+)(?![.,]?\d)"
_NUM = r"(?<![\d.])(" + _GROUPED + r"|\d+(?:\.\d+)?)\s?(k|m|mn|b|bn|thousand|million|billion)?\b"
_DOT_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+")
_PEOPLE = (
    r"(?:users?|customers?|people|persons|accounts?|students|subscribers|patients|developers|clients|tenants|"
    r"organi[sz]ations|companies|businesses|merchants|members|employees|individuals|victims|shoppers|travell?ers|"
    r"passengers|drivers|residents|citizens|children|teens|minors|households|families|consumers|visitors|callers)"
)
_RECORDS = (
    r"(?:rows|records|files|documents|entries|messages|emails|e-mails|tables|databases|conversations|chats|"
    r"transactions|orders|tickets|repositories|repos|commits|objects|items|images|photos|videos|profiles)"
)


def _number(digits: str, unit: str | None) -> float:
    """The value of a number as `_NUM` reads it; "2.500 million" keeps its dot as a decimal point."""
    if _DOT_GROUPED.fullmatch(digits) and not unit:
        digits = digits.replace(".", "")
    value = float(re.sub(r"[,\s]", "", digits))
    return value * _MULTIPLIERS.get((unit or "").lower(), 1.0)


def _quote(text: str, match: re.Match[str], before: int = 0, after: int = 0) -> str:
    """The matched words with a little context, cut at word boundaries."""
    start, end = max(0, match.start() - before), min(len(text), match.end() + after)
    while 0 < start < match.start() and not text[start - 1].isspace():
        start += 1
    while match.end() < end < len(text) and not text[end].isspace():
        end -= 1
    return " ".join(text[start:end].split())[:160]


_I = re.IGNORECASE
_COUNT_OF = re.compile(_NUM + r"\+?(?:\s+(?:\w+\s+){0,2}?)(" + _PEOPLE + r"|" + _RECORDS + r")\b", _I)
_RECORDS_NEXT = re.compile(r"\s+" + _RECORDS + r"\b", _I)
_VAGUE_OF = re.compile(
    r"\b(tens of thousands|dozens|hundreds|thousands|millions)\s+of\s+(" + _PEOPLE + "|" + _RECORDS + r")\b", _I
)
_ALL_PEOPLE = re.compile(
    r"\b(?:all|every|each)\s+(?:of\s+)?(?:our\s+|the\s+|its\s+)?(?:\w+\s+)?(?:user|customer|client|tenant|account|"
    r"subscriber|user tier)s?\b|\bunavailable to all\b|\beveryone\b|\ball regions\b",
    _I,
)
_FEW_PEOPLE = re.compile(
    r"\b(?:a|one|single|individual|some|a few|a small number of|a subset of|a handful of|certain|my)\s+"
    r"(?:\w+\s+)?(?:users?|customers?|accounts?|clients?|tenants?)\b|\bnot all customers\b",
    _I,
)
# "used by over 2 million users" is the platform's size; "over 2 million users affected" is who was affected
_PLATFORM_SIZE = re.compile(
    r"\b(?:serv(?:es|ing)|used by|trusted by|has|have|with|of its|base of)(?:\s+(?:over|more than|nearly|about))?\s*$",
    _I,
)
# a clock time, a version or a year is no count: "00:20 UTC all users", "GPT-4 users", "v2.3 users", "in 2023 users"
_NOT_A_COUNT = re.compile(r"(?:[:.\-]|\bv)$")
_YEAR = re.compile(r"(?:19|20)\d\d")
_BEFORE_A_YEAR = re.compile(r"\b(?:in|since|during|until|by|from|before|after|of|year)\s+$", _I)
_MONEY = re.compile(
    r"(?:[$€£]\s?" + _NUM + r")|(?:\b" + _NUM + r"\s?(?:usd|dollars|eur|euros|gbp|pounds)\b)"
    r"|(?:\b(?:usd|eur|gbp|cad|aud)\s?" + _NUM + r")",
    _I,
)
_DURATION = re.compile(
    r"(\d+(?:\.\d+)?)\+?\s?(minutes?|mins?|hours?|hrs?|h|days?|weeks?|months?)\b"
    r"(?:\s+(?:and\s+)?(\d+)\s?(minutes?|mins?|m)\b)?",
    _I,
)
# "3:30am", "17:34", and an hour alone when am/pm follows: "from 9am to 5pm", "11pm-1am"
_CLOCK = r"(\d{1,2})(?::(\d{2})|(?=\s?[ap]m\b))\s?(am|pm)?"
_RANGE = re.compile(r"(?:from|between)\s+" + _CLOCK + r"[^\d\n]{0,25}?(?:to|and|until|-|–|→)\s*" + _CLOCK, _I)
_DASH_RANGE = re.compile(_CLOCK + r"\s?[–-]\s?" + _CLOCK, _I)
_SHARE = re.compile(r"(?:>\s?)?(\d{1,3}(?:\.\d+)?)\s?%", _I)
_FAILURE_WORDS = re.compile(
    r"error|fail|unavailab|down\b|outage|degrad|timeout|time out|503|500|reject|broken|could not|couldn't|unable", _I
)
_TARGET = re.compile(r"\s*(?:\w+\s+){0,2}?(?:sla|slo|slas|slos|target|objective|goal|commitment)\b", _I)
_SUCCEEDED = re.compile(r"\b(?:availability|uptime|success(?:ful)? rate|succeeded)\b[^.;\n%]{0,30}$", _I)
_OUT_OF = re.compile(r"\b(\d+)\s+(?:out\s+)?of\s+(?:the\s+|our\s+)?(\d+)\b", _I)
_UNIT_MINUTES = {"m": 1.0, "h": 60.0, "d": 1440.0, "w": 10080.0}


def _minutes(amount: str, unit: str) -> float:
    unit = unit.lower()
    factor = 43200.0 if unit.startswith("mo") else _UNIT_MINUTES[unit[0]]
    return float(amount) * factor


def _clock_minutes(hour: str, minute: str | None, half: str | None) -> int:
    h = int(hour) % 12 if half else int(hour)
    return (h + (12 if (half or "").lower() == "pm" else 0)) * 60 + int(minute or 0)


_STATED = re.compile(
    r"\bseverity\W{0,4}(critical|major|high|minor|low|sev\s?[0-4])\b|\b(sev\s?[0-4])\b|\bcvss(?:\s?v?3(?:\.1)?)?"
    r"(?:\s?(?:base\s)?score)?\W{0,3}(\d{1,2}\.\d)",
    _I,
)


def _counts(text: str, field: str) -> list[Finding]:
    found = []
    for m in _COUNT_OF.finditer(text):
        before = text[max(0, m.start() - 24) : m.start()]
        if _PLATFORM_SIZE.search(before):
            continue  # "serving over 100,000 students" is the platform's size, not who was affected
        if _NOT_A_COUNT.search(before) or (_YEAR.fullmatch(m.group(1)) and _BEFORE_A_YEAR.search(before)):
            continue
        noun = m.group(3).lower()
        dimension: Dimension = "records" if re.fullmatch(_RECORDS, noun, _I) else "people"
        quote, head = _quote(text, m), _RECORDS_NEXT.match(text, m.end())
        if head:  # "2.5k customer records" are records, not customers
            dimension, quote = "records", " ".join(text[m.start() : head.end()].split())[:160]
        found.append(Finding(dimension, _number(m.group(1), m.group(2)), quote, field))
    for m in _VAGUE_OF.finditer(text):
        dimension = "records" if re.fullmatch(_RECORDS, m.group(2).lower(), _I) else "people"
        found.append(Finding(dimension, _VAGUE[m.group(1).lower()], _quote(text, m), field))
    found += [Finding("people", ALL, _quote(text, m), field) for m in _ALL_PEOPLE.finditer(text)]
    found += [Finding("people", 1, _quote(text, m), field) for m in _FEW_PEOPLE.finditer(text)]
    return found


def _money(text: str, field: str) -> list[Finding]:
    found = []
    for m in _MONEY.finditer(text):
        digits, unit = next((m.group(i), m.group(i + 1)) for i in (1, 3, 5) if m.group(i))
        found.append(Finding("money", _number(digits, unit), _quote(text, m), field))
    return found


def _durations(text: str, field: str) -> list[Finding]:
    found = []
    for m in _DURATION.finditer(text):
        minutes = _minutes(m.group(1), m.group(2)) + (float(m.group(3)) if m.group(3) else 0.0)
        found.append(Finding("outage_minutes", minutes, _quote(text, m, before=24), field))
    for pattern in (_RANGE, _DASH_RANGE):
        for m in pattern.finditer(text):
            start, end = _clock_minutes(*m.group(1, 2, 3)), _clock_minutes(*m.group(4, 5, 6))
            if m.group(3) and not m.group(6):  # "3:30am PT and 7:08" carries the first half's am/pm
                end = _clock_minutes(m.group(4), m.group(5), m.group(3))
            span = (end - start) % 1440
            if 0 < span < 1440:
                found.append(Finding("outage_minutes", float(span), _quote(text, m), field))
    return found


def _shares(text: str, field: str) -> list[Finding]:
    found = []
    for m in _OUT_OF.finditer(text):
        part, whole = float(m.group(1)), float(m.group(2))
        if 0 < part <= whole and _FAILURE_WORDS.search(text[max(0, m.start() - 60) : m.end() + 60]):
            found.append(Finding("failing_share", round(100 * part / whole, 1), _quote(text, m, after=30), field))
    for m in _SHARE.finditer(text):
        around = text[max(0, m.start() - 60) : m.end() + 60]
        if _TARGET.match(text, m.end()):
            continue  # "we breached our 99.9% SLA", "below our 99.95% availability target": a goal, not what failed
        if _FAILURE_WORDS.search(around):
            value = float(m.group(1))
            if _SUCCEEDED.search(text[max(0, m.start() - 40) : m.start()]):
                value = round(100 - value, 3)  # "availability dropped to 97.5%": 2.5% failing
            found.append(Finding("failing_share", value, _quote(text, m, before=30, after=30), field))
    return found


def _stated(text: str, field: str) -> list[Finding]:
    found = []
    for m in _STATED.finditer(text):
        word = (m.group(1) or m.group(2) or "").lower().replace(" ", "")
        if m.group(3):
            score = float(m.group(3))
            level = 1 if score >= 9 else 2 if score >= 7 else 3 if score >= 4 else 4
        elif word.startswith("sev"):
            level = max(1, int(word[-1]))
        else:
            level = {"critical": 1, "major": 2, "high": 2, "minor": 3, "low": 4}[word]
        found.append(Finding("stated", float(level), _quote(text, m), field))
    return found


def _hypothetical(text: str, at: int) -> bool:
    return bool(HYPOTHETICAL.search(text[max(0, at - 40) : at]) or CONDITIONAL.search(text[max(0, at - 160) : at]))


def extract(fields: dict[str, str]) -> list[Finding]:
    """Every finding in the given text fields (name -> text), in field order."""
    found: list[Finding] = []
    for field, text in fields.items():
        if not text:
            continue
        text = unwrapped(text)  # a phrase wrapped over two lines is still one phrase
        found += _counts(text, field) + _money(text, field) + _durations(text, field)
        found += _shares(text, field) + _stated(text, field)
        for dimension, pattern in PHRASES:
            found += [
                Finding(dimension, 1.0, _quote(text, m, before=20, after=20), field)
                for m in pattern.finditer(text)
                if dimension == "vulnerability" or not _hypothetical(text, m.start())
                if dimension not in NEGATABLE or not NEGATED.search(text[max(0, m.start() - 60) : m.start()])
                if dimension != "attack" or not theft_of_goods(text, m)
            ]
    return found
