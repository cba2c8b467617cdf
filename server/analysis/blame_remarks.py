"""Blame addressed to people, each applied by server/analysis/blame.py with its own rules: questions that put a person
in the dock, scolding imperatives and apologies for one's own omission. Each pattern names the person in a group
`agent` when there is one.
"""

import re

from agent_postmortem.analysis.blame_lexicon import NAME, PERSON

_I = re.IGNORECASE
# Questions that put a person in the dock: "Why didn't you test it?", "Why did Marco push to main?", "How did
# nobody notice?", "Did you even test it?". Questions about systems ("Why didn't the check catch it?") are not.
_WHY = r"\b(?:why|how\s+come)\s+"
_NEG_AUX = (
    r"(?:didn['’]?t|did\s+not|wouldn['’]?t|couldn['’]?t|haven['’]?t|hasn['’]?t|hadn['’]?t|don['’]?t|doesn['’]?t|"
    r"won['’]?t)"
)
_ACCUSED = (
    r"(?:delete|drop|wipe|remove|push|force-push|merge|deploy|release|ship|break|ignore|skip|bypass|disable|"
    r"approve|overwrite|forget|miss|revert|run|change|touch)\w*"
)
QUESTIONS = [
    # "lol who merged this without reading it", "Who approved this?": not who fixed or found it
    re.compile(
        r"(?:^|(?<=[.!?])\s+)(?:\w+[,!]?\s+)?(?P<agent>who)\s+(?:the\s+\w+\s+)?(?!(?:fixed|found|reported|noticed|"
        r"wrote\s+(?:the\s+)?(?:fix|patch)|solved|caught)\b)(?:\w+ed|ran|wrote|broke|put|left|did|made|took|let)\s+"
        r"(?:this|that|it|these|those)\b",
        _I,
    ),
    re.compile(_WHY + _NEG_AUX + r"\s+(?P<agent>" + PERSON + r"|" + NAME + r")\b", _I),
    re.compile(
        _WHY
        + r"(?:did|would|do|does|have|has|had)\s+(?P<agent>"
        + PERSON
        + r"|"
        + NAME
        + r")\s+(?:\w+ly\s+)?"
        + _ACCUSED
        + r"\b",
        _I,
    ),
    re.compile(
        r"\bhow\s+(?:did|could|come|was\s+it\s+that)\s+(?P<agent>nobody|no\s+one|noone|none\s+of\s+(?:you|us|them))"
        r"\s+(?:\w+\s+)?(?:notice|catch|see|test|check|review|spot|read)\w*",
        _I,
    ),
    re.compile(
        r"\b(?:did|do|does|have|has)\s+(?P<agent>you|they|he|she|anyone|anybody|someone)\s+(?:even|actually|ever)\s+"
        r"(?:test|run|check|read|review|look|try|compile|open|verify)\w*",
        _I,
    ),
]
# Scolding in the imperative, addressed to the people involved: "Please stop pushing to main", "Test your changes
# before you open a PR", "Actually pay attention". Instructions to operate a system ("Stop the worker") are not.
SCOLDING = re.compile(
    r"(?:^|(?<=[.!?:])\s+|\n\s*)(?:(?:please|just|so|then|now|seriously|guys|folks|people|come\s+on|next\s+time|at\s+the\s+bare"
    r"\s+minimum)[,!.]?\s+)*(?:(?:stop|quit)\s+(?:doing\s+(?:it|this|that)|pushing|merging|deploying|deleting|"
    r"breaking|force-pushing|committing|skipping|ignoring|releasing|bypassing)\b|(?:test|check|double-check|read|"
    r"run|review|compile|verify|proofread)\s+your\s+(?:own\s+)?(?:code|changes?|work|prs?|pull\s+requests?|commits?|"
    r"diffs?|patch(?:es)?|inputs?|config(?:uration)?s?|commands?|scripts?|environments?|targets?|backups?)\b|(?:actually\s+)?pay\s+(?:more\s+|closer\s+)?attention\b)",
    _I,
)
# Apologising for one's own omission or breakage: "I apologize for not running the tests", "sorry for breaking it".
APOLOGY = re.compile(
    r"\b(?P<agent>I|we)?\s*(?:apologi[sz]e|['’]m\s+sorry|am\s+sorry|are\s+sorry|['’]re\s+sorry|sorry|apologies)\s+"
    r"(?:that\s+(?:I|we)\s+(?:should(?:n['’]?t)?\s+(?:have\s+)?\w+|didn['’]?t|did\s+not|forgot|missed|broke)|"
    r"(?:for|about)\s+(?:\w+ly\s+)?(?:not\s+\w+ing|forgetting|missing|breaking|deleting|pushing|merging|skipping|"
    r"ignoring|causing|overlooking|the\s+(?:mistake|oversight|breakage|screw-?up|mess|mix-?up|f\*+k\s?-?up|"
    r"fuck\s?-?up)))(?!\w)",
    _I,
)
