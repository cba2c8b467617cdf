"""What drafting costs on the server, apart from the LLM: the grounded context (the incident, similar incidents
and their action items), the prompts, validation, grounding checks, duplicate-item linking and storing the draft.

Measured by `postmortem bench perf` at each knowledge-base size with an LLM stand-in that answers instantly, so the
figure is the server's own overhead per draft.
"""

import time
from typing import TypeVar

import numpy as np
from pydantic import BaseModel

from agent_postmortem.evals.drafts import GENERIC
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.ids import to_incident_id
from agent_postmortem.store.models import AnalysisDraft, DraftWhy, Incident

T = TypeVar("T", bound=BaseModel)
DRAFTS = 30


def draft_overhead(service: PostmortemService, rng: np.random.Generator, drafts: int = DRAFTS) -> dict[str, float]:
    """Per-draft server time (ms): p50, p95, and the prompt size in characters. The answer is given at once
    (`record_analysis`: the same context, grounding, duplicate linking and storage as a draft, without a model)."""
    pks = [int(p) for p in rng.choice(np.arange(1, service.store.count() + 1), size=drafts + 3, replace=False)]
    for pk in pks[:3]:  # warm-up
        _draft(service, to_incident_id(pk))
    times, sizes = [], []
    for pk in pks[3:]:
        t = time.perf_counter()
        _draft(service, to_incident_id(pk))
        times.append(time.perf_counter() - t)
        sizes.append(len(service.draft_context(to_incident_id(pk)).user))
    ms = np.asarray(times) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "prompt_chars_p50": int(np.percentile(sizes, 50)),
    }


def _draft(service: PostmortemService, incident_id: str) -> None:
    answer = answer_for(service.get_incident(incident_id))
    service.record_analysis(incident_id, answer, generated_by="instant", llm_model="none")


def answer_for(incident: Incident) -> AnalysisDraft:
    """The generic floor draft rewritten in the incident's own words, so that the draft guard passes it as it would
    a real draft: the figure is the server's work around a draft, not the guard's refusal."""
    title = incident.title[:100]
    said = (incident.description or incident.error_message or title)[:240]
    tool = (incident.tool or incident.agent or "the failing step")[:40]
    item = GENERIC.action_items[0].model_copy(
        update={"title": f"Add a check and a regression test to {tool} for: {title}"[:160]}
    )
    return GENERIC.model_copy(
        update={
            "whys": [
                DraftWhy(question=f"Why did this happen: {title}?"[:160], answer=said),
                DraftWhy(question=f"Why did {tool} fail?", answer=f"{tool} had no check for this case: {title}"[:240]),
                DraftWhy(question="Why was it not caught earlier?", answer=f"No test covered {tool} with such input."),
            ],
            "root_cause": f"The system had no check or regression test that caught this failure of {tool}.",
            "action_items": [item],
        }
    )
