"""More shapes of blame, read anywhere in a text (server/analysis/blame.py applies them beside its own): a mistake
named as a noun with a person as its agent ("a mistake by a single sysadmin", "a keystroke error by a technician"),
a fronted "Without thinking, he ran ...", owning a mistake ("That mistake was mine", "an omission of mine", "I'm
sharing the blame"), accusing questions about a missing check ("Have you tested it on staging before deploying to
prod?"), "Please don't do this", a person doing something "that broke" a system, and judgements of people
("stupidity", "a fat-fingered user"). Each pattern names the person in a group `agent` when there is one.
"""

import re

from agent_postmortem.analysis.blame_lexicon import NAME, PERSON

_I = re.IGNORECASE
_AGENT = r"(?P<agent>" + PERSON + r"|" + NAME + r")"
_MISTAKE_NOUN = r"(?:mistake|error|mis-?configuration|failure|oversight|typo|blunder|slip|screw-?up|omission)s?"
_OWNER = r"(?:mine|ours|his|hers|theirs|yours)"

# (rule, pattern): a pattern with a group `agent` blames that agent only when it is a person (not a system name).
SHAPES: list[tuple[str, re.Pattern[str]]] = [
    ("person_as_agent", re.compile(r"\b" + _MISTAKE_NOUN + r"\s+(?:[\w-]+\s+){0,4}?by\s+" + _AGENT, _I)),
    (
        "person_as_cause",
        re.compile(
            r"(?:^|(?<=[.!?])\s+)without\s+(?:\w+\s+)?(?:thinking|checking|looking|reading|testing|asking|"
            r"double-checking)[^,.;]{0,40},\s+" + _AGENT + r"\s+\w+",
            _I,
        ),
    ),
    (
        "blame_word",
        re.compile(
            r"\b" + _MISTAKE_NOUN + r"\s+(?:(?:was|is|were|are)\s+(?:all\s+)?" + _OWNER + r"|of\s+" + _OWNER + r")\b|"
            r"\b(?:I|we)(?:['’]m|['’]re|\s+am|\s+are)?\s+(?:sharing|share|take|taking|accept|accepting|shoulder\w*)\s+"
            r"(?:the\s+|full\s+|some\s+of\s+the\s+|my\s+share\s+of\s+the\s+|our\s+share\s+of\s+the\s+)?blame\b",
            _I,
        ),
    ),
    (
        "question",
        re.compile(
            r"\b(?:did|have|had)\s+(?P<agent>you|they)\s+(?:\w+\s+)?(?:test|check|run|review|read|verify|try)\w*\b"
            r"[^?.]{0,60}\bbefore\s+\w+ing\b",
            _I,
        ),
    ),
    ("scolding", re.compile(r"(?:^|(?<=[.!?:])\s+)(?:please\s+)?(?:don['’]?t|do\s+not)\s+do\s+(?:this|that)\b", _I)),
    (
        "person_as_cause",
        re.compile(
            _AGENT + r"\s+(?:pushing|deploying|running|merging|deleting|dropping|shipping|releasing|applying)\s+"
            r"(?:\S+\s+){0,5}?(?:that|which)\s+(?:\w+\s+)?(?:broke|took\s+down|brought\s+down|deleted|wiped|caused|"
            r"crashed|corrupted)\b",
            _I,
        ),
    ),
    (
        "possessive",
        re.compile(
            r"\b(?:my|our|his|her|their|your)\s+(?:(?:own|last|recent|latest|new|bad|quick|previous)\s+)?(?:change|"
            r"commit|pr|pull\s+request|patch|config|script|code|deploy|migration|push|update|edit|query|command)s?\s+"
            r"(?:\w+\s+){0,2}?(?:broke|caused|introduced|took\s+down|brought\s+down|deleted|dropped|corrupted|"
            r"crashed|wiped)\b",
            _I,
        ),
    ),
    (
        "judgement",
        re.compile(r"\b(?:stupidity|foolish(?:ness|ly)?|idiot(?:ic|s)?|bone-?headed|fat[- ]?fingered)\b", _I),
    ),
]
