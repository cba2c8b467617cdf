"""The learned detector's part of `check_blameless`: the sentences it flags that the rules did not, and a systemic
rewrite for each.

A text is cut into sentences; each sentence without a rule span is embedded alone and read by the learned model
(server/analysis/blame_model.py). A sentence is blaming when the model's calibrated probability reaches the shipped
threshold; its finding covers the whole sentence. The rewrite takes the first person the sentence names out of it
with the rule-based rewrite's passive ("He formatted the partitions" -> "The partitions were formatted; nothing in
the process stopped or caught it before it took effect."), and falls back to a question about the missing check when
no such sentence can be built without naming someone.
"""

import re
from dataclasses import dataclass

import numpy as np

from agent_postmortem.analysis.blame import BlameSpan, detect
from agent_postmortem.analysis.blame_lexicon import NAME, NOT_NAMES, PERSON
from agent_postmortem.analysis.blame_model import BlameModel, Embed, embed_each, features
from agent_postmortem.analysis.blame_rewrite import rule_rewrite

_I = re.IGNORECASE
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+(?=\s|$)|$)|[^\n]+", re.M)
_AGENT = re.compile(r"(?P<agent>" + PERSON + r"|" + NAME + r"|@[\w-]+)", _I)
GENERIC = "Something in the process let this happen; which check or step would have caught it before it took effect?"


@dataclass(frozen=True)
class Flagged:
    start: int
    end: int
    probability: float


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-empty sentence, stripped of surrounding space."""
    spans = []
    for m in _SENTENCE.finditer(text):
        raw = m.group(0)
        start = m.start() + len(raw) - len(raw.lstrip())
        end = m.start() + len(raw.rstrip())
        if end > start and re.search(r"\w", text[start:end]):
            spans.append((start, end))
    return spans


def model_findings(text: str, ruled: list[tuple[int, int]], embed: Embed, model: BlameModel) -> list[Flagged]:
    """Sentences with no rule span in them that the model calls blaming."""
    candidates = [
        (start, end)
        for start, end in sentence_spans(text)
        if not any(s < end and start < e for s, e in ruled)  # a rule already reported this sentence
    ]
    if not candidates:
        return []
    sentences = [text[s:e] for s, e in candidates]
    vectors = embed_each(embed, sentences)
    rows = [features(sentence, vector) for sentence, vector in zip(sentences, vectors, strict=True)]
    p = model.probabilities(np.vstack(rows))
    return [
        Flagged(s, e, round(float(q), 3))
        for (s, e), q in zip(candidates, p, strict=True)
        if model.decide(float(q), rule_found=False)
    ]


def _first_agent(sentence: str) -> re.Match[str] | None:
    for m in _AGENT.finditer(sentence):
        word = m.group("agent")
        if word[:1].isupper() and word.split()[0] in NOT_NAMES and not re.fullmatch(PERSON, word, _I):
            continue  # "The", "Root", a system name: not a person
        return m
    return None


def learned_rewrite(sentence: str) -> str:
    """A systemic version of a sentence the model flagged: its first person out, what happened kept."""
    agent = _first_agent(sentence)
    if agent is not None:
        rewrite = rule_rewrite(sentence, BlameSpan(agent.start(), agent.end(), "learned", agent.group("agent")))
        if not detect(rewrite) and not re.search(r"\b" + re.escape(agent.group("agent")) + r"\b", rewrite, _I):
            return rewrite
    return GENERIC
