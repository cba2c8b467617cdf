"""The verbs of blaming sentences: which word is a person's verb, its participle, and the verb phrase heading what
follows the person ("accidentally force pushed my branch" -> "force pushed", "my branch"), for the rule-based
rewrite's passive (server/analysis/blame_rewrite.py)."""

import re

_I = re.IGNORECASE
_IRREGULAR = {
    "ran": "run", "run": "run", "broke": "broken", "break": "broken", "wrote": "written", "overwrote": "overwritten",
    "took": "taken", "did": "done", "do": "done", "made": "made", "read": "read", "set": "set", "put": "put",
    "forgot": "forgotten", "chose": "chosen", "sent": "sent", "built": "built", "left": "left", "shut": "shut",
    "cut": "cut", "hit": "hit", "caught": "caught", "catch": "caught", "began": "begun", "gave": "given",
    "forget": "forgotten", "make": "made", "pushed": "pushed", "kept": "kept", "lost": "lost", "think": "thought",
    "be": "been", "thought": "thought", "paid": "paid", "found": "found", "told": "told", "sold": "sold",
    "brought": "brought", "mistook": "mistaken", "spilt": "spilt", "knew": "known", "saw": "seen", "got": "got",
}  # fmt: skip
# Participles of base forms and participles already, not read as a person's verb ("I see", "could have done it")
_PARTICIPLES = {
    "pay": "paid", "know": "known", "have": "had", "give": "given", "send": "sent", "undo": "undone", "keep": "kept",
    "ring": "rung", "find": "found", "tell": "told", "sell": "sold", "bring": "brought", "leave": "left",
    "lose": "lost", "write": "written", "take": "taken", "see": "seen", "given": "given", "done": "done",
    "known": "known", "seen": "seen", "taken": "taken", "written": "written", "broken": "broken",
    "forgotten": "forgotten",
}  # fmt: skip
_DOUBLED_ENDINGS = ("mit", "plug", "trol", "gret", "fer", "cur", "pel")
# Words that may stand between a person and their verb ("I mistakenly did", "he had also run").
SKIPPED = re.compile(r"(?:also|then|just|had|has|have|somehow|apparently|probably|simply|quickly|again|\w+ly)$", _I)


def participle(verb: str) -> str:
    verb = verb.lower()
    if verb in _IRREGULAR or verb in _PARTICIPLES:
        return _IRREGULAR.get(verb) or _PARTICIPLES[verb]
    if verb.endswith("ed"):
        return verb
    if verb.endswith("e"):
        return verb + "d"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ied"
    one_syllable = len(re.findall(r"[aeiou]+", verb)) == 1
    if re.search(r"[^aeiou][aeiou][bdgmnprt]$", verb) and (one_syllable or verb.endswith(_DOUBLED_ENDINGS)):
        return verb + verb[-1] + "ed"
    return verb + "ed"


def verb_form(word: str) -> str | None:
    """The base or past form of a verb in the third person ("pushes" -> "push"), None for a word that is not one."""
    word = word.lower()
    if word in _IRREGULAR or word.endswith("ed"):
        return word
    if re.search(r"(?:ch|sh|ss|x|z)es$", word):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return None


def gerund(verb: str) -> str:
    verb = verb.lower()
    if verb.endswith("e") and not verb.endswith("ee"):
        return verb[:-1] + "ing"
    if re.fullmatch(r"[^aeiou]*[aeiou][bdgmnprt]", verb):
        return verb + verb[-1] + "ing"
    return verb + "ing"


_POST_MODIFIER = re.compile(r"^\s*(?:from|at|in|of|on|with)\s+", _I)
# "messed up the folder": a particle before an object it can carry ("messed up in the publishing" has none)
_PARTICLE = re.compile(
    r"^(up|out|down|off)\s+(?=(?:the|an?|my|our|his|her|their|your|this|these|those|"
    r"some|all|every|everything|things|\d)\b)(?!the\s+\w+ing\b)",
    _I,
)
_COMPOUND = re.compile(
    r"(?!(?:and|or|but|nor|the|an?|to|of|for|in|on|at|by|with|then|not|no|so|ve|ll|re|d|s|m|is|was|were|are|be|been|has|had|have|it|them)$)[a-z]+",
    _I,
)
_QUOTES = "\"“”‘’'"


def _is_past(word: str) -> bool:
    word = word.lower().strip(_QUOTES)
    return word.endswith("ed") or (word in _IRREGULAR and participle(word) != word + "ed" and word != "do")


def without_post_modifier(words: str) -> str:
    """`words` without a prepositional phrase saying where the person is from, when a past verb or an adverb follows
    it within five words ("from the cabling company yanked" -> "yanked")."""
    if (m := _POST_MODIFIER.match(words)) is None:
        return words
    after = words[m.end() :].split(" ")
    for n in range(1, min(6, len(after))):
        if _is_past(after[n]) or (SKIPPED.match(after[n]) and not after[n].lower().startswith(("had", "has"))):
            return " ".join(after[n:])
    return words


def _inflected(word: str) -> bool:
    """A past or third-person verb form ("pushed", "fingers"), not a base form ("make") nor a capitalised noun."""
    return word.islower() and verb_form(word) is not None and (_is_past(word) or word.endswith("s"))


def verb_phrase(words: str, lead_in: bool) -> tuple[str, str] | None:
    """The verb heading `words` (its participle: "force pushed", "fat-fingered", "messed up") and what follows it."""
    m = re.match(r"\s*[\"“‘']?([\w-]+)[\"”’']?\s+(.+)", words, re.S)
    if m is None:
        return None
    verb = verb_form(m.group(1)) or (m.group(1).lower() if lead_in else None)
    rest = m.group(2)
    two = re.match(r"[\"“‘']?([\w-]+)[\"”’']?\s+(.+)", rest, re.S)
    if verb is None and two is not None and _COMPOUND.fullmatch(m.group(1)) and _inflected(two.group(1)):
        second = verb_form(two.group(1)) or two.group(1)
        verb, rest = f"{m.group(1).lower()} {second}", two.group(2)  # "force pushed", "fat fingers" -> "fat fingered"
    if verb is None or verb.split()[-1] in (
        "was",
        "is",
        "were",
        "had",
        "has",
        "have",
        "did",
        "does",
        "do",
        "doe",
        "got",
    ):
        return None
    head, _, last = verb.rpartition(" ")
    verb = f"{head} {participle(last)}".strip()
    if (particle := _PARTICLE.match(rest)) is not None:
        verb, rest = f"{verb} {particle.group(1).lower()}", rest[particle.end() :]
    elif re.match(r"(?:up|out|down|off)\b", rest, _I):
        return None  # "screwed up on that one", "got let go": no object to make the subject
    return verb, rest
