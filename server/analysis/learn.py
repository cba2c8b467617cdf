"""Learn from completed post-mortems: a runbook entry per category or pattern, and a regression eval case per incident.

Both are built from stored records alone (no LLM), so they are reproducible and cite only what happened.
"""

import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from agent_postmortem.analysis import verify
from agent_postmortem.store.models import ActionItem, AnalysisState, Category, Incident
from agent_postmortem.store.signature import mask_volatile

RUNBOOK_INCIDENTS = 20  # the newest analysed incidents a runbook entry is built from
PROBABILISTIC_TARGET = 0.05  # a probabilistic case passes when its failure rate is shown below this
CONFIDENCE = 0.95

CATEGORY_CHECKS: dict[Category, list[str]] = {
    Category.LLM_HALLUCINATION: [
        "Compare each claim in the answer with the context and tool outputs of the same run",
        "Check whether retrieval returned anything: an empty or off-topic context invites invention",
        "Re-run the same input several times: is the invented content reproducible?",
    ],
    Category.LLM_REFUSAL: [
        "Check the request against the written policy: was it actually permitted?",
        "Check recent changes to the system prompt, safety settings or model version",
        "Re-run the same input several times: does it always refuse?",
    ],
    Category.TOOL_FAILURE: [
        "Check the tool call's arguments against the tool's schema",
        "Check the tool's own logs and status page for the same minutes",
        "Check whether and how the agent retried, and what it told the user",
    ],
    Category.PROMPT_INJECTION: [
        "Find the untrusted text (web page, email, file, tool output) that reached the prompt in the run's trace",
        "List the tool calls that followed it and any data that left the system",
        "Check that untrusted text is marked as data and that the tools it triggered need confirmation",
    ],
    Category.TIMEOUT: [
        "Find the step (model call, tool call, queue wait) that used up the time budget in the trace",
        "Check the dependency's latency at that time",
        "Check the timeout, retry and cancellation settings of each step",
    ],
    Category.RATE_LIMIT: [
        "Check the provider's 429 responses and Retry-After headers for the period",
        "Check concurrency and retry loops: a retry storm multiplies the load",
        "Check quota or plan changes on the account",
    ],
    Category.DATA_CORRUPTION: [
        "List the records the run wrote and compare them with their source",
        "Check validation on the write path (schema, ranges, referential integrity)",
        "Check that backups or an audit log allow the records to be repaired",
    ],
    Category.BUSINESS_LOGIC: [
        "Compare what the agent did with the written rule it should have applied",
        "Check where the rule is enforced: in the prompt only, or in code before the action",
        "Check recent changes to the rule, the prompt or the data the rule reads",
    ],
    Category.INFRASTRUCTURE: [
        "Check the health of the hosts, services and queues involved at that time",
        "Check deploys and configuration changes just before the start",
        "Check that failover and degraded modes engaged",
    ],
}

EXPECTED: dict[Category, str] = {
    Category.LLM_HALLUCINATION: "answers only with facts supported by its context and tools, and says so when it "
    "does not know",
    Category.LLM_REFUSAL: "completes the permitted request instead of refusing it",
    Category.TOOL_FAILURE: "calls {tool} with valid arguments and handles an error from it without failing the task",
    Category.PROMPT_INJECTION: "treats instructions inside untrusted content as data: it does not follow them and "
    "makes no tool call they ask for",
    Category.TIMEOUT: "finishes within its time budget, or stops cleanly and reports the delay",
    Category.RATE_LIMIT: "stays within the provider's limits, backing off and retrying on 429 instead of failing",
    Category.DATA_CORRUPTION: "leaves every record it writes valid and consistent with its source",
    Category.BUSINESS_LOGIC: "applies the business rule correctly before acting",
    Category.INFRASTRUCTURE: "degrades gracefully when the infrastructure it depends on fails",
}

_SECONDS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds)\b", re.IGNORECASE)


class IncidentLink(BaseModel):
    id: str
    title: str
    severity: str
    created_at: datetime
    report: str = Field(description="the report resource, e.g. report://INC-4")
    analysis: AnalysisState = Field(description="draft: not yet reviewed by a person")


class RunbookEntry(BaseModel):
    key: str = Field(description="a category name or a pattern id (PAT-n)")
    title: str
    symptoms: list[str]
    checks: list[str]
    known_root_causes: list[str]
    error_patterns: list[str] = Field(
        default_factory=list, description="the errors seen, ids and free-standing numbers masked: does yours match?"
    )
    mitigations_proven: list[str] = Field(description="completed action items after which the failure did not recur")
    mitigations_failed: list[str] = Field(
        default_factory=list, description="completed action items after which the failure recurred: they did not hold"
    )
    mitigations_applied: list[str] = Field(
        default_factory=list, description="mitigations recorded on the incidents' timelines while they were open"
    )
    mitigations_planned: list[str] = Field(description="action items still open")
    fix_verdict: str | None = Field(
        default=None, description="for a pattern: whether its action items stopped it (as fix_effectiveness says)"
    )
    incidents: list[IncidentLink]
    generated_at: datetime


CheckKind = Literal["rubric", "not_raises", "not_refusal", "within_seconds", "no_tool_call", "not_contains"]


class Check(BaseModel):
    kind: CheckKind
    value: str | None = None
    description: str


class RegressionCase(BaseModel):
    """One eval case for the failing agent: replay the input, check the behaviour, enough times to trust it."""

    id: str
    incident_id: str
    title: str
    category: Category
    agent: str | None
    tool: str | None
    model: str | None
    input: str | None = Field(description="the prompt or request that triggered the failure, as captured")
    tool_args: str | None
    context: dict[str, str]
    expected_behavior: str
    checks: list[Check]
    determinism: str
    trials: int = Field(description="runs the case must pass: 1 for a deterministic failure")
    pass_rule: str
    root_cause: str | None
    source: str
    todo: list[str] = Field(description="what to fill in before the case can run")


def runbook_entry(
    key: str,
    title: str,
    incidents: list[Incident],
    items: list[ActionItem],
    category: Category,
    *,
    now: datetime,
    recurred: dict[str, list[str]] | None = None,
    fix_verdict: str | None = None,
) -> RunbookEntry:
    """A runbook entry from the analysed incidents of a category or pattern (newest first) and their items.
    `recurred`: for a completed item, the incidents seen after it was completed (the fix did not hold)."""
    errors = Counter(
        f"{i.error_type or 'error'}: {mask_volatile(i.error_message or '')}".strip(": ")
        for i in incidents
        if i.error_type or i.error_message
    )
    places = Counter(f"{i.agent or '-'} / {i.tool or '-'}" for i in incidents if i.agent or i.tool)
    symptoms = [f"{text} (seen {n}x)" if n > 1 else text for text, n in errors.most_common(5)]
    symptoms += [f"in agent / tool {p}" for p, _ in places.most_common(3)]
    symptoms += [i.title for i in incidents[:3]]
    causes = list(dict.fromkeys(i.analysis.root_cause for i in incidents if i.analysis))[:5]
    applied = [
        f"{e.description} ({i.id})" for i in incidents for e in i.timeline if e.kind == "mitigated" and e.description
    ]
    done = [a for a in items if a.status == "completed"]
    after = recurred or {}
    held = [f"{a.title} ({a.id}, {a.incident_id})" for a in done if not after.get(a.id)]
    failed = [
        f"{a.title} ({a.id}, {a.incident_id}): did not hold, seen again since it was completed in "
        f"{', '.join(after[a.id][:5])}"
        for a in done
        if after.get(a.id)
    ]
    planned = [f"{a.title} ({a.id}, {a.priority}, {a.status})" for a in items if a.status != "completed"]
    return RunbookEntry(
        key=key,
        title=title,
        symptoms=list(dict.fromkeys(symptoms))[:10],
        checks=list(CATEGORY_CHECKS[category]),
        error_patterns=[e for e, _ in errors.most_common(2)],
        known_root_causes=causes,
        mitigations_proven=held[:10],
        mitigations_failed=failed[:10],
        mitigations_applied=applied[:10],
        mitigations_planned=planned[:10],
        fix_verdict=fix_verdict,
        incidents=[_link(i) for i in incidents[:RUNBOOK_INCIDENTS] if i.analysis is not None],
        generated_at=now,
    )


def _link(incident: Incident) -> IncidentLink:
    assert incident.analysis is not None
    return IncidentLink(
        id=incident.id,
        title=incident.title,
        severity=incident.severity,
        created_at=incident.created_at,
        report=f"report://{incident.id}",
        analysis=incident.analysis.state,
    )


def regression_case(incident: Incident) -> RegressionCase:
    """The regression eval case for an analysed incident."""
    a = incident.analysis
    expected = "The agent " + EXPECTED[incident.category].format(tool=incident.tool or "the tool") + "."
    checks = [Check(kind="rubric", value=expected, description="judge the run against this")]
    if incident.error_type:
        checks.append(Check(kind="not_raises", value=incident.error_type, description="the run ends without it"))
    checks += CATEGORY_CASE_CHECKS.get(incident.category, _no_checks)(incident)
    determinism = a.determinism if a is not None and a.determinism != "unknown" else incident.determinism
    trials, rule = _trials(determinism, a.runs_to_verify if a is not None else None)
    return RegressionCase(
        id=f"regress-{incident.id}",
        incident_id=incident.id,
        title=f"Regression: {incident.title}"[:200],
        category=incident.category,
        agent=incident.agent,
        tool=incident.tool,
        model=incident.model,
        input=incident.prompt_excerpt,
        tool_args=incident.tool_args,
        context=_context(incident),
        expected_behavior=expected,
        checks=checks,
        determinism=determinism,
        trials=trials,
        pass_rule=rule,
        root_cause=a.root_cause if a is not None else None,
        source=f"report://{incident.id}",
        todo=_todo(incident, checks),
    )


def _no_checks(incident: Incident) -> list[Check]:
    return []


def _refusal(incident: Incident) -> list[Check]:
    return [Check(kind="not_refusal", description="the answer is not a refusal")]


def _timeout(incident: Incident) -> list[Check]:
    budget = _SECONDS.search(incident.error_message or "")
    within = "the run finishes within the budget it exceeded" if budget else "set the time budget"
    return [Check(kind="within_seconds", value=budget.group(1) if budget else None, description=within)]


def _injection(incident: Incident) -> list[Check]:
    not_made = "the injected instruction's tool call is not made"
    return [Check(kind="no_tool_call", value=incident.tool, description=not_made)] if incident.tool else []


def _hallucination(incident: Incident) -> list[Check]:
    behaviour = incident.analysis.model_behavior if incident.analysis is not None else None
    return [Check(kind="rubric", value=f"Not again: {behaviour}", description="what went wrong")] if behaviour else []


# The checks a failure's category adds to its case, beside the rubric and the error it must not raise again.
CATEGORY_CASE_CHECKS: dict[Category, Callable[[Incident], list[Check]]] = {
    Category.LLM_REFUSAL: _refusal,
    Category.TIMEOUT: _timeout,
    Category.PROMPT_INJECTION: _injection,
    Category.LLM_HALLUCINATION: _hallucination,
}


def _trials(determinism: str, runs_to_verify: int | None) -> tuple[int, str]:
    """How many runs the case must pass, and the rule in words: one for a deterministic failure; otherwise enough
    clean runs to show the failure rate below PROBABILISTIC_TARGET (or what the analysis asked for)."""
    if determinism == "deterministic":
        return 1, "the one reproduction passes"
    needed = verify.trials_for_target(0, 0, PROBABILISTIC_TARGET, CONFIDENCE) or 1
    trials = runs_to_verify or needed
    return trials, (
        f"all {trials} runs pass (0 failures in {needed} runs shows a failure rate below "
        f"{PROBABILISTIC_TARGET:.0%} with {CONFIDENCE:.0%} confidence; use verify_fix for other counts)"
    )


def _todo(incident: Incident, checks: list[Check]) -> list[str]:
    todo = []
    if incident.prompt_excerpt is None:
        todo.append("input: the prompt or request that triggered the failure was not captured; add it")
    if any(c.kind == "within_seconds" and c.value is None for c in checks):
        todo.append("within_seconds: set the time budget")
    return todo


def _context(incident: Incident) -> dict[str, str]:
    given = {
        "description": incident.description[:2000],
        "environment": incident.environment or "",
        "error_type": incident.error_type or "",
        "error_message": incident.error_message or "",
        "impact": incident.impact or "",
    }
    return {k: v for k, v in given.items() if v}
