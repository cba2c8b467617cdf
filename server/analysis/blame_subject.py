"""Blame as a clause's subject: a person at the head of a clause, then the words after it read for what makes a person
the cause (a blame verb, a counterfactual, a mistake marker, a destructive action with a failure in the sentence),
never a system failing (blame.py)."""

import re

from agent_postmortem.analysis.blame_context import (
    AS_PLANNED,
    about_consequence,
    after_preposition,
    cannot_be_a_name,
    failure_in,
    not_happened,
    passive_patient,
    preceded_by_article,
    software_role,
)
from agent_postmortem.analysis.blame_lexicon import (
    ACTION,
    BARE_PLURAL,
    BLAME_VERB,
    DAMAGE,
    NAME,
    NOT_NAMES,
    PERSON,
    SYSTEM_HEADS,
    WITHOUT_CHECK,
)
from agent_postmortem.analysis.blame_span import _I, BlameSpan, _clause_after, _sentence, _sentence_start

_SUBJECT = re.compile(
    r"(" + PERSON + r"|" + BARE_PLURAL + r"|" + NAME + r")(?:['’](?:ve|d|m|re|ll)\b)?"
    r"(?:,\s+\w+(?:ing|ed)\b[^,;.]{0,80},)?"
    r"(?:\s+(?:also|then|just|simply|had|has|have|again|all))?\s+",
    _I,
)
# Words between the subject and its blame verb: never a relative "that"/"which" (the verb is a system's), nor a verb
# of thinking or saying ("I think multiple merges broke ..." blames the merges); a relative "who" keeps the person
# the subject ("The person who approved the change didn't read the diff"), unless it names a witness ("The customer
# who reported the outage did not get a reply").
_NOT_BETWEEN = (
    r"(?!(?:that|which|whose|who\s+(?:reported|noticed|found|asked|called|contacted|complained|said|wrote|raised|"
    r"opened|filed|saw|spotted|flagged|escalated)|think|thought|guess|believe|suspect|feel|felt|noticed|notice|saw|"
    r"see|found|realized|realised|know|knew|said|says|say|reported|heard|hope|assume|assumed|suppose|wonder|bet|expect|expects|"
    # a copula with its complement and a comma: "Kirk was alive, mischaracterized ..." (another clause's verb)
    r"(?:was|were|is|are)\s+\w+(?=,)|"
    r"expected|(?:sure|certain|positive|confident|convinced)\s+(?:that\s+)?(?:i|we|he|she|they|you))\b)"
)
_STRONG = (
    r"mistakenly|accid\w{0,3}ally|accidently|inadvertently|unintentionally|unknowingly|by\s+mistake|by\s+accident|"
    r"carelessly|blindly|hastily|sloppily|lazily|on\s+accident|instead\s+of\s+(?:the|a|an)\s+(?:\w+\s+)?(?:test|staging|replica|"
    r"intended|correct|right|dev|sandbox|preview|copy)\b|"
    r"instead\s+of\s+(?:\w+\s+)?(?:testing|canarying|checking|reviewing|"
    r"staging|verifying|asking|waiting)|despite\s+(?:the\s+|repeated\s+|multiple\s+|several\s+)?(?:failing|failed|warnings?|objections?|"
    r"alerts?|concerns?|red\s+flags?)|" + WITHOUT_CHECK
)
_PREDICATE = re.compile(
    r"^(?:(?:" + _NOT_BETWEEN + r"\S+\s+){0,5}?)(" + BLAME_VERB + r"|" + DAMAGE + r")\b|"
    r"^(?:(?:" + _NOT_BETWEEN + r"\S+\s+){0,12}?)(" + _STRONG + r")\b|"
    # an adverb of getting it wrong right after the person ("He wrongly typed", "I incorrectly ran"), not further on,
    # where it may qualify another subject's verb ("I created an agent and it incorrectly set up ...")
    r"^(?:(?:just|then|also|had|have|has)\s+)?(wrongly|incorrectly|erroneously|distractedly|negligently|recklessly)\b",
    _I,
)
# A person causing a failure: "I caused the regression", "we introduced a bug" (not "we introduced a cache").
_CAUSE_START = re.compile(
    r"^(?:(?:also|then|just|probably|apparently|unknowingly|unintentionally|have|has|had)\s+)*(caused|"
    r"(?:introduced|created|triggered|shipped)\s+(?:an?\s+|the\s+|this\s+|that\s+)?(?:[\w-]+\s+)?"
    r"(?:bug|regression|error|issue|outage|problem|breakage|incident|mess))\b",
    _I,
)
# A second verb of the same person after "and" ("I moved the file ... and pushed without rebuilding"): the
# words after "and" start with a verb, not with a new subject.
_CONJOINED = re.compile(
    r"^(?:\S+\s+){0,3}?(?:" + WITHOUT_CHECK + r")|^(?:\w+ly\s+)?(?:" + BLAME_VERB + r"|" + DAMAGE + r")\b", _I
)
_AND_VERB = re.compile(
    r"(?:\b(?:and|but)|,\s*however,)\s+(?!(?:the|a|an|it|its|this|that|these|those|our|their|his|her|my|your|some|all|no|then|there|we|"
    r"i|you|he|she|they|someone|nobody)\b)(?=[a-z])",
    _I,
)
# An action reported as done well is not a mistake ("We successfully migrated ... minimizing additional downtime").
_SUCCESSFUL = re.compile(r"\bsuccessful(?:ly)?\b", _I)
_ACTION_START = re.compile(
    r"^(?:(?:also|then|just|simply|quickly|once|recently|\w+ly|had|has|have)\s+){0,2}(" + ACTION + r")\b", _I
)
_POSSESSIVE = re.compile(
    r"(?P<agent>" + PERSON + r"|" + NAME + r")['’]s?\s+(?:(?:own|last|recent|latest|new|bad|quick)\s+)?"
    r"(?P<noun>change|commit|pr|pull\s+request|patch|config|configuration|script|code|deploy|deployment|migration|push|"
    r"mistake|error|fault|typo|bug|update|edit|query|command|oversight|decision)s?\b",
    _I,
)
# Done by a person, and no failure: finding it, fixing it, telling of it, or an ordinary act ("was quickly noticed by
# the team", "was identified by Emil", "was reviewed and approved by Sam", "was instructed by a doctor").
_NOT_A_FAILURE = (
    r"(?:noticed|discovered|spotted|found|seen|identified|detected|reported|flagged|caught|fixed|restored|resolved|repaired|"
    r"recovered|mitigated|reverted|corrected|acknowledged|escalated|investigated|diagnosed|confirmed|reviewed|approved|"
    r"tested|verified|checked|monitored|handled|triaged|treated|hired|employed|estimated|instructed|asked|told|"
    r"informed|notified|contacted|paged|alerted|warned|raised|helped|assisted|rescued|saved|praised|thanked|led|"
    r"managed|owned|maintained|supported|documented|explained|described|announced|published|shared|posted)\b"
)
_NOT_A_FAILURE_VERB = re.compile(_NOT_A_FAILURE, _I)
# ... unless it was not done, or should have been: "was not caught by QA", "should have been discovered by the
# contractor" make the person the cause of what went unseen.
_NOT_DONE_PASSIVE = re.compile(r"\b(?:not|never|n['’]t)\b|\b(?:should|could|would|must|ought\s+to)\s+have\s+been\b", _I)
_PASSIVE_BY = re.compile(
    r"\b(?:was|were|got|been|being|is|are|get)\s+(?:\w+\s+)?"
    r"(\w+ed|run|done|broken|made|written|taken|left|caught|seen|found|(?:shut|cut)(?:\s+(?:down|off))?)\s+"
    r"(?:(?!only\b)\w+ly\s+)?by\s+(?P<agent>" + PERSON + r"|" + NAME + r")",
    _I,
)
_SELF = r"(?:me|us|myself|ourselves)"
_BY_SELF = re.compile(
    r"\b(?:messed\s+up|screwed\s+up|broken|broke|caused|introduced|deleted|removed|dropped|wiped|corrupted|"
    r"overwritten|missed|forgotten|overlooked|mistyped|misconfigured|botched|lost|(?:mistake|error|oversight|typo)s?"
    r"(?:\s+(?:was|were))?\s+made)\b[^.;!?\n]{0,40}?\bby\s+(?P<agent>" + _SELF + r")\b",
    _I,
)
_CAUSED_BY = re.compile(
    r"\b(?:caused|introduced|triggered|created|started)\s+by\s+(?P<agent>" + PERSON + r"|" + NAME + r")", _I
)
_IF_HAD = re.compile(
    r"\bif\s+(?P<agent>" + PERSON + r"|" + NAME + r")\s+(?:had|hadn['’]?t|had\s+not|would\s+have|would['’]ve|['’]d)\b",
    _I,
)


def _is_person(word: str) -> bool:
    """A matched agent is a person unless it is a capitalised system or sentence word."""
    first = word.split()[0]
    if re.fullmatch(PERSON + r"|who", word, _I) or re.fullmatch(BARE_PLURAL, word, _I):
        return True
    if re.fullmatch(SYSTEM_HEADS, first, _I):
        return False  # "Agent ran rm -rf ...": a system at the head of a sentence
    return first[:1].isupper() and first.capitalize() not in NOT_NAMES and not re.search(r"[A-Z].*[A-Z]", first)


# A line break that ends a list item or a paragraph ends a subject's clause: the next line's verb is not its verb.
_NEXT_ITEM = re.compile(r"[^\S\n]*\n\s*(?:\n|(?:[-*+>]|\d{1,3}[.)])\s|#)")


def _subject_spans(text: str) -> list[BlameSpan]:
    found = []
    for m in _SUBJECT.finditer(text):
        agent = m.group(1)
        if (
            not _is_person(agent)
            or _NEXT_ITEM.match(text, m.end(1))  # "... GitOps and Flux\n- Did not disable ...": another list item
            # the agent of a passive is not a subject: "... was reported by a security analyst to have neglected ..."
            or re.search(r"\bby\s+$", text[max(0, m.start() - 4) : m.start()], _I)
            or software_role(text, m.start(), agent)
            or (
                re.fullmatch(NAME, agent)
                and not _bare_plural(agent)  # "Management pushed ...", "Engineers ignored ..."
                and (preceded_by_article(text, m.start()) or cannot_be_a_name(text, m.start(), agent))
            )
        ):
            continue
        clause, long_clause = _clause_after(text, m.end()), _clause_after(text, m.end(), 160)
        conjoined = [  # the same person's next verb, read further than the first ("..., but forgot to type -n")
            long_clause[c.end() :]
            for c in _AND_VERB.finditer(long_clause)
            # a new subject or a copula before "and" starts another clause; the subject's own progressive does not
            # ("I was adding the capability ..., and wasn't paying attention")
            if not re.search(
                r"\b(?:it|he|she|they|we|you|i|was|were|is|are|which|that\s+\w+(?:ed|s))\b",
                re.sub(r"^(?:was|were)\s+\w+ing\b", "", long_clause[: c.start()], flags=_I),
                _I,
            )
        ]
        if (pred := _PREDICATE.search(clause) or _CAUSE_START.search(clause)) is not None:
            if _not_a_failure(text, m.end(), clause, agent, pred):
                continue
            found.append(BlameSpan(m.start(), m.end() + pred.end(), "person_as_cause", agent))
        elif not _bare_plural(agent) and (  # a bare plural only with a blame verb
            any(_CONJOINED.search(c) for c in conjoined) or _acts_in_a_failure(clause, _sentence(text, m.start()))
        ):
            found.append(BlameSpan(m.start(), m.end() + len(clause.rstrip()), "person_as_cause", agent))
    return found


def _acts_in_a_failure(clause: str, sentence: str) -> bool:
    """The subject's clause opens with an action not reported as successful, in a sentence where a failure happened."""
    act = _ACTION_START.search(clause)
    return act is not None and not _SUCCESSFUL.search(clause[: act.end()]) and failure_in(sentence)


def _bare_plural(agent: str) -> bool:
    """A plural role without a determiner ("Engineers", "third-party construction crews"), not "the Knight staff"."""
    return bool(re.fullmatch(BARE_PLURAL, agent, _I)) and not re.match(
        r"(?:the|a|an|our|their|his|her|this|that|these|those|some|my|your)\b", agent, _I
    )


# A gerund opening the sentence right before the subject, which is then its object (not a preposition or a noun in
# -ing: "During", "Something"); mid-sentence participles ("meaning Moffat should have known") introduce a clause.
_GERUND_OPENING = re.compile(
    r"\s*(?:[-*+]\s+|\d{1,3}[.)]\s+|#{1,6}\s+)?"
    r"(?!(?:during|nothing|something|anything|everything|morning|evening|according|regarding|following)\b)"
    r"[A-Za-z]+ing\s+",
    _I,
)


def _not_a_failure(text: str, at: int, clause: str, agent: str, pred: re.Match[str]) -> bool:
    """A counterfactual about punishment or by nobody, or a person who is the patient of a passive."""
    marker = pred.lastindex or 0
    said = pred.group(marker)
    if ")" in clause[: pred.start(marker)] and "(" not in clause[: pred.start(marker)]:
        return True  # the subject sits in a parenthesis that closes before the verb: "(... Midline Glioma) — merged"
    if not_happened(text, text.rfind(agent, 0, at), agent, clause, clause[pred.start(marker) :]) or AS_PLANNED.search(
        _sentence(text, at)
    ):
        return True
    if re.search(r"should|could|would|must|ought", said, _I) and about_consequence(clause, agent):
        return True
    if re.match(
        r"\s*be\s+(?:in|at|on|able|allowed|exposed|possible|left|put)\b", clause[pred.end() :], _I
    ) and re.search(r"\b(?:should|must|would|could|can)\b", clause[: pred.end()], _I):
        return True  # a norm for a state, not a failure: "we should ideally never be in a situation where ..."
    begins = text.rfind(agent, 0, at)
    if marker == 3 and after_preposition(text, begins):
        return True  # "... at the game in Cardiff wrongly identified ...": a place, not who got it wrong
    if _GERUND_OPENING.fullmatch(text, _sentence_start(text, begins), begins):
        return True  # the person is what a gerund acts on: "Appointing an incident manager could have helped"
    experience = re.match(r"\s*(?:worked|been|seen|heard|met|used|had|tried)\b", clause[pred.end() :])
    if re.fullmatch(r"never", said, _I) and experience:
        return True  # "You've never worked anywhere that ...": experience, not a failure
    strong = pred.re is _PREDICATE and marker == 2  # "were accidentally posted": the marker qualifies a participle
    return bool(passive_patient(clause, text, at + pred.start(marker) if strong else -1))
