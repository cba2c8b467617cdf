"""Blameless language: find phrasing that makes a person the cause, and rewrite the sentence into a systemic one.

A post-mortem asks what in the system allowed a failure. `check_blameless` finds every stretch of text where a
person or a team is the agent of a failure (server/blame.py: names, roles, pronouns, possessives, passives with a
person as agent, "human error", "should have", judgements) and returns it with its span, the rule, and a rewrite of
the whole sentence that names the missing safeguard instead of the person (server/blame_rewrite.py; with an LLM
when one is given, validated, the rule-based rewrite otherwise). Systems failing ("the API failed to respond",
"the migration dropped the table") are never flagged.

With `embed` (a function from sentences to vectors of the bundled all-MiniLM-L6-v2; the service passes its
embedder's), the learned detector (server/analysis/blame_learned.py) also reads every sentence the rules found
nothing in: a sentence its calibrated probability flags becomes a finding of rule "learned" that covers the sentence,
with a systemic rewrite. Without `embed` (the report renderer, a machine without the model) the rules decide alone.
"""

import re

from pydantic import BaseModel

from agent_postmortem.analysis.blame import detect
from agent_postmortem.analysis.blame_learned import learned_rewrite, model_findings
from agent_postmortem.analysis.blame_model import BlameModel, Embed, load
from agent_postmortem.analysis.blame_rewrite import rewrite_with_llm, rule_rewrite


class Finding(BaseModel):
    start: int
    end: int
    text: str
    rule: str
    suggestion: str
    rewritten_by: str = "rules"
    probability: float | None = None  # the learned model's, for a finding of rule "learned"


class BlamelessReport(BaseModel):
    blameless: bool
    findings: list[Finding]


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    before = [m.end() for m in re.finditer(r"[.!?]\s+|\n", text[:start])]
    after = re.search(r"[.!?](?=\s|$)|\n", text[end:])
    return (before[-1] if before else 0), (end + after.end() if after else len(text))


def check_blameless(
    text: str, *, llm: object | None = None, embed: Embed | None = None, model: BlameModel | None = None
) -> BlamelessReport:
    """Every blaming stretch of `text` with a systemic rewrite of its sentence (by `llm` when given and valid); with
    `embed`, also the sentences the learned model flags (`model`: the shipped one by default)."""
    findings = _rule_findings(text, llm)
    if embed is not None:
        ruled = [_sentence_bounds(text, f.start, f.end) for f in findings]
        for flagged in model_findings(text, ruled, embed, model or load()):
            sentence = text[flagged.start : flagged.end]
            rewrite, by = rewrite_with_llm(sentence, learned_rewrite(sentence), llm)
            findings.append(
                Finding(start=flagged.start, end=flagged.end, text=sentence, rule="learned", suggestion=rewrite,
                        rewritten_by=by, probability=flagged.probability)
            )  # fmt: skip
        findings.sort(key=lambda f: f.start)
    return BlamelessReport(blameless=not findings, findings=findings)


def _rule_findings(text: str, llm: object | None) -> list[Finding]:
    findings = []
    for span in detect(text):
        s_start, s_end = _sentence_bounds(text, span.start, span.end)
        sentence = text[s_start:s_end].strip()
        local = type(span)(span.start - s_start - (len(text[s_start:s_end]) - len(text[s_start:s_end].lstrip())),
                           span.end - s_start, span.rule, span.agent)  # fmt: skip
        rewrite, by = rewrite_with_llm(sentence, rule_rewrite(sentence, local), llm)
        findings.append(
            Finding(
                start=span.start,
                end=span.end,
                text=text[span.start : span.end],
                rule=span.rule,
                suggestion=rewrite,
                rewritten_by=by,
            )  # fmt: skip
        )
    return findings
