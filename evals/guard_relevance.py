"""`postmortem bench guard`'s relevance figures: the draft guard's check that an analysis is about its incident
(analysis/draft_relevance.py), on analyses recorded against their own incident (refusing one is a false refusal) and
moved to every other incident of the set (accepting one is a false acceptance).

The set stands for a store: an incident's neighbours, which the service takes from its draft context (the similar
incidents), are here the NEIGHBOURS others of the set whose text is nearest its own by the embedder. A moved analysis
is checked three ways: with no neighbours (an empty store: the cosine and specific-word test alone), with the
incident it was written for in the store, and with it not stored (only the other incidents are)."""

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent_postmortem.analysis.draft_relevance import Similarity, incident_text, unrelated
from agent_postmortem.evals.cases import LoadedCase
from agent_postmortem.evals.drafts import incident_of, reference_draft
from agent_postmortem.store.models import AnalysisDraft, Incident, ProposedAction, TimelineEvent

NEIGHBOURS = 5  # as many as a draft's context holds (Retrieval.similar_to)

Pair = tuple[str, AnalysisDraft, Incident]


def case_pairs(cases: Sequence[LoadedCase]) -> list[Pair]:
    """Each case's reference analysis and its incident, numbered as a store would number them."""
    return [
        (c.name, reference_draft(c.case), incident_of(c.case).model_copy(update={"id": f"INC-{n}"}))
        for n, c in enumerate(cases, 1)
    ]


def seed_pairs(path: Path) -> list[Pair]:
    """The seed knowledge base's analysed incidents, each with its analysis in the draft schema."""
    from agent_postmortem.ingest.jsonl import read_incidents

    fields = set(Incident.model_fields) - {"id", "timeline", "created_at", "triage", "action_items", "analysis"}
    pairs = []
    for n, row in enumerate(read_incidents(path), 1):
        if row.analysis is None:
            continue
        known = {k: v for k, v in row.model_dump(include=fields).items() if v is not None}
        now = datetime.now(UTC)
        timeline = [TimelineEvent(at=e.at or now, kind=e.kind, description=e.description) for e in row.timeline]
        incident = Incident(id=f"INC-{n}", triage="full", created_at=now, timeline=timeline, **known)
        items = [
            ProposedAction(
                title=a.title[:160].ljust(10),
                owner_role="owning team",
                priority="P1",
                due_in_days=14,
                addresses="root cause",
            )
            for a in row.action_items[:4]
        ]
        draft = AnalysisDraft.model_validate({**row.analysis.model_dump(), "action_items": items})
        pairs.append((incident.title, draft, incident))
    return pairs


def nearest(incidents: Sequence[Incident], similarity: Similarity) -> list[list[int]]:
    """For each incident, the others of the set, nearest first (the cosine between their texts)."""
    texts = [incident_text(i) for i in incidents]
    ranked = []
    for b, text in enumerate(texts):
        cosine = {x: similarity(text, other) for x, other in enumerate(texts) if x != b}
        ranked.append(sorted(cosine, key=lambda x: -cosine[x]))
    return ranked


def neighbours_of(incidents: Sequence[Incident], ranked: list[list[int]], b: int, unstored: int = -1) -> list[Incident]:
    return [incidents[x] for x in ranked[b] if x != unstored][:NEIGHBOURS]


def relevance(pairs: Sequence[Pair], similarity: Similarity) -> dict[str, Any]:
    """The relevance check on each analysis against its own incident and moved to every other one of `pairs`."""
    drafts, incidents = [d for _, d, _ in pairs], [i for _, _, i in pairs]
    ranked = nearest(incidents, similarity)

    def accepted(a: int, b: int, neighbours: list[Incident]) -> bool:
        return not unrelated(drafts[a], incidents[b], similarity, neighbours)

    own = [pairs[k][0] for k in range(len(pairs)) if not accepted(k, k, neighbours_of(incidents, ranked, k))]
    moved = [(a, b) for a in range(len(pairs)) for b in range(len(pairs)) if a != b]
    alone = sum(accepted(a, b, []) for a, b in moved)
    stored = sum(accepted(a, b, neighbours_of(incidents, ranked, b)) for a, b in moved)
    unstored = sum(accepted(a, b, neighbours_of(incidents, ranked, b, unstored=a)) for a, b in moved)

    def rate(k: int) -> float | None:
        return round(k / len(moved), 3) if moved else None

    return {
        "own_refused": len(own),
        "own": len(pairs),
        "own_refused_cases": own,
        "moved": len(moved),
        "moved_accepted_no_neighbours": alone,
        "moved_accepted_no_neighbours_rate": rate(alone),
        "moved_accepted_source_stored": stored,
        "moved_accepted_source_stored_rate": rate(stored),
        "moved_accepted_source_not_stored": unstored,
        "moved_accepted_source_not_stored_rate": rate(unstored),
    }
