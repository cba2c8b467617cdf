"""What drafting costs on the server, apart from the LLM: the grounded context (the incident, similar incidents
and their action items), the prompts, validation, grounding checks, duplicate-item linking and storing the draft.

Measured by `postmortem bench perf` at each knowledge-base size with an LLM stand-in that answers instantly, so the
figure is the server's own overhead per draft.
"""

import time
from typing import TypeVar

import numpy as np
from pydantic import BaseModel

from agent_postmortem.evals.runner import GENERIC
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.ids import to_incident_id

T = TypeVar("T", bound=BaseModel)
DRAFTS = 30

ANSWER = GENERIC  # any valid draft: the figure is the server's work around it


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
    service.record_analysis(incident_id, ANSWER, generated_by="instant", llm_model="none")
