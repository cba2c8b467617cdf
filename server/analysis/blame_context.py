"""What around a blame match says it is not blame (server/analysis/blame.py asks before keeping a span).

A phrase that would blame someone is not blame when the sentence is about blame itself or puts the phrase out of
play:

* a statement about blame as a concept: "human error" or "operator error" quoted, named as a phrase or a label, or
  the subject of a generic claim ("Human error is never a root cause", "'Operator error' is the most common root
  cause ... and the laziest", "The phrase 'human error' is often used ...");
* negated: "not an individual's mistake", "This is not incompetence.", "the problem isn't the person";
* about the consequence, not the failure: "Nobody should have been fired.", "He shouldn't be blamed";
* a person as the patient of a passive, not its agent: "They were pushed to main directly by mistake", "... Mainers
  ... were accidentally posted", "the accidentally deleted items";
* a capitalised word that cannot be a name: a title-cased heading ("With Latest Version This Broke The Build"),
  a gerund or an abstract noun at the head of a sentence ("Restoring ...", "Reliability engineering ...");
* a possessive that is the object of a preposition ("merges into my PR broke ...": the merges broke it);
* not a failure that happened: a present conditional, a generic truth about people, a lack in the system, words
  against blaming, a denial, a person who only completes a noun (`not_happened`);
* a role that software holds ("Celery workers", "the GPU driver"), a capitalised word after an article or an owner
  ("the Orchestrator", "Tesla's Autopilot").
"""

import re

from agent_postmortem.analysis.blame_lexicon import BARE_PLURAL, FAILURE_CONTEXT, PERSON, SOFTWARE_MODIFIER

_I = re.IGNORECASE
_QUOTED = re.compile(r"[\"“‘'][^\"“”‘’']{0,40}$")
_NAMED_AS = re.compile(
    r"\b(?:the\s+(?:phrase|term|label|words?|notion|idea|concept|myth)|called|calling|labell?(?:ed|ing)|blam\w*|"
    r"attribut\w+(?:\s+\w+){0,3}\s+to|cit(?:e|ed|es|ing)|put\s+(?:it\s+)?down\s+to|chalk\w*\s+(?:it\s+)?up\s+to|"
    r"stop\s+at|beyond|past|more\s+than|not|never|no|rather\s+than|instead\s+of|"
    # what a system is built to absorb: "robust to handle human error", "guard against operator error"
    r"handle|handles|handling|tolerate|tolerant\s+of|robust\s+(?:to|against)|resilient\s+to|prevent|"
    r"preventing|reduce|reducing|eliminate|minimi[sz]e|avoid|against|for)\s+$",
    _I,
)
# A generic claim about the phrase: what it is in general, not what caused this failure.
_GENERIC_CLAIM = re.compile(
    r"^[\"”’']?\s*(?:(?:is|was|are)\s+(?:\w+\s+)?(?:never|not|rarely|seldom|often|usually|always|almost\s+always|"
    r"just|merely|only|simply|a\s+(?:label|symptom|starting\s+point|cop-?out|myth|lazy|convenient|catch-?all|"
    r"placeholder|description|conclusion|explanation|term|phrase)|the\s+(?:most\s+common|easiest|laziest|"
    r"starting|beginning|symptom))|isn['’]?t|can['’]?t\s+be|cannot\s+be|should\s+(?:never|not)|happens)\b",
    _I,
)
_NEGATED = re.compile(
    r"\b(?:not|never|no|isn['’]?t|wasn['’]?t|aren['’]?t|weren['’]?t|rather\s+than|instead\s+of)\s+"
    r"(?:(?:a|an|the|just|only|merely|simply|really|about|because\s+of|due\s+to|one|any)\s+){0,2}$",
    _I,
)
_CONSEQUENCE = re.compile(
    r"^\W*(?:nobody|no\s+one|noone|none\s+of\s+\w+)\b|"
    r"\b(?:have\s+been|be|get|got|getting|being)\s+(?:fired|blamed|punished|disciplined|reprimanded|sacked|let\s+go|"
    r"scapegoated|shamed|named)\b",
    _I,
)
_PASSIVE_START = re.compile(
    r"^(?:\w+ly\s+)?(?:was|were|is|are|been|being|got|gets|get)(?:n['’]?t)?\s+(?:(?:\w+ly|never|not)\s+)?"
    r"(?!supposed\b)\w+(?:ed|en|wn)\b",
    _I,
)
_PASSIVE_MARKER = re.compile(r"\b(?:was|were|is|are|been|being|got|get|the|a|an|any|some)\s+$", _I)
_PREPOSITION = re.compile(r"\b(?:into|onto|to|in|on|from|with|against|via|through)\s+$", _I)
# Not a failure that happened: a conditional in the present ("If the on-call does not acknowledge, the page
# escalates"), a generic truth about people ("everybody breaks something", "developers will make mistakes"), a lack
# in the system ("we did not have a test", "we did not receive alerts": nothing reached them), or not blaming ("They
# didn't blame the DevOp guy").
_CONDITIONAL = re.compile(r"\b(?:if|when|whenever|unless|until|once)\s+(?:\S+\s+){0,4}$", _I)
_PRESENT = re.compile(
    r"^(?:does|do)(?:n['’]?t|\s+not)|^fails\s+to|^(?:forgets|misses|ignores|skips|breaks|overlooks|neglects)\b", _I
)
_ANYONE = re.compile(r"(?:every|any)(?:one|body)|nobody|no\s+one|noone", _I)
_PLURAL = re.compile(r"people|humans?|[a-z][\w-]{2,}s", _I)
_GENERIC_VERB = re.compile(
    r"^(?:who\s+)?(?P<modal>(?:will|would|can|could|may|might|do|does)\s+(?:\w+\s+)?)?(?:make|makes|break|breaks|forget|"
    r"forgets|miss|misses|screw|screws|mess|messes)\b",
    _I,
)
_LACK_OR_NO_BLAME = re.compile(
    r"^(?:didn['’]?t|did\s+not|never|don['’]?t|do\s+not|does(?:n['’]?t|\s+not))\s+(?:\w+ly\s+)?(?:have|had|has|"
    r"receive|get|blame|fire|punish|scold|reprimand|point\s+fingers)\b",
    _I,
)

# A denial ("I am pretty sure I did not issue any deletion"), and a person who is the complement of a noun ("how the
# actions of one or more individuals caused the incident": the actions are the subject).
_DENIAL = re.compile(r"\b(?:sure|certain|positive|confident|convinced|swear)\s+(?:that\s+)?$", _I)
_OF = re.compile(
    r"\b(?:the|a|an|their|his|her|its)\s+[\w-]+s?\s+of\s+$|"
    # "Blaming the engineer would not have prevented this"
    r"\b(?:blam\w*|fir(?:e|ed|ing)|punish\w*|scapegoat\w*|sham(?:e|ed|ing)|nam(?:e|ed|ing))\s+$",
    _I,
)


def not_happened(text: str, agent_start: int, agent: str, clause: str, predicate: str) -> bool:
    """A conditional, a generic truth about people, a lack in the system, words against blaming, a denial, or a
    person who only completes a noun (`clause`: the
    words after the subject; `predicate`: from its blame verb on)."""
    before = text[max(0, agent_start - 60) : agent_start]
    if _LACK_OR_NO_BLAME.search(predicate) or _DENIAL.search(before) or _OF.search(before):
        return True
    if re.match(
        r"(?!did\b)\S+(?:\s+up)?\s+(?:nothing|anything)\b", predicate, _I
    ):  # "mislabeled nothing", "broke anything"
        return True
    present = _PRESENT.search(predicate) or re.match(r"(?:\w+ly\s+)?(?!was\b|has\b)\w+s\b", clause, _I)
    if present and _CONDITIONAL.search(before):  # "If an engineer deletes a table by mistake, ..."
        return True
    generic = _GENERIC_VERB.search(clause)  # anyone does; or a bare plural will: "developers will make mistakes"
    return generic is not None and bool(
        _ANYONE.fullmatch(agent) or (generic.group("modal") and _PLURAL.fullmatch(agent.split()[-1]))
    )


_ABSTRACT = re.compile(r"[A-Z][a-z]+(?:ity|tion|sion|ment|ness|ism|ogy|ics|ance|ency)$|[A-Z][a-z]{3,}ing$")


def about_blame(text: str, start: int, end: int) -> bool:
    """The phrase at text[start:end] ("human error", "operator error") is the topic of a statement about blame."""
    before, after = text[max(0, start - 60) : start], text[end : end + 60]
    return bool(_QUOTED.search(before) or _NAMED_AS.search(before) or _GENERIC_CLAIM.search(after))


def negated(text: str, start: int) -> bool:
    """A negation right before the phrase: "not an individual's mistake", "This is not incompetence."."""
    return bool(_NEGATED.search(text[max(0, start - 40) : start]))


def about_consequence(clause: str, subject: str) -> bool:
    """A counterfactual about punishment, or one whose subject is nobody: not a failure put on a person."""
    return bool(_CONSEQUENCE.search(subject) or _CONSEQUENCE.search(clause))


def passive_patient(clause: str, text: str, marker_start: int) -> bool:
    """The subject is what was acted on ("They were pushed ... by mistake"), or the mistake marker qualifies a
    participle ("were accidentally posted", "the accidentally deleted items")."""
    if _PASSIVE_START.search(clause):
        return True
    return marker_start >= 0 and bool(_PASSIVE_MARKER.search(text[max(0, marker_start - 12) : marker_start]))


def after_preposition(text: str, start: int) -> bool:
    """The object of a preposition ("merges into my PR broke ..."), not the source of a failure ("This regression came
    from @tomasz's refactor")."""
    before = text[max(0, start - 24) : start]
    source = re.search(
        r"\b(?:came|comes|coming|stems?|stemmed|originated|originates|resulted|results)\s+from\s+$", before, _I
    )
    return bool(_PREPOSITION.search(before[-12:])) and not source


_PRODUCTS = frozenset(
    "Gemini Claude Bing Google Microsoft Amazon Apple Meta Tesla Copilot Cursor Grok Perplexity Llama Mistral Siri "
    "Alexa Bard Watson Github Gitlab Slack Stripe Azure Aws Openai Anthropic Chatgpt Deepseek Qwen".split()
)


def _inside_a_proper_name(text: str, start: int) -> bool:
    """The second word of a product's name ("Gemini Flash", "GPT Builder") or of a title ("... Diffuse Midline Glioma)
    — merged ..."): a capitalised word after one that does not start the sentence, or after a product or an acronym."""
    previous = re.search(r"([A-Z][\w-]*)\s+$", text[max(0, start - 30) : start])
    if previous is None:
        return False
    word, at = previous.group(1), max(0, start - 30) + previous.start(1)
    # the first word of a line after a Markdown heading, quote or list marker starts it ("# Postmortem\nDana ...")
    first = bool(re.search(r"(?:^|[.!?:\n])[ \t]*(?:(?:#{1,6}|>|[-*+]|\d+[.)])[ \t]+)*$", text[:at]))
    return not first or word.capitalize() in _PRODUCTS or bool(re.search(r"[A-Z].*[A-Z]", word))


# The first word after a capitalised word when that word heads a noun phrase, not a person acting: a gerund, an
# abstract noun or a plural ("Rate limiting ...", "Clear communication ...", "Downstream actions ..."); auxiliaries,
# adverbs and further capitalised words are skipped ("Dana had quickly ...", "Tracey Huges mistakenly ...").
_NOUN_AFTER = re.compile(
    r"(?:(?:\w+ly|had|has|have|also|then|just|still|again|never|did|was|were|[A-Z][\w'’-]*)\s+)*"
    r"(?-i:[a-z]+(?:ing|tion|sion|ment|ity|ness|ance|ence)s?|[a-z]{2,}[^suie\W]s"
    # a plural in -es is told from a verb ("Dana pushes") by the plural verb after it, a word or two on: "Policy
    # files were never ...", "Refund policy sources were never ..."
    r"|(?:(?!and\b|or\b|with\b)[a-z]+\s+){0,2}[a-z]{2,}(?:es|[^suie\W]s)"
    r"(?=\s+(?:\w+ly\s+)?(?:were|are|have|do)(?:n['’]t)?\b))\b"
)


def cannot_be_a_name(text: str, start: int, word: str) -> bool:
    """A capitalised word in a title-cased line, a gerund or an abstract noun, or one heading a noun phrase, is not a
    person's name."""
    if _ABSTRACT.fullmatch(word) or re.match(r"\s+(?:errors?|mistakes?|factors?)\b", text[start + len(word) :], _I):
        return True  # "Reliability engineering ...", "Human error is never ..."
    if re.fullmatch(r"[A-Z][a-z]{4,}ed", word) and word not in ("Mohammed", "Mohamed", "Muhammed"):
        return True  # a participle heading a sentence: "Malformed manifest applied to ... triggered a bug"
    if re.fullmatch(r"[A-Z][a-z]{3,}(?:able|ible|ful|ous|less|ical)", word):
        return True  # an adjective opening a fragment: "Unacceptable and should never be possible."
    if _inside_a_proper_name(text, start):
        return True
    if not re.fullmatch(PERSON, word, _I) and _NOUN_AFTER.match(text[start + len(word) :].lstrip()):
        return True  # "Rate limiting implementation didn't ...", "Downstream actions ... should have"
    line_start = max(text.rfind("\n", 0, start), text.rfind(". ", 0, start)) + 1
    line_end = min((i for i in (text.find("\n", start), text.find(". ", start)) if i >= 0), default=len(text))
    words = re.findall(r"[A-Za-z][\w'’-]*", text[line_start:line_end])
    capitalised = [w for w in words if w[0].isupper()]
    return len(words) >= 4 and len(capitalised) >= 0.7 * len(words)


def software_role(text: str, start: int, agent: str) -> bool:
    """A role that software holds: "I/O-bound agent workers never raise ...", "Celery workers never ack", "the GPU
    driver failed to load" (a software word or an acronym before a bare plural or a driver)."""
    if not re.fullmatch(BARE_PLURAL, agent, _I) and not re.search(r"\bdrivers?$", agent, _I):
        return False
    words = [*text[max(0, start - 40) : start].split()[-1:], *agent.split()[:-1]]
    return any(
        re.fullmatch(SOFTWARE_MODIFIER, w.strip(",;:()"), _I) or re.fullmatch(r"[A-Z0-9]{2,}", w.strip(",;:()"))
        for w in words
    )


def preceded_by_article(text: str, pos: int) -> bool:
    """An article or an owner before a capitalised word makes it a thing: "the Orchestrator", "Tesla's Autopilot"."""
    before = text[max(0, pos - 30) : pos]
    return bool(re.search(r"\b(?:the|a|an|our|its|their)\s+$", before[-8:], _I) or re.search(r"\w['’]s\s+$", before))


# An action the sentence calls valid or authorised is not a mistake ("a customer pushed a valid configuration").
_VALID = re.compile(
    r"\b(?:valid|legitimate(?:ly)?|authori[sz]ed|correct(?:ly)?|as\s+intended|documented|routine|scheduled|planned|"
    r"(?:deployed|shipped|pushed|applied|merged|released|rolled\s+out)\s+(?:the|a|our)\s+(?:\w+\s+)?(?:fix|patch|hotfix|"
    r"rollback|revert|mitigation))\b",
    _I,
)  # "ran the documented runbook", "We deployed the fix at 10:42 and errors dropped": not a mistake
# A failure named as what an action prevents is not one that happened ("to prevent a disaster like this").
_PREVENTED = re.compile(r"\b(?:prevent|avoid|stop)\w*\s+(?:a|an|the|any|such|future)?\s*\w+(?:\s+like\s+this)?", _I)


def failure_in(sentence: str) -> bool:
    """A failure happened in the sentence, and the action it follows is not called valid."""
    return not _VALID.search(sentence) and bool(FAILURE_CONTEXT.search(_PREVENTED.sub("", sentence)))


AS_PLANNED = re.compile(
    r"\bas\s+(?:planned|intended|required|agreed|expected|documented)\b|\bas\s+the\s+\w+\s+requires\b|"
    r"\bper\s+(?:the\s+)?(?:policy|runbook|procedure|plan)\b",
    _I,
)  # "We deployed the new version instead of the old one, as planned."
