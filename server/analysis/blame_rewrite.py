"""Systemic rewrites of blaming sentences: the person leaves the sentence, the missing safeguard enters it.

Rule-based by default: the object of the person's action becomes the subject of a passive sentence ("Dana
deployed the migration without reading it" -> "The migration was deployed without a required review step."),
and the clause that follows names the check that was missing, chosen from what the sentence says (no review, no
test, a mistake on production, something not done, a change that broke something). With a configured LLM,
`rewrite_with_llm` asks it for a better sentence and keeps it only when it no longer blames anyone; the rule-based
rewrite is always there first and is never blocked by the model.
"""

import logging
import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agent_postmortem.analysis.blame import BlameSpan, detect
from agent_postmortem.analysis.blame_passive import MISTAKE, OWNER, be_for, object_and_rest, passive, tidy
from agent_postmortem.analysis.blame_verbs import gerund, participle

if TYPE_CHECKING:
    from agent_postmortem.llm.base import LLM

logger = logging.getLogger(__name__)
_I = re.IGNORECASE
_NOT_DONE = re.compile(
    r"\b(?:forgot\s+to|forgets?\s+to|(?:had\s+)?forgotten\s+to|failed\s+to|fails\s+to|neglected\s+to|didn['’]?t|did\s+not|does\s+not|"
    r"doesn['’]?t|had\s+not|hadn['’]?t|never|should\s+have|"
    r"should['’]ve|was\s+supposed\s+to|missed|skipped|overlooked|ignored)\s+"
    r"(?:(?:properly|even|actually|really|ever|always|just)\s+)?(\w+)(.*)",
    _I,
)


_OUTCOME = {"missed": "caught", "overlooked": "noticed", "ignored": "acted on", "skipped": "done"}
_ADVERB = re.compile(r"\s+(properly|correctly|fully|thoroughly|carefully|first|again|in time)\b", _I)
_BECAUSE_NOT = re.compile(
    r"\bbecause\s+\w+\s+(?:didn['’]?t|did\s+not|never|forgot\s+to|failed\s+to)\s+(\w+)\s+([^.;,]+)", _I
)
_HINDSIGHT = re.compile(  # "... and should have known (better)", "and should've caught it": a judgement of the person
    r"(?i)\s*,?\s+(?:and|but)\s+(?:(?:he|she|they|we|I|you)\s+)?(?:really\s+)?should(?:\s+have|['’]ve)\s+"
    r"(?:known|caught|noticed|seen|spotted|realised|realized|checked)\b[^,;]*"
)
_NO_OBJECT = re.compile(r"(?:at|about|in|on|for|to|with|by|from|of|how|what|why|where|whether|better)\b|\w+ing\b", _I)


def _not_done(sentence: str) -> str | None:
    m = _NOT_DONE.search(sentence)
    if m is None:
        return None
    marker, verb = m.group(0).split()[0].lower(), m.group(1)
    obj, rest = object_and_rest(m.group(2).strip(" .,"))
    if marker in _OUTCOME:  # "missed the regression": the object is what went unseen, the verb is the outcome
        obj, rest, done = verb + " " + obj if obj else verb, rest, _OUTCOME[marker]
        obj, rest = object_and_rest(m.group(1) + " " + m.group(2).strip(" .,"))
    elif _NO_OBJECT.match(obj):
        return None  # "didn't know at the time", "forgot to keep updating", "knew how to": no object for a subject
    else:
        done = participle(verb)
    adverb = _ADVERB.search(" " + obj)
    obj = _ADVERB.sub("", " " + obj).strip() or "the work"
    obj = re.sub(r"^(?:my|our|his|her|their|your)\s+", "the ", obj, flags=_I)
    rest = _HINDSIGHT.sub("", rest)
    because = _BECAUSE_NOT.search(rest)
    rest = rest[: because.start()] if because else rest
    rest = OWNER.sub("the ", re.sub(r"\s*[!?]+", "", rest)).rstrip()  # "by any chance?": a statement now
    text = f"{obj} {be_for(obj)} not {done}{(' ' + adverb.group(1)) if adverb else ''}{rest}"
    if re.match(r"\s+(?:was|is|were|are)\b", rest, _I):  # "didn't notice allmodconfig was broken": what was not seen
        text = f"it was not {done} that {obj[:1].lower() + obj[1:]}{rest}"
    if because:
        return tidy(f"{text}: {gerund(because.group(1))} {because.group(2).strip()} was not an enforced step")
    return tidy(f"{text}, and no step or check in the process required it")


_JUDGEMENT = re.compile(
    r"\b(?:careless(?:ly)?|sloppy|negligent(?:ly)?|reckless(?:ly)?|stupid|lazy|dumb|clumsy|fat[- ]?fingered|"
    r"bone-?headed|idiotic|foolish)\b\s*",
    _I,
)
_FAULT = re.compile(
    r"\b(?:(?:(?:my|his|her|their|our|your)\s+)?(?:stupidity|foolishness|carelessness|negligence|incompetence)|"
    r"an?\s+(?:oversight|mistake)\s+on\s+my\s+part|(?:my|his|her|their|our|your)\s+(?:(?:own|\w+est|big|"
    r"stupid|silly|dumb|bad)\s+)?(?:fault|bad|mistake|oversight)|(?:(?:my|his|her|their|our|your|the)\s+)?\w+['’]s?\s+"
    r"(?:fault|mistake|error|oversight|typo)|"
    r"(?:human|operator|user|pilot|engineer|developer)\s+error)\b",
    _I,
)
_ASK = " What made this easy to get wrong, and which check would have caught it?"
_NAME_CHECK = ": name the check or step that would have prevented it, not the person"
TEMPLATED = (_ASK.strip(), _NAME_CHECK.lstrip(": "))  # the questions asked when no rewrite can be built


_BLAME_CLAUSE = re.compile(r"\b(?:sorry|my\s+bad|apolog\w*|blame\w*)\b", _I)
_SUBORDINATE = re.compile(r"(?:even|if|for|when|although|though|however|because|since|through)\b", _I)
_FIRST_PERSONS = re.compile(r"\b(?:I|me|my|mine|we|us|our|you|your|he|him|his|she|her|they|them|their)\b", _I)


def _what_happened(sentence: str) -> str | None:
    """The sentence without its clauses of blame ("Merge commit of PR #619 failed - Jim's mistake." -> "Merge commit of
    PR #619 failed; nothing ..."), or None when no clause says what happened without naming someone."""
    clauses = re.split(r"\s*(?:[,;]|\s[-–—]+)\s+", sentence.strip().rstrip(".!?"))  # "...: human error" is one
    kept = [c for c in clauses if len(c.split()) > 1 and not (_FAULT.search(c) or _JUDGEMENT.search(c))]
    kept = [c for c in kept if not _BLAME_CLAUSE.search(c)]
    text = ", ".join(kept)
    if len(kept) == len(clauses) or len(text.split()) < 4 or _FIRST_PERSONS.search(text) or detect(text):
        return None
    if _SUBORDINATE.match(text) or not re.search(r"\w+ed\b|\b(?:was|were|broke|went|ran)\b", text, _I):
        return None  # "For a modern example", "Even if that's not the case": no event of its own
    return tidy(text + "; nothing in the process stopped or caught it before it took effect")


def _reworded(sentence: str) -> str:
    """What happened, the clauses of blame dropped, when the sentence says it; otherwise the sentence with blame words
    replaced ("human error" -> "a gap in the process") and judgements dropped, with a question about the check."""
    if (happened := _what_happened(sentence)) is not None:
        return happened
    cleaned = _JUDGEMENT.sub("", _FAULT.sub("a gap in the process", sentence))
    cleaned = re.sub(r"\b([Aa])\s+(?=[aeiouAEIOU])", r"\1n ", cleaned)
    # "Bob was careless and pushed a bad config": the judgement gone, "Bob was and pushed" was no sentence
    cleaned = re.sub(r"\b(?:was|is|were|are)\s+(?:and|but|so)\s+", "", cleaned, flags=_I)
    cleaned = re.sub(r"\s+(?:was|is|were|are)\s*\.?\s*$", " did not go as intended.", cleaned, flags=_I)
    if detect(cleaned):  # still names someone ("the one to blame is the release manager")
        return "A gap in the process let this happen." + _ASK
    return tidy(cleaned) + _ASK


_QUESTION = "Which check or step was missing that would have caught this before it took effect?"
_SCOLDING = "Make this an enforced step (a check, a test or a required review) instead of a reminder to people."


def rule_rewrite(sentence: str, span: BlameSpan) -> str:
    """A systemic version of `sentence`, built from its own words."""
    if span.rule in ("question", "scolding"):
        return _QUESTION if span.rule == "question" else _SCOLDING
    if span.rule in ("human_error", "judgement", "blame_word") or (
        span.rule == "possessive"
        and re.search(r"(?:fault|mistake|error|oversight|typo)s?$", sentence[span.start : span.end], _I)
    ):
        return _reworded(sentence)
    if span.rule == "possessive":
        rest = sentence[span.end :].strip().rstrip(".!?")
        noun = re.sub(r"^(?:.*['’]s?|my|our|his|her|their|your)\s+", "", sentence[span.start : span.end], flags=_I)
        return tidy(f"a {noun} {rest}; no review or test caught it before it shipped")
    if span.rule == "person_as_agent":
        without = re.sub(r"\s+by\s+" + re.escape(span.agent) + r"\b", "", sentence, count=1)
        return tidy(MISTAKE.sub("", without).rstrip(" .") + "; no step or check in the process prevented or caught it")
    if span.rule == "counterfactual" or _NOT_DONE.search(sentence[span.start :]):
        done = _not_done(sentence[span.start :])
        if done:
            return done
    before = sentence[: span.start].rstrip(" ,")
    if span.rule == "counterfactual" and len(before.split()) >= 3:  # "... if Gabe would have ..." -> what went wrong
        return tidy(f"{before}; no step or check in the process prevented it")
    at = sentence.lower().find(span.agent.lower(), span.start) if span.agent else -1
    agent_end = at + len(span.agent) if at >= 0 else span.start + len(span.agent)
    first, then = (span.end, agent_end) if MISTAKE.search(sentence[agent_end : span.end]) else (agent_end, span.end)
    return (
        passive(first, sentence)  # after the marker first: "a nurse ... and accidentally administered a dose"
        or passive(then, sentence)
        or tidy(sentence.rstrip(".") + _NAME_CHECK)
    )


class SystemicRewrite(BaseModel):
    """An LLM's rewrite of one blaming sentence into a systemic one."""

    rewrite: str = Field(min_length=10, max_length=400)


class StillBlames(ValueError):
    """The model's rewrite is too short or still makes a person the cause."""


def ask_rewrite(sentence: str, draft: str, llm: "LLM", *, nonce: str = "0") -> str:
    """The model's systemic rewrite of `sentence` (given the rule-based `draft`), or StillBlames; the model's own
    failures are raised as they come."""
    from agent_postmortem.prompts import render

    answer = llm.parse(
        system=render("rewrite_blameless_system", nonce=nonce),
        user=render("rewrite_blameless", sentence=sentence, draft=draft, nonce=nonce),
        output=SystemicRewrite,
    )
    text = " ".join(answer.rewrite.split())
    if len(text) < 10 or detect(text):
        raise StillBlames("the model's rewrite still blames a person")
    return text


def rewrite_with_llm(sentence: str, fallback: str, llm: "LLM | None", *, nonce: str = "0") -> tuple[str, str]:
    """The model's rewrite when it is valid and blames no one, else the rule-based one: (text, 'llm'|'rules')."""
    if llm is None:
        return fallback, "rules"
    try:
        return ask_rewrite(sentence, fallback, llm, nonce=nonce), "llm"
    except Exception:  # noqa: BLE001 - any model failure leaves the rule-based rewrite in place
        logger.warning("the LLM could not rewrite a blaming sentence; keeping the rule-based rewrite", exc_info=True)
        return fallback, "rules"
