"""The blameless-language rules before issue #18 (one regular expression per phrase), kept as the reference that
`postmortem bench blameless` reports next to the current detector. Not used by the product."""

import re
from dataclasses import dataclass

from pydantic import BaseModel

ROLES = (
    r"engineer|developer|dev|operator|admin|administrator|on-?call|sre|analyst|reviewer|author|user|customer|"
    r"owner|team|intern|manager|lead|person|staff|employee|contractor|tester|qa"
)
# Case matters only for the last alternative: a capitalised name right before a blame verb ("Dave forgot").
PERSON = (
    r"(?:(?i:\b(?:he|she|they|i|we|you|someone|somebody|nobody|everyone)\b)"
    r"|(?i:\b(?:the|our|an?|their|his|her)\s+(?:[\w-]+\s+){0,2}?(?:" + ROLES + r")s?\b)"
    r"|\b[A-Z][a-z]+(?=\s+(?i:forgot|failed|neglected|ignored|missed|broke|skipped|didn't|did not|should|messed)))"
)
_BLAME_VERB = (
    r"(?i:failed to|forgot to|forgot|neglected to|neglected|ignored|didn't bother|did not bother|"
    r"didn't check|did not check|didn't test|did not test|missed|skipped|overlooked|messed up|screwed up|"
    r"broke)"
)


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    rewrite: str


RULES = [
    Rule(
        "human_error",
        re.compile(r"\b(?:human|operator|user|pilot|engineer|developer)\s+error\b", re.I),
        'name the missing safeguard instead: "the system allowed <action> without <check>"',
    ),
    Rule(
        "counterfactual",
        re.compile(r"\b(?:should|could|would)(?:\s*n[o']t)?\s*(?:have|'ve|of)\b|\bought to have\b", re.I),
        'describe what the process did not ensure: "the process did not require <step>"',
    ),
    Rule(
        "judgement",
        re.compile(
            r"\b(?:careless(?:ly|ness)?|negligen(?:t|ce|tly)|sloppy|lazy(?![- ]?(?:load|init|evaluat))|"
            r"incompeten(?:t|ce)|"
            r"reckless(?:ly)?|stupid|dumb|inattentive|irresponsible|clumsy)\b",
            re.I,
        ),
        "drop the judgement and state the conditions: what made the action easy to get wrong?",
    ),
    Rule(
        "person_as_cause",
        re.compile(PERSON + r"\s+(?i:had\s+|simply\s+|just\s+)?" + _BLAME_VERB),
        'make the system the subject: "the system did not prompt for / check <step>"',
    ),
    Rule(
        "blame_word",
        re.compile(
            r"\b(?:(?:is|was|were)\s+to\s+blame|(?:fault|blame)\s+(?:of|lies with|on)|"
            r"(?:his|her|their|my|our)\s+fault|\b[A-Z][a-z]+'s\s+fault|"
            r"(?:caused|introduced)\s+by\s+(?:(?:the|an?)\s+)?(?:engineer|developer|operator|intern|on-?call)\b|"
            # a bare capitalised name ("caused by Dave"), not "the SDK" or "Kafka consumer"
            r"(?:caused|introduced)\s+by\s+(?-i:[A-Z][a-z]+)\b(?!\s+(?:API|service|job|deploy|team|consumer|client)))",
            re.I,
        ),
        "name the mechanism that let the change through, not the person who made it",
    ),
]


class Finding(BaseModel):
    start: int
    end: int
    text: str
    rule: str
    suggestion: str


class BlamelessReport(BaseModel):
    blameless: bool
    findings: list[Finding]


def check_blameless(text: str) -> BlamelessReport:
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for rule in RULES:
        for match in rule.pattern.finditer(text):
            span = match.span()
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue  # one finding per stretch of text
            taken.append(span)
            findings.append(
                Finding(start=span[0], end=span[1], text=match.group(0), rule=rule.name, suggestion=rule.rewrite)
            )
    findings.sort(key=lambda f: f.start)
    return BlamelessReport(blameless=not findings, findings=findings)
