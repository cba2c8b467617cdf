"""A runbook entry per category or pattern, from its analysed incidents and their action items: the symptoms seen,
what to check, the known root causes, and which mitigations held. Built from stored records alone (no LLM)."""

from collections import Counter
from datetime import datetime

from pydantic import BaseModel, Field

from agent_postmortem.store.models import ActionItem, AnalysisState, Category, Incident
from agent_postmortem.store.signature import mask_volatile

RUNBOOK_INCIDENTS = 20  # the newest analysed incidents a runbook entry is built from
LISTED = 10  # mitigations of each kind a runbook entry lists

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
        default_factory=list,
        description="the errors seen, ids, versions and free-standing numbers masked: does yours match?",
    )
    mitigations_proven: list[str] = Field(description="completed action items after which the failure did not recur")
    mitigations_failed: list[str] = Field(
        default_factory=list, description="completed action items after which the failure recurred: they did not hold"
    )
    mitigations_undated: list[str] = Field(
        default_factory=list,
        description="action items completed on a date not recorded (imported without one): whether the failure came "
        "back after them cannot be told",
    )
    mitigations_applied: list[str] = Field(
        default_factory=list, description="mitigations recorded on the incidents' timelines while they were open"
    )
    mitigations_planned: list[str] = Field(description="action items still open")
    mitigations_left_out: int = Field(
        default=0, description="action items and mitigations past the 10 of each kind listed (newest incidents first)"
    )
    fix_verdict: str | None = Field(
        default=None, description="for a pattern: whether its action items stopped it (as fix_effectiveness says)"
    )
    incidents: list[IncidentLink]
    analysed_total: int = Field(
        default=0,
        description=f"how many of the category or pattern are analysed; `incidents` are the newest {RUNBOOK_INCIDENTS}",
    )
    generated_at: datetime


def _error(i: Incident) -> str:
    """`Type: message`, the type once: a message that starts with its type (as Python's `str(exc)` does for many
    clients' errors) is not prefixed again."""
    message = mask_volatile(i.error_message or "", versions=True)
    kind = i.error_type or "error"
    return message if message.startswith(kind) else f"{kind}: {message}".strip(": ")


def _place(incident: Incident) -> str:
    """Where it failed, in words: "in agent / tool - / feature_flags::server" read as a path, the agent left a dash."""
    agent = f"in agent {incident.agent}" if incident.agent else ""
    tool = f"calling tool {incident.tool}" if incident.tool else ""
    return ", ".join(part for part in (agent, tool) if part)


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
    analysed_total: int = 0,
) -> RunbookEntry:
    """A runbook entry from the analysed incidents of a category or pattern (newest first) and their items.
    `recurred`: for a completed item, the incidents seen after it was completed (the fix did not hold).
    `analysed_total`: how many are analysed in all, when the entry is built from the newest `RUNBOOK_INCIDENTS`."""
    errors = Counter(_error(i) for i in incidents if i.error_type or i.error_message)
    places = Counter(_place(i) for i in incidents if i.agent or i.tool)
    symptoms = [f"{text} (seen {n}x)" if n > 1 else text for text, n in errors.most_common(5)]
    symptoms += [p for p, _ in places.most_common(3)]
    symptoms += [i.title for i in incidents[:3]]
    causes = list(dict.fromkeys(i.analysis.root_cause for i in incidents if i.analysis))[:5]
    # the newest incident's items first, as its mitigations: by item id, the ten listed of a busy category were its
    # oldest, and `learn INC-n` left out the items of the very incident it learnt from
    rank = {i.id: n for n, i in enumerate(incidents)}
    items = sorted(items, key=lambda a: rank.get(a.incident_id, len(rank)))
    applied = [
        f"{e.description} ({i.id})" for i in incidents for e in i.timeline if e.kind == "mitigated" and e.description
    ]
    done = [a for a in items if a.status == "completed"]
    after = recurred or {}
    held = [f"{a.title} ({a.id}, {a.incident_id})" for a in done if a.completed_at and not after.get(a.id)]
    undated = [f"{a.title} ({a.id}, {a.incident_id}): completed, date unknown" for a in done if not a.completed_at]
    failed = [
        f"{a.title} ({a.id}, {a.incident_id}): did not hold, seen again since it was completed in "
        f"{', '.join(after[a.id][:5])}"
        for a in done
        if after.get(a.id)
    ]
    planned = [f"{a.title} ({a.id}, {a.priority}, {a.status})" for a in items if a.status != "completed"]
    kinds = (held, failed, undated, applied, planned)
    links = [_link(i) for i in incidents[:RUNBOOK_INCIDENTS] if i.analysis is not None]
    return RunbookEntry(
        key=key,
        title=title,
        symptoms=list(dict.fromkeys(symptoms))[:10],
        checks=list(CATEGORY_CHECKS[category]),
        error_patterns=[e for e, _ in errors.most_common(2)],
        known_root_causes=causes,
        mitigations_proven=held[:LISTED],
        mitigations_failed=failed[:LISTED],
        mitigations_undated=undated[:LISTED],
        mitigations_applied=applied[:LISTED],
        mitigations_planned=planned[:LISTED],
        mitigations_left_out=sum(max(0, len(kind) - LISTED) for kind in kinds),
        fix_verdict=fix_verdict,
        incidents=links,
        analysed_total=max(analysed_total, len(links)),
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
