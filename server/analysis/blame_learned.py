"""The reader's part of `check_blameless`: the sentences it flags that the rules did not, the rule hits it overrules,
and a systemic rewrite for each sentence it adds.

A text is cut into sentences; the reader (server/analysis/blame_reader.py, or anything with its `probabilities`,
`decide` and `veto`) reads each. A sentence without a rule span is blaming when its probability reaches the reader's
threshold; its finding covers the whole sentence. The rewrite takes the first person the sentence names out of it
with the rule-based rewrite's passive ("He formatted the partitions" -> "The partitions were formatted; nothing in
the process stopped or caught it before it took effect."), and falls back to a question about the missing check when
no such sentence can be built without naming someone.
"""

import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from agent_postmortem.analysis.as_read import in_words
from agent_postmortem.analysis.blame import BlameSpan, detect
from agent_postmortem.analysis.blame_lexicon import NAME, NOT_NAMES, PERSON, ROLE_NP, ROLES
from agent_postmortem.analysis.blame_rewrite import rule_rewrite
from agent_postmortem.analysis.blame_verbs import participle
from agent_postmortem.analysis.blocks import blocks
from agent_postmortem.analysis.sentence_case import mid_sentence, sentence_case

_I = re.IGNORECASE
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+(?=\s|$)|$)|[^\n]+", re.M)
_AGENT = re.compile(r"(?P<agent>" + PERSON + r"|" + NAME + r"|@[\w-]+)", _I)
# A role named in the sentence ("QA", "the intern", "a downstream customer") is a person: the reader, which gave "QA
# did not test it properly." 0.009, never overrules a rule's finding there. Its vetoes are for pronouns and
# capitalised words that may name no one ("I deployed ..., no hiccups", "was allegedly amplified by China").
_ROLE = re.compile(ROLE_NP, _I)
GENERIC = "Something in the process let this happen; which check or step would have caught it before it took effect?"


class Judge(Protocol):
    """What reads whole sentences for blame: the shipped reader, or a stand-in in tests."""

    veto: float

    def probabilities(self, sentences: list[str]) -> np.ndarray: ...

    def decide(self, probability: float, *, rule_found: bool) -> bool: ...


@dataclass(frozen=True)
class Flagged:
    start: int
    end: int
    probability: float


# Markdown that opens a line: a heading, a list or task-list bullet, a numbered item, a quote.
_MARKER = re.compile(r"(?:#{1,6}\s+|[-*+]\s+(?:\[[ xX]\]\s*)?|\d{1,3}[.)]\s+|>\s*)+")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
# The reader learnt from sentences of three words or more; a shorter line ("- RN", "Owner: Emil", a heading) is
# outside what it can judge (it gave such fragments 0.98), and the rules still read it.
READER_MIN_WORDS = 3
# A Markdown heading names a section ("### What could have gone better?", the question of many blameless templates,
# which the reader scored 0.995): it is not read as a sentence of the narrative (the rules still read it).
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}\s")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-empty sentence, stripped of surrounding space and of the Markdown that opens it; a
    paragraph wrapped over lines is read as the sentences it holds (server/analysis/blocks.py)."""
    spans = []
    for at, block in blocks(text):
        for m in _SENTENCE.finditer(block):
            raw = m.group(0)
            start = m.start() + len(raw) - len(raw.lstrip())
            marker = _MARKER.match(block, start) if start == 0 or raw[0].isspace() else None
            start = marker.end() if marker and marker.end() < m.end() else start
            end = m.start() + len(raw.rstrip())
            if end > start and re.search(r"\w", block[start:end]):
                spans.append((at + start, at + end))
    return spans


def model_findings(text: str, ruled: list[tuple[int, int]], judge: Judge) -> list[Flagged]:
    """Sentences with no rule span in them that the reader calls blaming (of those it can judge: three words or
    more)."""
    candidates = [
        (start, end)
        for start, end in sentence_spans(text)
        if not any(s < end and start < e for s, e in ruled)  # a rule already reported this sentence
        and len(_WORD.findall(text, start, end)) >= READER_MIN_WORDS
        and not _HEADING.match(text, text.rfind("\n", 0, start) + 1)
    ]
    return [f for f in _scored(text, candidates, judge) if judge.decide(f.probability, rule_found=False)]


def vetoable(sentence: str) -> bool:
    """Whether the reader may overrule a rule's finding in this sentence: not when it names a role."""
    return not _ROLE.search(sentence)


def vetoed(text: str, ruled: list[tuple[int, int]], judge: Judge) -> list[Flagged]:
    """The sentences with a rule span that the reader overrules (its probability below its `veto`), of those that
    name no role; none when it has no veto (nothing is read then)."""
    if judge.veto <= 0:
        return []
    sentences = sorted(
        {(s, e) for s, e in sentence_spans(text) if any(a < e and s < b for a, b in ruled) and vetoable(text[s:e])}
    )
    return [f for f in _scored(text, sentences, judge) if not judge.decide(f.probability, rule_found=True)]


def _scored(text: str, spans: list[tuple[int, int]], judge: Judge) -> list[Flagged]:
    if not spans:
        return []
    p = judge.probabilities([in_words(text[s:e].replace("\n", " ")) for s, e in spans])
    return [Flagged(s, e, round(float(q), 3)) for (s, e), q in zip(spans, p, strict=True)]


def _first_agent(sentence: str) -> re.Match[str] | None:
    for m in _AGENT.finditer(sentence):
        word = m.group("agent")
        if word[:1].isupper() and word.split()[0] in NOT_NAMES and not re.fullmatch(PERSON, word, _I):
            continue  # "The", "Root", a system name: not a person
        return m
    return None


# Asides that only name the person ("Someone — a human — gave it the keys", "Dana (on call) ran ...").
_ASIDE = re.compile(r"\s+[—–]\s+[^—–.]{1,40}?\s+[—–]\s+|\s+--\s+[^.]{1,40}?\s+--\s+|\s*\([^()]{0,60}\)", _I)
_CLAUSES = re.compile(r"\s*(?:,\s+(?:and\s+|but\s+|so\s+)?|;\s+|\s+(?:and|but)\s+(?=(?:I|we|he|she|they|you)\s))", _I)
# A person in a subordinate clause: "As he was trying to fix it" -> "while trying to fix it".
_WHILE = re.compile(
    r"^(?:as|while|when|after|before)\s+(?:" + PERSON + r"|" + NAME + r")\s+(?:was|were|is|are)\s+(\w+ing\b.*)$", _I
)
_APOLOGY = re.compile(r"^.*\b(?:sorry|apolog\w*|regrets?|my\s+bad)\b(?:\s+(?:for|about))?\s*(?:the\s+)?", _I)
# Whose it was: "my", "the boss's", "Lee's", "@bob's" or "@bob" before a noun become an article.
_OWNERS = re.compile(
    r"\b(?:(?:my|our|his|her|their|your|the|a)\s+(?:" + ROLES + r")['’]s|my|our|his|her|their|your)\s+(?=\w)|"
    r"(?<![\w.])@[\w-]+(?:['’]s)?\s+(?=\w+(?<!ed)\b)|\b(?-i:[A-Z][a-z]{2,})['’]s\s+",
    _I,
)
_DITRANSITIVE = re.compile(r"^\S+\s+(\w+)\s+(it|them)\s+(.+)$", _I)  # "Someone gave it the keys"
_PAST = re.compile(r"^(?:\w+ed|ran|made|did|sent|put|set|left|wrote|took|gave|broke|forgot|lost|cut|hit|pushed)\b", _I)
_TAIL = "; nothing in the process stopped or caught it before it took effect"
_REQUIRED = ", and no step or check in the process required it"  # the not-done shape's tail


def _names_someone(text: str) -> bool:
    """A blame span, or a person left in the text (a pronoun, a role or an @mention)."""
    found = (m.group(0) for m in re.finditer(r"(?<![\w.])@[\w-]+|" + PERSON, text, _I))
    return bool(detect(text)) or any(w.lower() not in ("everyone", "everybody") for w in found)  # who was affected


def _acts(clause: str, agent: re.Match[str]) -> bool:
    """The clause's head is a person doing something: a pronoun, a role or an @mention, or a name before a past verb
    ("Dana deployed"), not a capitalised noun before a copula ("Build is broken") nor a possessive ("My boss's")."""
    after = clause[agent.end() :]
    if re.match(r"['’]s?\s", after):
        return False
    return bool(re.fullmatch(PERSON + r"|@[\w-]+", agent.group("agent"), _I)) or bool(_PAST.match(after.strip()))


def _clause(clause: str) -> str:
    """One clause without its person: a passive when a person heads it, their possessives made articles."""
    clause = clause.strip()
    if _PAST.match(clause):  # "..., and deleted 80,000 lines": the same person's next verb
        clause = "Someone " + clause
    agent = _first_agent(clause)
    if agent is not None and agent.start() == 0 and _acts(clause, agent):
        if (two := _DITRANSITIVE.match(clause)) is not None and participle(two.group(1)) != two.group(1).lower() + "ed":
            return f"{two.group(2).capitalize()} {'was' if two.group(2).lower() == 'it' else 'were'} " + (
                f"{participle(two.group(1))} {two.group(3)}"
            )
        rewrite = rule_rewrite(clause, BlameSpan(0, agent.end(), "learned", agent.group("agent")))
        if not _names_someone(rewrite) and not rewrite.lower().startswith(("at ", "in ", "on ", "to ")):
            return rewrite.rstrip(".").replace(_TAIL, "").replace(_REQUIRED, "")
        return ""  # a person's clause with nothing to keep without them ("I sat at the console")
    if (sub := _WHILE.match(clause)) is not None:
        clause = "while " + sub.group(1)
    return _unowned(clause)


def _unowned(text: str) -> str:
    """Whose it was taken out: "my"/"his"/"the boss's"/"@bob" -> "the", "Lee's" -> "a"."""
    return _OWNERS.sub(lambda m: "a " if re.match(r"(?-i:[A-Z][a-z]{2,}['’])", m.group(0)) else "the ", text)


def _depersonalised(sentence: str) -> str | None:
    """The sentence clause by clause without its person, what happened kept; None when someone is still named or no
    clause was rewritten (only the clauses around a person's dropped one are left: "Either way, or fucked it up")."""
    sentence = _ASIDE.sub(" ", sentence).strip().rstrip(".!?:( ")
    apology = _APOLOGY.match(sentence)
    if apology is not None and apology.end() < len(sentence):
        sentence = f"the {sentence[apology.end() :]} happened"  # "Regrets and apologies for the f**k up"
    clauses = [c for c in _CLAUSES.split(sentence) if c and c.strip()]
    parts = [_clause(c) for c in clauses]
    acted = apology is not None or any(p and p != c.strip() for c, p in zip(clauses, parts, strict=True))
    parts = [p for p in parts if p]
    text = ", ".join([parts[0], *(mid_sentence(p) for p in parts[1:])]) if parts else ""
    if not acted or len(text.split()) < 4 or _names_someone(text):
        return None
    return re.sub(r"(?i)\bthe the\b", "the", sentence_case(text)) + _TAIL + "."


def learned_rewrite(sentence: str) -> str:
    """A systemic version of a sentence the model flagged: the shape the rule-based rewriter knows when it finds one
    (its first person made the object of a passive), otherwise the sentence clause by clause without the person,
    what happened kept; a question about the missing check only when no such sentence can be built."""
    agent = _first_agent(sentence)
    if agent is not None:
        owned = re.match(r"['’]s?\s+\w+", sentence[agent.end() :])  # "Lee's change broke ...": the rules' possessive
        rule, end = ("possessive", agent.end() + owned.end()) if owned else ("learned", agent.end())
        rewrite = rule_rewrite(sentence, BlameSpan(agent.start(), end, rule, agent.group("agent")))
        rewrite = _unowned(rewrite)
        if not _names_someone(rewrite) and not re.search(r"\b" + re.escape(agent.group("agent")) + r"\b", rewrite, _I):
            return rewrite
        kept = _before_person(rewrite)
        if kept is not None and not re.search(r"\b" + re.escape(agent.group("agent")) + r"\b", kept, _I):
            return _depersonalised(sentence) or kept
    elif (rest := _after_head(sentence)) is not None:
        # No person the lexicon knows, but the reader said someone is blamed: the noun phrase heading the sentence
        # before its past verb is them ("The night janitor unplugged the freezer" -> "The freezer was unplugged").
        return learned_rewrite("Someone " + rest)
    return _depersonalised(sentence) or GENERIC


# A determiner and one to three words: the noun phrase heading a sentence ("The night janitor", "Our x-turned-y").
_HEAD = re.compile(r"(?:the|a|an|our|my|their|his|her|your|one\s+of\s+(?:the|our|their))((?:\s+[\w'’-]+){1,3})\s+", _I)


def _after_head(sentence: str) -> str | None:
    """What follows the heading noun phrase of `sentence` when a past verb does ("unplugged the freezer"), or None."""
    if (head := _HEAD.match(sentence)) is None:
        return None
    words = head.group(1).split()
    for n in range(1, len(words) + 1):  # the shortest phrase before a past verb
        rest = " ".join(words[n:] + [sentence[head.end() :]])
        if _PAST.match(rest):
            return rest
    return None


def systemic(sentence: str, rewrite: str) -> str:
    """The rule-based rewrite of a rule's finding, or, when it still names someone or keeps a possessive before an
    article ("my a gap"), the sentence rewritten without its person as for a learned finding."""
    if (one := _ONE_WHO.search(sentence)) is not None:  # "I was the one who handed it ..." -> "Someone handed it ..."
        unnamed = sentence[: one.start()] + "Someone " + sentence[one.end() :]
        return _depersonalised(unnamed) or learned_rewrite(unnamed)
    if not _names_someone(rewrite) and not re.search(r"\b(?:my|our|his|her|their|your)\s+(?:a|an|the)\b", rewrite, _I):
        return rewrite
    learned = learned_rewrite(sentence)  # the whole sentence clause by clause keeps more than a cut rewrite
    return (_before_person(rewrite) or learned) if learned == GENERIC else learned


_ONE_WHO = re.compile(
    r"(?:\b[\w@'’-]+(?:\s+[\w'’-]+)?\s+(?:was|were|am|is|are)|\bas)\s+the\s+(?:one|ones|person|people|guy|engineer)\s+"
    r"(?:who|that)\s+",
    _I,
)


# Where a passive rewrite's next clause begins: "..., we caused", "... and I merged", "... because i put".
_NEXT_CLAUSE = re.compile(r",\s+|;\s+|\s+(?:and|but|so|because|since|when|while|then|before|after|once)\s+", _I)
_VAGUE = re.compile(r"(?:it|them|you|wait|this|that|what)\s", _I)  # a subject that says nothing on its own


def _before_person(rewrite: str) -> str | None:
    """A passive rewrite (its object made the subject) cut before the clause where a person still acts ("Everything
    was pushed into the English file and I merged" -> "Everything was pushed into the English file"), or None when
    no such clause of four words or more is left, or it still names someone."""
    tail = next((t for t in (_TAIL, _REQUIRED) if rewrite.endswith(t + ".")), None)
    if tail is None:
        return None
    core = rewrite[: -len(tail) - 1]
    person = re.search(r"(?<![\w.])@[\w-]+|" + PERSON, core, _I)
    spans = detect(core)
    first = min(([person.start()] if person else []) + [s.start for s in spans], default=None)
    cuts = [m.start() for m in _NEXT_CLAUSE.finditer(core) if first is not None and m.end() <= first]
    if not cuts or _VAGUE.match(core):
        return None
    kept = core[: cuts[-1]].rstrip(" ,;(-–—")
    kept = kept[: kept.rfind("(")].rstrip() if kept.count("(") > kept.count(")") else kept
    if len(kept.split()) < 4 or _names_someone(kept):
        return None
    return kept + tail + "."
