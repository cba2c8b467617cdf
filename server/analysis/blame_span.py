"""A span of text that blames a person (BlameSpan), and the clause and sentence around a place in a text, as the
blame rules (blame.py, blame_subject.py) read them."""

import re
from dataclasses import dataclass

from agent_postmortem.analysis.blame_lexicon import CLAUSE_END

_I = re.IGNORECASE


@dataclass(frozen=True)
class BlameSpan:
    start: int
    end: int
    rule: str
    agent: str


def _clause_after(text: str, pos: int, limit: int = 90) -> str:
    tail = text[pos : pos + limit]
    cut = re.search(CLAUSE_END, tail, _I)
    return tail[: cut.start()] if cut else tail


# A subject, with an optional participial aside ("A tired engineer, working late to fix replication, ran ...").
def _sentence_start(text: str, pos: int) -> int:
    return max(text.rfind(". ", 0, pos), text.rfind("\n", 0, pos)) + 1


def _sentence(text: str, pos: int) -> str:
    start = _sentence_start(text, pos)
    end = min((i for i in (text.find(". ", pos), text.find("\n", pos)) if i >= 0), default=len(text))
    return text[start:end]
