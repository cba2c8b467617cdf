"""Scale of impact: the numbers a person would cite when asked "how bad was it?", read from a capture's text.

Each `Finding` is one dimension (people affected, records, money, outage length, share of failing requests, data
lost or exposed, an attack that succeeded, harm to people, legal consequences, the environment, a stated severity)
with its value and the quoted words it rests on, so a severity decision can list its reasons. Pure regular
expressions over a few short fields: deterministic and well under a millisecond per capture.
"""

import re

from agent_postmortem.analysis.severity_findings import ALL, Dimension, Finding

__all__ = ["ALL", "Dimension", "Finding", "extract"]

_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}
_VAGUE = {"dozens": 24.0, "hundreds": 200.0, "thousands": 2000.0, "millions": 2e6, "tens of thousands": 20000.0}
_NUM = r"(\d{1,3}(?:[,\u202f]\d{3})+|\d+(?:\.\d+)?)\s?(k|m|mn|b|bn|thousand|million|billion)?\b"
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
    value = float(digits.replace(",", "").replace("\u202f", ""))
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
_COUNT_OF = re.compile(_NUM + r"(?:\s+(?:\w+\s+){0,2}?)(" + _PEOPLE + r"|" + _RECORDS + r")\b", _I)
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
_PLATFORM_SIZE = re.compile(r"\b(?:serv(?:es|ing)|used by|trusted by|has|have|with|of its|base of|over)\s*$", _I)
_MONEY = re.compile(r"(?:[$€£]\s?" + _NUM + r")|(?:\b" + _NUM + r"\s?(?:usd|dollars|eur|euros|gbp|pounds)\b)", _I)
_DURATION = re.compile(
    r"(\d+(?:\.\d+)?)\s?(minutes?|mins?|hours?|hrs?|h|days?|weeks?|months?)\b"
    r"(?:\s+(?:and\s+)?(\d+)\s?(minutes?|mins?))?",
    _I,
)
_CLOCK = r"(\d{1,2}):(\d{2})\s?(am|pm)?"
_RANGE = re.compile(r"(?:from|between)\s+" + _CLOCK + r"[^\d\n]{0,25}?(?:to|and|until|-|–|→)\s*" + _CLOCK, _I)
_DASH_RANGE = re.compile(_CLOCK + r"\s?[–-]\s?" + _CLOCK, _I)
_SHARE = re.compile(r"(?:>\s?)?(\d{1,3}(?:\.\d+)?)\s?%", _I)
_FAILURE_WORDS = re.compile(
    r"error|fail|unavailab|down\b|outage|degrad|timeout|time out|503|500|reject|broken|could not|couldn't|unable", _I
)
_HYPOTHETICAL = re.compile(
    r"\b(?:could|would|might|may|can|cannot|can't|potentially|possibly|if|risk of|risks|to prevent|avoid|never)\b"
    r"(?:\s+\S+){0,3}\s*$",
    _I,
)
_OUT_OF = re.compile(r"\b(\d+)\s+(?:out\s+)?of\s+(?:the\s+|our\s+)?(\d+)\b", _I)
_UNIT_MINUTES = {"m": 1.0, "h": 60.0, "d": 1440.0, "w": 10080.0}


def _minutes(amount: str, unit: str) -> float:
    unit = unit.lower()
    factor = 43200.0 if unit.startswith("mo") else _UNIT_MINUTES[unit[0]]
    return float(amount) * factor


def _clock_minutes(hour: str, minute: str, half: str | None) -> int:
    h = int(hour) % 12 if half else int(hour)
    return (h + (12 if (half or "").lower() == "pm" else 0)) * 60 + int(minute)


_PATTERNS: list[tuple[Dimension, re.Pattern[str]]] = [
    (
        "outage",
        re.compile(
            r"\b(?:outage|went down|was down|were down|is down|are down|down for|unavailable|inaccessible|offline|"
            r"unreachable|not reachable|degraded|degradation|elevated (?:error|latenc)\w*|"
            r"(?:high|increased) error rates?|"
            r"failed to (?:load|start|respond)|stopped working|could not (?:log ?in|access|connect)|disruption|"
            r"service interruption|crash(?:ed|ing)? for)",
            _I,
        ),
    ),
    (
        "full_outage",
        re.compile(
            r"\b(?:(?:full|complete|total|major|global|worldwide|widespread) outage|completely (?:down|unavailable)|"
            r"unavailable to all|"
            r"(?:all|every|entire|whole)\b[^.\n]{0,50}?\b(?:down|unavailable|inaccessible|offline)\b|"
            r"(?:was|were|went) (?:completely )?(?:down|offline)|100% of (?:\w+ )?requests|"
            r"(?:all|every|entire)\s+(?:\w+\s+){0,3}?(?:services|traffic|requests|endpoints|apis|sites|agents)\b"
            r"[^.\n]{0,40}?(?:fail\w*|errors?|return\w* (?:status )?(?:50\d|40[34])|50\d))",
            _I,
        ),
    ),
    (
        "pulled",
        re.compile(
            r"\b(?:shut (?:it |them )?down|(?:was|were|been) (?:shut down|suspended|pulled|halted|discontinued|"
            r"withdrawn|disabled)|took (?:\w+ ){1,2}offline|(?:suspend|pull|halt|disabl|withdr[ae]w)\w* (?:the |its )?"
            r"(?:feature|bot|chatbot|service|tool|product|model|rollout|launch|app)|temporary halt|recall\w*)",
            _I,
        ),
    ),
    (
        "public",
        re.compile(
            r"\b(?:widespread|viral|went viral|public outcry|backlash|outrage|cancellations?|mass (?:\w+ )?"
            r"(?:reports|complaints))",
            _I,
        ),
    ),
    (
        "internal_only",
        re.compile(
            r"\b(?:log ?shipp\w*|logs? (?:were |are )?not (?:shipped|sent|collected)|metrics|monitoring|"
            r"observability|prometheus|grafana|alerting|exporter|internal (?:tool|tooling|users?|"
            r"dashboard|service|staff))",
            _I,
        ),
    ),
    (
        "data_loss",
        re.compile(
            r"\b(?:data loss|lost (?:all |their |my |our )?(?:data|work|files|records|history|changes|code)|"
            r"(?:deleted|dropped|wiped|erased|destroyed|truncated|overwrote|overwritten|purged)\b[^.\n]{0,60}?"
            r"(?:database|table|rows|records|data|files|directory|folder|repo|repository|codebase|history|backups?|"
            r"volume|disk|bucket|project|home|conversations?|messages|threads?|chats?|emails|worktree|branch)|"
            r"permanently (?:lost|deleted|erased)|irrecoverabl\w*|unrecoverabl\w*|"
            r"corrupt(?:ed|ion|s)?\b|(?:data|rows|records|files|work|changes|history) (?:was |were |are |is )?"
            r"(?:lost|deleted|wiped|erased|gone)|(?:rm -rf|drop table|terraform destroy|reset --hard))",
            _I,
        ),
    ),
    (
        "data_recovered",
        re.compile(
            r"\b(?:recovered (?:the|all|his|her|their|our|my)? ?(?:data|database|files)|restored from (?:a )?backups?|"
            r"(?:data|files|database) (?:was|were) (?:recovered|restored)|recoverable|no data (?:was )?lost|"
            r"no (?:work|data) was lost|no data loss|able to recover|only recovered)",
            _I,
        ),
    ),
    (
        "data_exposed",
        re.compile(
            r"\b(?:leak(?:ed|s|ing)?|expos(?:ed|ure|ing|es)\s+(?:of\s+)?(?:\S+\s+){0,4}?(?:data|records|information|"
            r"details|pii|credentials|secrets?|keys|tokens|emails|conversations|messages|files|documents|prompts?|"
            r"patients|customers|users|people)\b|data exposure|exfiltrat\w*|breach(?:ed)?|"
            r"(?:shown|visible|sent|revealed) to "
            r"(?:other|another|the wrong|unrelated)\s+\w+|"
            r"other users?'?s?\s+(?:\w+\s+)?(?:data|conversations?|chats?|histor(?:y|ies)|messages|sessions|"
            r"information)|"
            r"personal (?:data|information)|\bpii\b|medical records|credit card|social security|passwords?|"
            r"credentials|api keys?|secrets?|private (?:repos|repositories|messages|data))",
            _I,
        ),
    ),
    (
        "attack",
        re.compile(
            r"\b(?:stole|stolen|theft|hijack\w*|(?:was|were|been) compromised|malicious (?:worm|package|code) "
            r"(?:spread|published)|attackers? (?:(?:was|were) able|managed|used|stole|gained|exfiltrat\w*|drained)|"
            r"unauthori[sz]ed (?:transfer|transaction|purchase|access|payment|withdrawal)s?|drained|ransom\w*|"
            r"fraudulent (?:prompts|transfer|transactions)|defrauded|scammed)",
            _I,
        ),
    ),
    (
        "vulnerability",
        re.compile(
            r"\b(?:vulnerab\w*|\bcve-\d{4}|could (?:allow|let|be used)|(?:may|might) allow|proof[- ]of[- ]concept|"
            r"\bpoc\b|security researchers?|responsibly disclosed|demonstrated)",
            _I,
        ),
    ),
    (
        "harm",
        re.compile(
            r"\b(?:died|death|killed|suicide|took (?:his|her|their) own life|hospitali[sz]\w*|poison\w*|"
            r"seriously injured|overdose)",
            _I,
        ),
    ),
    (
        "legal",
        re.compile(
            r"\b(?:lawsuit|sued|sues|court|judge|tribunal|regulator\w*|fined|\bfine of|sanction\w*|settlement|"
            r"class action|attorney general|ftc|gdpr complaint|investigation by)",
            _I,
        ),
    ),
    (
        "non_production",
        re.compile(
            r"\b(?:staging|sandbox|test (?:environment|env|database|db|project|repo|account|data|run)|"
            r"dev(?:elopment)? (?:environment|env|database|db|server|instance)|in ci\b|local (?:dev|test) "
            r"(?:database|db|environment)|dry[- ]run|not (?:in )?production)",
            _I,
        ),
    ),
    (
        "production",
        re.compile(r"\b(?:production|prod\b|live (?:site|system|environment|database|traffic)|customer-facing)", _I),
    ),
    (
        "no_impact",
        re.compile(
            r"\b(?:no (?:user|customer|production|real|external)[- ]?(?:facing )?impact|no impact|no harm|"
            r"near[- ]miss|nothing was lost|no work was lost|caught (?:it )?before|was a no-op|no-op here|"
            r"without (?:any )?(?:user|customer) impact|never reached (?:users|customers|production))",
            _I,
        ),
    ),
    (
        "user_facing",
        re.compile(
            r"\b(?:users? (?:saw|see|got|received|were shown)|customers? (?:saw|got|received|complained)|"
            r"user-facing|customer-facing|reported by (?:a )?customers?)",
            _I,
        ),
    ),
]
_STATED = re.compile(
    r"\bseverity\W{0,4}(critical|major|high|minor|low|sev\s?[0-4])\b|\b(sev\s?[0-4])\b|\bcvss(?:\s?v?3(?:\.1)?)?"
    r"(?:\s?(?:base\s)?score)?\W{0,3}(\d{1,2}\.\d)",
    _I,
)


def _counts(text: str, field: str) -> list[Finding]:
    found = []
    for m in _COUNT_OF.finditer(text):
        if _PLATFORM_SIZE.search(text[max(0, m.start() - 24) : m.start()]):
            continue  # "serving over 100,000 students" is the platform's size, not who was affected
        noun = m.group(3).lower()
        dimension: Dimension = "records" if re.fullmatch(_RECORDS, noun, _I) else "people"
        found.append(Finding(dimension, _number(m.group(1), m.group(2)), _quote(text, m), field))
    for m in _VAGUE_OF.finditer(text):
        dimension = "records" if re.fullmatch(_RECORDS, m.group(2).lower(), _I) else "people"
        found.append(Finding(dimension, _VAGUE[m.group(1).lower()], _quote(text, m), field))
    found += [Finding("people", ALL, _quote(text, m), field) for m in _ALL_PEOPLE.finditer(text)]
    found += [Finding("people", 1, _quote(text, m), field) for m in _FEW_PEOPLE.finditer(text)]
    return found


def _money(text: str, field: str) -> list[Finding]:
    found = []
    for m in _MONEY.finditer(text):
        digits, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
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
        if _FAILURE_WORDS.search(around):
            found.append(Finding("failing_share", float(m.group(1)), _quote(text, m, before=30, after=30), field))
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


def extract(fields: dict[str, str]) -> list[Finding]:
    """Every finding in the given text fields (name -> text), in field order."""
    found: list[Finding] = []
    for field, text in fields.items():
        if not text:
            continue
        found += _counts(text, field) + _money(text, field) + _durations(text, field)
        found += _shares(text, field) + _stated(text, field)
        for dimension, pattern in _PATTERNS:
            found += [
                Finding(dimension, 1.0, _quote(text, m, before=20, after=20), field)
                for m in pattern.finditer(text)
                if dimension == "vulnerability" or not _HYPOTHETICAL.search(text[max(0, m.start() - 40) : m.start()])
            ]
    return found
