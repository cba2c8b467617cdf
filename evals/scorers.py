"""Scorers for drafted analyses: pure functions of (draft, case, similarity) returning a Score.

A score passes, fails, or is unscored (`passed=None`): a scorer that does not apply to the case (a model-behaviour
section for an infrastructure failure) or could not reach a verdict never counts as a failure.
"""

import re
from collections.abc import Callable

from pydantic import BaseModel

from agent_postmortem.analysis.blameless import check_blameless
from agent_postmortem.analysis.grounding import PARAPHRASE, addresses_a_cause, causes_of, overlap, specifics
from agent_postmortem.evals.cases import Case
from agent_postmortem.store.models import LLM_CATEGORIES, Analysis, Category

Similarity = Callable[[list[str], list[str]], list[list[float]]]  # cosine matrix between two lists of texts

ROOT_CAUSE_AGREEMENT = 0.5  # cosine to the reference root cause; the data README's baselines: 0.564 / 0.312
ACTION_MATCH = 0.5  # cosine at which a drafted item covers a reference item
ACTION_RECALL = 0.5  # share of the reference items a draft must cover
_SYSTEMIC = re.compile(
    r"\b(system|process|pipeline|policy|no |not |without|lack|missing|allowed|absent|never|unchecked|unbounded|"
    r"default|design|config|schema|guard|limit|valid|test|monitor|alert)",
    re.IGNORECASE,
)
_VERIFIABLE = re.compile(
    r"\b(add|alert|block|reject|require|validate|test|enforce|limit|cap|set|monitor|fail|retry|back ?off|pin|"
    r"check|remove|replace|migrate|document|page|rotate|deploy|configure|introduce|implement|create|switch|"
    r"restrict|quarantine|gate|log|measure|track|run|rate|timeout|deadline)\w*",
    re.IGNORECASE,
)


class Score(BaseModel):
    name: str
    passed: bool | None
    value: float | None = None
    reason: str


def _all_text(a: Analysis) -> str:
    parts = [f"{w.question} {w.answer}" for w in a.whys] + [a.root_cause, a.model_behavior or "", a.responsible or ""]
    parts += [f"{f.factor} {f.effect}" for f in a.contributing_factors]
    parts += [f"{i.title} {i.addresses}" for i in a.action_items]
    return "\n".join(parts)


def _incident_text(case: Case) -> str:
    i = case.incident
    fields = [i.title, i.description, i.error_type, i.error_message, i.agent, i.tool, i.tool_args, i.model]
    fields += [i.prompt_excerpt, i.environment, i.impact, *(e.description for e in i.timeline)]
    return "\n".join(f for f in fields if f)


def whys_depth(a: Analysis, case: Case, sim: Similarity) -> Score:
    answers = [w.answer for w in a.whys]
    if len(answers) < 3:
        return Score(name="whys_depth", passed=False, reason=f"{len(answers)} whys; at least 3 expected")
    repeats = [n + 1 for n in range(1, len(answers)) if overlap(answers[n - 1], answers[n]) >= PARAPHRASE]
    last = answers[-1]
    blames = check_blameless(last).findings
    systemic = bool(_SYSTEMIC.search(last)) and not blames
    passed = not repeats and systemic
    reason = (
        "each why goes deeper and the last is systemic"
        if passed
        else "; ".join(
            ([f"why {n} restates the previous one" for n in repeats])
            + ([] if systemic else ["the last why is not systemic"])
        )
    )
    return Score(name="whys_depth", passed=passed, reason=reason)


def root_cause_agreement(a: Analysis, case: Case, sim: Similarity) -> Score:
    value = sim([a.root_cause], [case.reference.root_cause])[0][0]
    return Score(
        name="root_cause_agreement",
        passed=value >= ROOT_CAUSE_AGREEMENT,
        value=round(value, 3),
        reason=f"cosine {value:.2f} to the reference root cause (pass at {ROOT_CAUSE_AGREEMENT})",
    )


def actions_specific(a: Analysis, case: Case, sim: Similarity) -> Score:
    if not a.action_items:
        return Score(name="actions_specific", passed=False, reason="no action items")
    causes = causes_of(a.root_cause, [(f.factor, f.effect) for f in a.contributing_factors])
    problems = []
    good = 0
    for item in a.action_items:
        checkable = bool(_VERIFIABLE.search(item.title)) and len(item.title.split()) >= 4
        tied = addresses_a_cause(item.addresses, causes)
        good += checkable and tied
        problems += [] if checkable else [f"{item.title!r} has no checkable outcome"]
        problems += [] if tied else [f"{item.title!r} is tied to no cause"]
    return Score(
        name="actions_specific",
        passed=not problems,
        value=round(good / len(a.action_items), 3),
        reason="every item has an owner, priority, due date, a checkable outcome and a cause"
        if not problems
        else "; ".join(problems[:4]),
    )


def action_recall(a: Analysis, case: Case, sim: Similarity) -> Score:
    reference = case.reference.action_items
    if not reference:
        return Score(name="action_recall", passed=None, reason="the case has no reference action items")
    if not a.action_items:
        return Score(name="action_recall", passed=False, value=0.0, reason="no action items")
    matrix = sim(reference, [i.title for i in a.action_items])
    covered = sum(max(row) >= ACTION_MATCH for row in matrix)
    value = covered / len(reference)
    return Score(
        name="action_recall",
        passed=value >= ACTION_RECALL,
        value=round(value, 3),
        reason=f"{covered} of {len(reference)} reference action items covered (cosine >= {ACTION_MATCH})",
    )


def grounding(a: Analysis, case: Case, sim: Similarity) -> Score:
    if a.removed_citations:
        return Score(
            name="grounding",
            passed=False,
            reason=f"cited incidents not in its context: {', '.join(a.removed_citations)}",
        )
    source = _incident_text(case).lower()
    claims = specifics(_all_text(a))
    untraced = sorted(c for c in claims if c not in source)
    value = 1 - len(untraced) / len(claims) if claims else 1.0
    return Score(
        name="grounding",
        passed=value >= 0.8,
        value=round(value, 3),
        reason="identifiers and numbers all appear in the incident"
        if not untraced
        else f"not in the incident: {', '.join(untraced[:6])}",
    )


def blameless(a: Analysis, case: Case, sim: Similarity) -> Score:
    findings = check_blameless(_all_text(a)).findings
    return Score(
        name="blameless",
        passed=not findings,
        reason="no blaming language" if not findings else "; ".join(f'"{f.text}" ({f.rule})' for f in findings[:3]),
    )


def model_behavior(a: Analysis, case: Case, sim: Similarity) -> Score:
    if Category(case.incident.category) not in LLM_CATEGORIES or case.kind == "trace":
        return Score(name="model_behavior", passed=None, reason="not a model failure")
    present = bool(a.model_behavior and len(a.model_behavior.split()) >= 4)
    return Score(
        name="model_behavior",
        passed=present,
        reason="says what the model did" if present else "no model-behaviour section for a model failure",
    )


def expectations(a: Analysis, case: Case, sim: Similarity) -> Score:
    expect = case.expect
    if not expect.must_mention and not expect.must_not_say:
        return Score(name="expectations", passed=None, reason="the case states no expectations")
    text = _all_text(a).lower()
    missing = [group for group in expect.must_mention if not any(alt.lower() in text for alt in group)]
    said = [phrase for phrase in expect.must_not_say if phrase.lower() in text]
    problems = [f"mentions none of {'/'.join(g)}" for g in missing] + [f"says {p!r}" for p in said]
    return Score(
        name="expectations",
        passed=not problems,
        reason="says what it must and nothing it must not" if not problems else "; ".join(problems),
    )


def attribution(a: Analysis, case: Case, sim: Similarity) -> Score:
    """Multi-agent traces: the agent at fault and the decisive step (baselines: most talkative agent 0.467, a
    random step 0.095)."""
    ref = case.reference
    if ref.responsible_agent is None:
        return Score(name="attribution", passed=None, reason="not a multi-agent trace")
    named = ref.responsible_agent.lower() in (a.responsible or "").lower()
    step = a.decisive_step == ref.decisive_step
    return Score(
        name="attribution",
        passed=named,
        value=1.0 if named and step else 0.5 if named or step else 0.0,
        reason=f"agent {'right' if named else 'wrong'} ({a.responsible or 'none'} vs {ref.responsible_agent}); "
        f"step {'right' if step else 'wrong'} ({a.decisive_step} vs {ref.decisive_step})",
    )


SCORERS: tuple[Callable[[Analysis, Case, Similarity], Score], ...] = (
    whys_depth,
    root_cause_agreement,
    actions_specific,
    action_recall,
    grounding,
    blameless,
    model_behavior,
    expectations,
    attribution,
)


def score(a: Analysis, case: Case, sim: Similarity) -> list[Score]:
    return [scorer(a, case, sim) for scorer in SCORERS]
