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
from agent_postmortem.analysis.blame_verbs import SKIPPED, gerund, participle, verb_phrase, without_post_modifier
from agent_postmortem.analysis.sentence_case import sentence_case

if TYPE_CHECKING:
    from agent_postmortem.llm.base import LLM

logger = logging.getLogger(__name__)
_I = re.IGNORECASE
_SAFEGUARDS = [
    (r"without\s+(?:first\s+)?(?:review(?:ing)?|reading|a\s+review|any\s+review|looking|consulting)",
     "without a required review step"),
    (r"without\s+(?:first\s+)?(?:test(?:ing)?|running|checking|verifying|double-checking)",
     "without a required test or check"),
    (r"without\s+(?:asking|approval|telling)", "without a required approval"),
    (r"without\s+(?:a\s+backup|backing\s+up)", "without a backup being taken first"),
]  # fmt: skip
_MISTAKE = re.compile(r"\b(?:by\s+mistake|by\s+accident|accidentally|accidently|mistakenly|inadvertently)\b", _I)
_NOT_DONE = re.compile(
    r"\b(?:forgot\s+to|forgets?\s+to|(?:had\s+)?forgotten\s+to|failed\s+to|fails\s+to|neglected\s+to|didn['’]?t|did\s+not|does\s+not|"
    r"doesn['’]?t|had\s+not|hadn['’]?t|never|should\s+have|"
    r"should['’]ve|was\s+supposed\s+to|missed|skipped|overlooked|ignored)\s+"
    r"(?:(?:properly|even|actually|really|ever|always|just)\s+)?(\w+)(.*)",
    _I,
)


def _be(subject: str) -> str:
    head = re.split(r"\s+of\s+", subject, maxsplit=1)[0]  # "80,000 lines of code" -> "lines"
    last = head.split()[-1].lower() if head.split() else ""
    return "were" if last.endswith("s") and not last.endswith(("ss", "us", "is")) and last != "this" else "was"


def _tidy(sentence: str) -> str:
    sentence = " ".join(sentence.split()).replace(" ,", ",").replace(" ;", ";").strip(" ,;")
    return sentence_case(sentence).rstrip(".") + "."


_REFLEXIVE = re.compile(r"\s+(?:myself|ourselves|yourself|yourselves|himself|herself|themselves|themself)\s*$", _I)


# Where the object of a verb ends: a preposition, a conjunction, a copula, punctuation.
_CUT = re.compile(
    r"\s+(?:without|by\s+mistake|by\s+accident|against|to|into|on|in|and|because|which|that|"
    r"accidentally|before|after|during|while|when|with|using|as|so|but|or|then|until|if|for|from|right|"
    r"straight|directly|by|"
    r"is|was|were|are)\b|[,;](?!\d{3})|[!?]|\s[-–—]+\s",
    _I,
)
_DETERMINER_THAT = re.compile(
    r"\s+that\s+(?!(?:the|a|an|it|he|she|they|we|i|you|this|there|his|her|our|their|my|your|someone|no)\b)(?-i:[a-z])",
    _I,
)


def _object_and_rest(clause: str) -> tuple[str, str]:
    """The noun phrase after the verb, and what follows it ("the migration", "without reading it")."""
    clause = " " + clause
    cut = _CUT.search(clause)
    if cut and cut.start() == 0 and _DETERMINER_THAT.match(clause):  # "replaced that disk", not "forgot that the"
        cut = _CUT.search(clause, cut.end())
    obj, rest = (clause[: cut.start()], clause[cut.start() :]) if cut else (clause, "")
    obj = _REFLEXIVE.sub("", obj)  # "caught it myself": the person goes, the object stays
    if (pronoun := re.match(r"\s*(it|them)\s+(\S.*)$", obj, _I | re.S)) is not None:  # "push them here"
        obj, rest = pronoun.group(1), " " + pronoun.group(2) + rest
    return {"them": "they"}.get(obj.strip().lower(), obj.strip()) or "it", rest


def _safeguard(sentence: str) -> str:
    for pattern, text in _SAFEGUARDS:
        if re.search(pattern, sentence, _I):
            return text
    return ""


_LEAD_IN = re.compile(r"^\s*(?:managed|decided|chose|proceeded|went\s+ahead|began|started)\s+(?:to|and)\s+", _I)
# A prepositional phrase after the person, before their verb: "The contractor from the cabling company yanked".
_OWNER = re.compile(r"\b(?:my|our|his|her|their|your)\s+(?=\w)", _I)  # "into my board" -> "into the board"


def _relative(obj: str, rest: str) -> tuple[str, str]:
    """A closing relative clause describes the object and goes with it: "the branch which was old" -> "The branch,
    which was old, was ..."."""
    m = re.match(r"\s*,?\s+(which|that)\s+(was|were|is|are|had)\b([^,;]*)$", rest, _I)
    if m is None or m.group(1).lower() == "that" and "," in rest[: m.start(1)]:
        return obj, rest
    return f"{obj}, which {m.group(2)}{m.group(3).rstrip()},", ""


_MODAL_BEFORE = re.compile(r"\b(?:could|would|might|may)(?:\s+have)?\s*$", _I)


def _passive(agent_end: int, sentence: str) -> str | None:
    """'<person> <verb> <object> <rest>' -> '<Object> was <verb-ed> <rest without blame words>; <safeguard>'."""
    words = re.sub(r"^\s*,\s+[^,]{1,90},", "", sentence[agent_end:])  # an aside: ", working late to fix it,"
    words = without_post_modifier(words)
    if re.match(r"\s*(?:could|would|might|may)\b", words, _I) or _MODAL_BEFORE.search(sentence[:agent_end]):
        return None  # "a person could have shoved it": what might have happened, not what did
    while (skip := re.match(r"\s*(\S+)\s+", words)) and SKIPPED.match(skip.group(1)):
        words = words[skip.end() :]
    lead_in = _LEAD_IN.match(words)  # "managed to turn two pages" -> "turn two pages": a verb in the base form
    words = words[lead_in.end() :] if lead_in else words
    phrase = verb_phrase(words, lead_in is not None)
    if phrase is None:
        return None
    obj, rest = _object_and_rest(phrase[1].rstrip(". "))
    rest = _MISTAKE.sub("", rest)
    safeguard = _safeguard(rest)
    for pattern, _ in _SAFEGUARDS:
        rest = re.sub(pattern + r"(?:\s+it|\s+them)?", "", rest, flags=_I)
    broke = re.search(r"\band\s+(broke|took\s+down|brought\s+down)\s+(.+)", rest, _I)
    rest = rest[: broke.start()] if broke else rest
    subject = re.sub(r"^(?:my|our|his|her|their|your)\s+", "the ", obj.strip(), flags=_I)
    if (
        subject.startswith(("(", "["))
        or re.match(r"(?:at|about|in|on|for|with|from|of)\s", phrase[1], _I)
        or (
            re.match(r"to\s", phrase[1], _I)
            and phrase[0] in ("failed", "tried", "neglected", "needed", "wanted", "attempted")
        )
    ):
        return None  # "(oh no) was merged", "failed to stop", "asked about it": no object after the verb
    be = _be(subject)
    subject, rest = _relative(subject, _OWNER.sub("the ", rest))
    text = f"{subject} {be} {phrase[0]}{rest}"
    text = re.sub(r"\s*[!?]+", "", text).rstrip(" .”\"’'")
    text = text[: text.rfind("(")] if text.count("(") > text.count(")") else text  # no bracket left open
    text += f" {safeguard}" if safeguard else ""
    if broke:
        text += f" and {broke.group(1)} {broke.group(2)}"
    if not safeguard:
        text += "; nothing in the process stopped or caught it before it took effect"
    return _tidy(text)


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
    obj, rest = _object_and_rest(m.group(2).strip(" .,"))
    if marker in _OUTCOME:  # "missed the regression": the object is what went unseen, the verb is the outcome
        obj, rest, done = verb + " " + obj if obj else verb, rest, _OUTCOME[marker]
        obj, rest = _object_and_rest(m.group(1) + " " + m.group(2).strip(" .,"))
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
    rest = _OWNER.sub("the ", re.sub(r"\s*[!?]+", "", rest)).rstrip()  # "by any chance?": a statement now
    text = f"{obj} {_be(obj)} not {done}{(' ' + adverb.group(1)) if adverb else ''}{rest}"
    if re.match(r"\s+(?:was|is|were|are)\b", rest, _I):  # "didn't notice allmodconfig was broken": what was not seen
        text = f"it was not {done} that {obj[:1].lower() + obj[1:]}{rest}"
    if because:
        return _tidy(f"{text}: {gerund(because.group(1))} {because.group(2).strip()} was not an enforced step")
    return _tidy(f"{text}, and no step or check in the process required it")


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
    return _tidy(text + "; nothing in the process stopped or caught it before it took effect")


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
    return _tidy(cleaned) + _ASK


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
        return _tidy(f"a {noun} {rest}; no review or test caught it before it shipped")
    if span.rule == "person_as_agent":
        without = re.sub(r"\s+by\s+" + re.escape(span.agent) + r"\b", "", sentence, count=1)
        return _tidy(
            _MISTAKE.sub("", without).rstrip(" .") + "; no step or check in the process prevented or caught it"
        )
    if span.rule == "counterfactual" or _NOT_DONE.search(sentence[span.start :]):
        done = _not_done(sentence[span.start :])
        if done:
            return done
    before = sentence[: span.start].rstrip(" ,")
    if span.rule == "counterfactual" and len(before.split()) >= 3:  # "... if Gabe would have ..." -> what went wrong
        return _tidy(f"{before}; no step or check in the process prevented it")
    at = sentence.lower().find(span.agent.lower(), span.start) if span.agent else -1
    agent_end = at + len(span.agent) if at >= 0 else span.start + len(span.agent)
    first, then = (span.end, agent_end) if _MISTAKE.search(sentence[agent_end : span.end]) else (agent_end, span.end)
    return (
        _passive(first, sentence)  # after the marker first: "a nurse ... and accidentally administered a dose"
        or _passive(then, sentence)
        or _tidy(sentence.rstrip(".") + _NAME_CHECK)
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
