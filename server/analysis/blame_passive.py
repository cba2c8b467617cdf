"""The passive rewrite of a blaming sentence (`blame_rewrite`): the object of the person's action becomes the subject
("Dana deployed the migration without reading it" -> "The migration was deployed without a required review step."),
the words that blame go, and the safeguard the sentence says was missing is named."""

import re

from agent_postmortem.analysis.blame_verbs import SKIPPED, verb_phrase, without_post_modifier
from agent_postmortem.analysis.sentence_case import sentence_case

_I = re.IGNORECASE
_SAFEGUARDS = [
    (r"without\s+(?:first\s+)?(?:review(?:ing)?|reading|a\s+review|any\s+review|looking|consulting)",
     "without a required review step"),
    (r"without\s+(?:first\s+)?(?:test(?:ing)?|running|checking|verifying|double-checking)",
     "without a required test or check"),
    (r"without\s+(?:asking|approval|telling)", "without a required approval"),
    (r"without\s+(?:a\s+backup|backing\s+up)", "without a backup being taken first"),
]  # fmt: skip
MISTAKE = re.compile(r"\b(?:by\s+mistake|by\s+accident|accidentally|accidently|mistakenly|inadvertently)\b", _I)


def be_for(subject: str) -> str:
    """`was` or `were`, as the subject asks."""
    head = re.split(r"\s+of\s+", subject, maxsplit=1)[0]  # "80,000 lines of code" -> "lines"
    last = head.split()[-1].lower() if head.split() else ""
    return "were" if last.endswith("s") and not last.endswith(("ss", "us", "is")) and last != "this" else "was"


def tidy(sentence: str) -> str:
    """One sentence: spaces closed up, a capital first, one full stop at the end."""
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


def object_and_rest(clause: str) -> tuple[str, str]:
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
OWNER = re.compile(r"\b(?:my|our|his|her|their|your)\s+(?=\w)", _I)  # "into my board" -> "into the board"


def _relative(obj: str, rest: str) -> tuple[str, str]:
    """A closing relative clause describes the object and goes with it: "the branch which was old" -> "The branch,
    which was old, was ..."."""
    m = re.match(r"\s*,?\s+(which|that)\s+(was|were|is|are|had)\b([^,;]*)$", rest, _I)
    if m is None or m.group(1).lower() == "that" and "," in rest[: m.start(1)]:
        return obj, rest
    return f"{obj}, which {m.group(2)}{m.group(3).rstrip()},", ""


_MODAL_BEFORE = re.compile(r"\b(?:could|would|might|may)(?:\s+have)?\s*$", _I)


def passive(agent_end: int, sentence: str) -> str | None:
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
    obj, rest = object_and_rest(phrase[1].rstrip(". "))
    rest = MISTAKE.sub("", rest)
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
    be = be_for(subject)
    subject, rest = _relative(subject, OWNER.sub("the ", rest))
    text = f"{subject} {be} {phrase[0]}{rest}"
    text = re.sub(r"\s*[!?]+", "", text).rstrip(" .”\"’'")
    text = text[: text.rfind("(")] if text.count("(") > text.count(")") else text  # no bracket left open
    text += f" {safeguard}" if safeguard else ""
    if broke:
        text += f" and {broke.group(1)} {broke.group(2)}"
    if not safeguard:
        text += "; nothing in the process stopped or caught it before it took effect"
    return tidy(text)
