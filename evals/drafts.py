"""The drafts the scorers are calibrated against, written without a model: the case's reference analysis in the draft
schema (the ceiling), a generic draft that names nothing of the case (the floor), and the case's incident as the
record a drafter is given."""

import re
from datetime import UTC, datetime

from agent_postmortem.evals.cases import Case
from agent_postmortem.store.models import (
    Analysis,
    AnalysisAction,
    AnalysisDraft,
    DraftFactor,
    DraftWhy,
    Incident,
    ProposedAction,
    SeedIncident,
    TimelineEvent,
    TimelineEventCreate,
)

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def reference_steps(case: Case) -> list[str]:
    """The reference's causal steps as whys: its factors, then its root cause. A reference with fewer than two
    factors gives the sentences of its root cause, after what the incident says happened (the sentences of its
    description, timeline and impact) while those are fewer than three: never one text repeated (not a chain)."""
    ref = case.reference
    steps = [*ref.contributing_factors[:5], ref.root_cause]
    if len(steps) >= 3:
        return steps
    sentences = [s.strip() for s in _SENTENCE.split(ref.root_cause) if len(s.strip()) >= 3]
    steps = list(dict.fromkeys([*ref.contributing_factors, *sentences]))[-6:]
    told = [case.incident.description, *(e.description for e in case.incident.timeline), case.incident.impact or ""]
    happened = [s.strip() for text in told for s in _SENTENCE.split(text) if len(s.strip()) >= 3]
    return [*happened[: max(0, 3 - len(steps))], *steps]


def reference_draft(case: Case) -> AnalysisDraft:
    """The human analysis in the draft schema: the ceiling the scorers should rate highly (its whys are the
    reference's factors or its root cause's sentences, so whys_depth says little about it)."""
    ref = case.reference
    whys = [
        DraftWhy(question=f"Why, at level {n}?", answer=text[:240]) for n, text in enumerate(reference_steps(case), 1)
    ]
    items = ref.action_items or [f"Add a check that stops this before it reaches users: {ref.root_cause}"]
    return AnalysisDraft(
        whys=whys[:6],
        root_cause=ref.root_cause[:400],
        contributing_factors=[DraftFactor(factor=f[:160], effect="the failure") for f in ref.contributing_factors[:4]],
        action_items=[
            ProposedAction(
                title=title[:160].ljust(10),
                owner_role="owning team",
                priority="P1",
                due_in_days=14,
                addresses="root cause",
            )
            for title in items[:4]
        ],
        model_behavior=None,
        determinism=ref.determinism,
        runs_to_verify=None,
        responsible=ref.responsible_agent,
        decisive_step=ref.decisive_step,
    )


GENERIC = AnalysisDraft(
    whys=[
        DraftWhy(question="Why did the incident happen?", answer="A configuration error caused the service to fail."),
        DraftWhy(question="Why was there a configuration error?", answer="A change was deployed."),
        DraftWhy(question="Why did the change cause a failure?", answer="The system allowed an untested change."),
    ],
    root_cause="A configuration error caused the service to fail.",
    contributing_factors=[],
    action_items=[
        ProposedAction(
            title="Improve testing and monitoring",
            owner_role="engineering",
            priority="P1",
            due_in_days=30,
            addresses="root cause",
        )
    ],
    model_behavior=None,
    determinism="unknown",
    runs_to_verify=None,
    responsible=None,
    decisive_step=None,
)


def seed_of(case: Case) -> SeedIncident:
    """The case's incident to import as an open record to draft (its timeline checked as a capture's)."""
    i = case.incident
    fields = i.model_dump(exclude={"timeline", "occurred_at"})
    timeline = [TimelineEventCreate.model_validate(e.model_dump()) for e in i.timeline]
    return SeedIncident.model_validate({**fields, "status": "open", "timeline": [t.model_dump() for t in timeline]})


def as_written(draft: AnalysisDraft) -> Analysis:
    return Analysis(
        **draft.model_dump(exclude={"action_items"}),
        action_items=[AnalysisAction(**a.model_dump()) for a in draft.action_items],
        generated_by="generic",
        created_at=datetime.now().astimezone(),
    )


def incident_of(case: Case) -> Incident:
    """The case's incident as a stored one, the way the draft guard sees it: its capture fields and its timeline."""
    data = case.incident.model_dump(exclude={"timeline", "occurred_at"})
    data["severity"] = data["severity"] or "SEV3"
    timeline = [
        TimelineEvent(at=datetime.fromisoformat(e.at.replace("Z", "+00:00")), kind=e.kind, description=e.description)
        for e in case.incident.timeline
    ]
    return Incident(id="INC-1", triage="full", created_at=datetime.now(UTC), timeline=timeline, **data)
