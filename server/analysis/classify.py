"""Classification, severity and triage: pure functions over a capture and its nearest past incidents.

Category = keyword rules over the error and text fields, plus similarity-weighted votes of the
nearest labelled past incidents. Severity = the scale the capture states (people, records, money, outage length,
data lost or exposed), mapped by the triage policy's `[severity]` thresholds. Every decision carries the signals
that made it, so a person can check it, and explicit values from the reporter always win.
"""

import re
from dataclasses import dataclass

from agent_postmortem.analysis.blocks import unwrapped
from agent_postmortem.analysis.decision import CategoryCheck, Decision
from agent_postmortem.analysis.policy import TriageFacts, TriagePolicy, triage
from agent_postmortem.analysis.severity_policy import SeverityPolicy, assess
from agent_postmortem.store.models import Category, CategorySource, IncidentCreate, Severity

DEFAULT_POLICY = TriagePolicy()

# A past incident at least this similar (cosine, all-MiniLM-L6-v2) counts as "the same kind of
# failure": below it the capture is novel. Calibrated with `postmortem bench novelty`: the best balanced
# accuracy between recurring and unrelated incidents of the seed knowledge base (0.95 at 0.72); at 0.72,
# 3% of AIID news excerpts whose incident was removed still matched something. Erring high is the safe side:
# a known failure called novel costs a full post-mortem, a novel one called known could be waved through.
NOVELTY_THRESHOLD = 0.72
VOTE_THRESHOLD = 0.45
VOTE_WEIGHT = 3.0

_RULES: dict[Category, list[tuple[str, float]]] = {
    Category.RATE_LIMIT: [
        (r"\b429\b", 3),
        (r"rate.?limit", 3),
        (r"too many requests", 3),
        (r"quota", 2),
        (r"\b(rpm|tpm)\b", 1.5),
        (r"throttl", 2),
    ],
    Category.TIMEOUT: [
        (r"time[d ]?out", 3),
        (r"deadline exceeded", 3),
        (r"\b504\b", 2),
        (r"\bhung\b|\bhang", 1),
        (r"took too long|exceeded .{0,20}(seconds|budget)", 1.5),
        (r"max(imum)? (steps|iterations)", 1),
    ],
    Category.PROMPT_INJECTION: [
        (r"prompt.?injection", 4),
        (r"ignore (all |the )?(previous|prior|above)", 3),
        (r"jailbreak", 3),
        (r"exfiltrat", 2.5),
        (r"hidden instruction", 3),
        (r"system prompt (leak|disclos|reveal)", 2.5),
        (r"injected", 2),
    ],
    Category.LLM_HALLUCINATION: [
        (r"hallucinat", 4),
        (r"fabricat", 3),
        (r"made.?up|invented|non-?existent", 2.5),
        (r"does not exist|doesn't exist|never existed", 2),
        (r"citation", 1.5),
        (r"confidently (wrong|stated)", 2),
        (r"fake (url|link|reference|quote)", 3),
    ],
    Category.LLM_REFUSAL: [
        (r"refus", 3.5),
        (r"declin", 2),
        (r"i can(no|')t (help|assist)", 3),
        (r"content (policy|filter)", 2.5),
        (r"safety (filter|policy)", 2),
        (r"unable to comply", 3),
    ],
    Category.TOOL_FAILURE: [
        (r"tool", 1),
        (r"schema|validation ?error", 2),
        (r"invalid (argument|parameter)", 2.5),
        (r"wrong (tool|argument|parameter)", 3),
        (r"function call", 1.5),
        (r"\b(400|404|422)\b", 1.5),
        (r"missing required", 2),
        (r"api error", 1),
    ],
    Category.DATA_CORRUPTION: [
        (r"corrupt", 4),
        (r"overwr(ote|itten|ite)", 2.5),
        (r"data loss|lost (data|records)", 3),
        (r"duplicat(e|ed) (records|rows|entries)", 2.5),
        (r"(deleted|dropped) .{0,20}(rows|records|table)", 3),
        (r"inconsisten", 1.5),
        (r"mangled|truncated data|wrong encoding", 2),
    ],
    Category.BUSINESS_LOGIC: [
        (r"refund", 2),
        (r"discount|coupon|price|pricing", 2),
        (r"policy violation", 2.5),
        (r"business rule", 3.5),
        (r"approv(ed|al) (without|above)", 2.5),
        (r"limit of \$", 2),
        (r"unauthori[sz]ed (purchase|transaction|order)", 3),
        (r"invoice|payment", 1),
    ],
    Category.INFRASTRUCTURE: [
        (r"out of memory|\boom\b", 3),
        (r"connection (refused|reset)", 2.5),
        (r"\b(502|503)\b", 2),
        (r"dns|certificate|tls|ssl", 2),
        (r"disk (full|space)", 3),
        (r"kubernetes|pod|node|container|deploy", 1.5),
        (r"database (down|unavailable)", 2.5),
        (r"outage", 1),
    ],
}
_COMPILED = {c: [(re.compile(p, re.IGNORECASE), w) for p, w in rules] for c, rules in _RULES.items()}
# The error type and message are the strongest evidence; the free text is weaker.
_FIELD_WEIGHTS = {"error_type": 1.5, "error_message": 1.5, "title": 1.0, "description": 0.6, "tool": 0.5, "impact": 0.3}


@dataclass(frozen=True)
class Neighbour:
    incident_id: str
    category: Category
    similarity: float


@dataclass(frozen=True)
class CategoryDecision:
    category: Category
    confidence: float
    signals: list[str]
    check: CategoryCheck | None = None  # the learned classifier's dissent from a given (or a model's) category
    source: CategorySource = "rules"


def rule_scores(capture: IncidentCreate) -> tuple[dict[Category, float], dict[Category, list[str]]]:
    """The keyword rules alone: a score per category and the matches behind it, field by field."""
    scores: dict[Category, float] = dict.fromkeys(Category, 0.0)
    evidence: dict[Category, list[str]] = {c: [] for c in Category}
    for field, weight in _FIELD_WEIGHTS.items():
        text = unwrapped(getattr(capture, field) or "")  # a phrase wrapped over two lines is one phrase
        if not text:
            continue
        for category, rules in _COMPILED.items():
            for pattern, w in rules:
                match = pattern.search(text)
                if match:
                    scores[category] += w * weight
                    evidence[category].append(f"{field} mentions '{match.group(0).lower()}'")
    return scores, evidence


def classify(capture: IncidentCreate, neighbours: list[Neighbour]) -> CategoryDecision:
    """The keyword rules plus similarity-weighted votes of the nearest labelled incidents (the decision before the
    learned classifier, kept as a baseline: `postmortem bench classify`)."""
    if capture.category is not None:
        return CategoryDecision(capture.category, 1.0, ["category given by the caller"], source="caller")
    scores, evidence = rule_scores(capture)
    for n in neighbours:
        if n.similarity >= VOTE_THRESHOLD:
            scores[n.category] += VOTE_WEIGHT * n.similarity
            evidence[n.category].append(f"similar past incident {n.incident_id} ({n.similarity:.2f}) is {n.category}")
    total = sum(scores.values())
    if total == 0:
        fallback = Category.TOOL_FAILURE if capture.tool else Category.INFRASTRUCTURE
        return CategoryDecision(
            fallback,
            0.2,
            [
                "no rule or similar incident matched; default for "
                + ("a tool call" if capture.tool else "an unknown failure")
            ],
        )
    best = max(scores, key=lambda c: scores[c])
    return CategoryDecision(best, round(scores[best] / total, 3), evidence[best][:6])


def severity(capture: IncidentCreate, policy: SeverityPolicy = DEFAULT_POLICY.severity) -> tuple[Severity, list[str]]:
    """Severity from the scale the capture states (server/severity_policy.py); the reporter's own level wins."""
    return assess(capture, policy)


def decide(
    capture: IncidentCreate,
    neighbours: list[Neighbour],
    *,
    novel: bool | None = None,
    recurred_after_fix: bool = False,
    policy: TriagePolicy = DEFAULT_POLICY,
    picked: CategoryDecision | None = None,
) -> Decision:
    """Category, severity and triage for a capture given its nearest past incidents (best first).
    `novel` defaults to "nothing at least NOVELTY_THRESHOLD similar"; `picked`, the category decision, defaults to
    the keyword rules and neighbour votes of `classify` (the service passes the learned one: server/categorize.py)."""
    if novel is None:
        novel = not neighbours or neighbours[0].similarity < NOVELTY_THRESHOLD
    picked = picked or classify(capture, neighbours)
    level, level_reasons = severity(capture, policy.severity)
    nearest = neighbours[0] if neighbours else None
    facts = TriageFacts(
        severity=level,
        category=picked.category.value,
        novel=novel,
        customer_reported=capture.customer_reported,
        user_facing=capture.user_facing,
        recurred_after_fix=recurred_after_fix,
        nearest_id=nearest.incident_id if nearest else None,
        nearest_similarity=nearest.similarity if nearest else None,
        novelty_threshold=NOVELTY_THRESHOLD,
    )
    kind, kind_reasons = triage(facts, policy)
    return Decision(
        category=picked.category,
        category_confidence=picked.confidence,
        category_signals=picked.signals,
        category_source=picked.source,
        classifier_disagrees=picked.check,
        severity=level,
        severity_reasons=level_reasons,
        triage=kind,
        triage_reasons=kind_reasons,
        novel=novel,
        recurred_after_fix=recurred_after_fix,
    )
