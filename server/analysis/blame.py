"""Blame detection: a person or a team as the agent of a failure, in any grammatical shape, never a system failing.

Dependency-parse-free: a lexicon of people (pronouns, roles such as "the intern", "QA", "ops", "the on-call
engineer", and capitalised names that are not system names) is matched at the head of a clause, then the words
that follow it in the same clause are read for what makes a person the cause: a blame verb ("forgot", "missed",
"failed to", "didn't"), a counterfactual ("should have"), a mistake marker ("by mistake", "accidentally",
"without reviewing"), or a destructive action with a failure in the same sentence ("deleted the production
table", "deployed a change that took down payments"). Possessives ("Lee's change broke"), passives with a person
as agent ("deleted by someone", "messed up, presumably by me"), "human error", self-blame ("my bad", "on my part",
"I caused the regression", "sorry for not running the tests"), judgements ("careless"), questions that put a person
in the dock ("Why didn't you test it?", "Did you even run it?") and scolding imperatives ("Test your changes before
you open a PR", "Please stop pushing to main") are found anywhere. Subjects that are systems ("the deploy
pipeline", "the agent", "the SDK", "the migration") are never people, so their failures are never flagged. The
words are in blame_lexicon.py; further shapes read anywhere (a mistake "by" a person, owning a mistake, fronted
"Without checking, she ran ...") in blame_shapes.py, and the patterns of questions, scolding and apologies in
blame_remarks.py.
"""

import re

from agent_postmortem.analysis.blame_context import (
    about_blame,
    after_preposition,
    negated,
    preceded_by_article,
)
from agent_postmortem.analysis.blame_remarks import APOLOGY, QUESTIONS, SCOLDING
from agent_postmortem.analysis.blame_shapes import GLOBAL, NEGATED_FAULT, SHAPES
from agent_postmortem.analysis.blame_span import _I, BlameSpan, _clause_after
from agent_postmortem.analysis.blame_subject import (
    _BY_SELF,
    _CAUSED_BY,
    _IF_HAD,
    _NOT_A_FAILURE_VERB,
    _NOT_DONE_PASSIVE,
    _PASSIVE_BY,
    _POSSESSIVE,
    _SELF,
    _is_person,
    _subject_spans,
)
from agent_postmortem.analysis.blocks import blocks

__all__ = ["BlameSpan", "detect"]


def _scolding_and_apologies(text: str) -> list[BlameSpan]:
    """Imperatives scolding the people involved, and apologies for one's own omission (spans without leading space)."""
    found = []
    for pattern, rule in ((SCOLDING, "scolding"), (APOLOGY, "person_as_cause")):
        for m in pattern.finditer(text):
            start = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
            agent = "you" if rule == "scolding" else (m.group("agent") or "I")
            found.append(BlameSpan(start, m.end(), rule, agent))
    return found


def _other_spans(text: str) -> list[BlameSpan]:
    found = []
    for m in _POSSESSIVE.finditer(text):
        noun = m.group("noun").lower()
        rest = _clause_after(text, m.end())
        blamed = noun in ("mistake", "error", "fault", "typo", "oversight") or re.search(
            r"\b(?:broke|caused|introduced|took\s+down|brought\s+down|deleted|dropped|corrupted|failed|crashed|"
            r"wiped|truncated|erased|destroyed|overwrote|leaked|exposed|ruin(?:ed|ing|s)?|kill(?:ed|ing|s)?|"
            r"(?:was|were|is|are)\s+(?:\w+ly\s+)?(?:wrong|broken|incorrect|invalid|misconfigured))\b",
            rest,
            _I,
        )
        out_of_play = negated(text, m.start()) or after_preposition(text, m.start())
        if _is_person(m.group("agent")) and blamed and not out_of_play:
            found.append(BlameSpan(m.start(), m.end(), "possessive", m.group("agent")))
    return found + _agent_spans(text) + _scolding_and_apologies(text) + _global_spans(text)


def _agent_spans(text: str) -> list[BlameSpan]:
    """Passives, counterfactuals, questions and the further shapes, each naming a person in a group `agent`."""
    found = []
    for rule, pattern in (
        ("person_as_agent", _PASSIVE_BY),
        ("person_as_agent", _BY_SELF),
        ("person_as_agent", _CAUSED_BY),
        ("counterfactual", _IF_HAD),
        *(("question", q) for q in QUESTIONS),
    ):
        for m in pattern.finditer(text):
            agent = m.group("agent")
            if pattern is _PASSIVE_BY and re.fullmatch(_SELF, agent, _I):
                continue  # "by me" only with a failure (_BY_SELF): "written by me" blames no one
            if (
                pattern is _PASSIVE_BY
                and _NOT_A_FAILURE_VERB.match(m.group(1))
                and not _NOT_DONE_PASSIVE.search(text[max(0, m.start() - 30) : m.start(1)])
            ):
                continue
            if _is_person(agent) and not preceded_by_article(text, m.start("agent")):
                found.append(BlameSpan(m.start(), m.end(), rule, agent))
    for rule, pattern in SHAPES:
        for m in pattern.finditer(text):
            agent = m.groupdict().get("agent") or m.groupdict().get("cleft") or ""
            if rule in ("possessive", "judgement", "blame_word") and (
                negated(text, m.start()) or after_preposition(text, m.start())
            ):
                continue
            if not agent or _is_person(agent):
                found.append(BlameSpan(m.start(), m.end(), rule, agent))
    return found


def _global_spans(text: str) -> list[BlameSpan]:
    found = []
    for rule, pattern in GLOBAL:
        for m in pattern.finditer(text):
            if rule == "blame_word" and NEGATED_FAULT.search(text[max(0, m.start() - 70) : m.end()]):
                continue
            if (rule == "human_error" and about_blame(text, m.start(), m.end())) or (
                rule == "judgement" and negated(text, m.start())
            ):
                continue
            found.append(BlameSpan(m.start(), m.end(), rule, ""))
    return found


def detect(text: str) -> list[BlameSpan]:
    """Every stretch of `text` that makes a person the cause of a failure, first match per stretch, in order; a
    document is read block by block (a heading, a list item, a paragraph: server/analysis/blocks.py)."""
    return [
        BlameSpan(at + s.start, at + s.end, s.rule, s.agent) for at, block in blocks(text) for s in _detect_in(block)
    ]


def _detect_in(text: str) -> list[BlameSpan]:
    spans: list[BlameSpan] = []
    for span in sorted(_subject_spans(text) + _other_spans(text), key=lambda s: (s.start, -s.end)):
        if not any(span.start < s.end and s.start < span.end for s in spans):
            spans.append(span)
    return spans
