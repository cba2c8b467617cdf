"""`postmortem bench classify --llm-rows N`: the configured model as the category's decider (service/judging.py), on
a seeded sample of N test rows, next to the learned classifier on the same rows.

The model is the one the environment configures (POSTMORTEM_LLM, OPENAI_BASE_URL, POSTMORTEM_MODEL; the bundled
SmolLM2 with POSTMORTEM_LLM=local). Each row is asked once, given up to a minute so that quality and speed are
measured apart: `model` counts an answer that is missing or not a category as wrong; `model_with_fallback` is what
capture decides (the learned classifier when the model gives no usable answer within POSTMORTEM_JUDGE_TIMEOUT);
the answer times say how many rows the model would have lost to that limit.
"""

import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from agent_postmortem.analysis.category_llm import CategoryAnswer, category_prompt
from agent_postmortem.config import Settings
from agent_postmortem.llm.base import LLM
from agent_postmortem.llm.limits import within
from agent_postmortem.llm.registry import build_llm
from agent_postmortem.store.models import IncidentCreate

PATIENCE = 60.0  # seconds a row may take here; capture's own limit is POSTMORTEM_JUDGE_TIMEOUT
NO_ANSWER = "(no answer)"


def sample(n: int, size: int, *, seed: int = 18) -> list[int]:
    return sorted(random.Random(seed).sample(range(size), min(n, size)))


def ask(llm: LLM, capture: IncidentCreate) -> tuple[str, float]:
    """The model's category (or NO_ANSWER) and the seconds it took."""
    system, user = category_prompt(capture, nonce=f"bench{time.monotonic_ns() % 10**8:08d}")
    started = time.monotonic()
    try:
        answer = within(PATIENCE, lambda: llm.parse(system=system, user=user, output=CategoryAnswer))
    except Exception:  # noqa: BLE001 - a failed answer is scored, not raised
        return NO_ANSWER, time.monotonic() - started
    return answer.category, time.monotonic() - started


def run(
    captures: Sequence[IncidentCreate],
    truth: Sequence[str],
    learned: Sequence[str],
    n: int,
    *,
    scores: Callable[[Sequence[str], Sequence[str]], dict[str, Any]],
    progress: Callable[[int, int], None] = lambda d, t: None,
) -> dict[str, Any]:
    settings = Settings.from_env()
    llm = build_llm(settings)
    if llm is None:
        raise ValueError(
            "--llm-rows needs a configured model: OPENAI_BASE_URL and POSTMORTEM_MODEL, or POSTMORTEM_LLM=local"
        )
    rows = sample(n, len(captures))
    said, took = [], []
    for done, i in enumerate(rows, start=1):
        category, seconds = ask(llm, captures[i])
        said.append(category)
        took.append(seconds)
        progress(done, len(rows))
    limit = settings.judge_timeout
    fallback = [s if s != NO_ANSWER and t <= limit else learned[i] for s, t, i in zip(said, took, rows, strict=True)]
    sub = [truth[i] for i in rows]
    return {
        "model": f"{llm.model} ({llm.backend})",
        "rows": len(rows),
        "sample_seed": 18,
        "model_alone": scores(sub, said),
        "model_with_fallback": scores(sub, fallback),
        "learned_with_neighbours_same_rows": scores(sub, [learned[i] for i in rows]),
        "no_answer": said.count(NO_ANSWER),
        "seconds": {"median": round(statistics.median(took), 2), "max": round(max(took), 2)},
        "over_judge_timeout": {"seconds": limit, "rows": sum(t > limit for t in took)},
    }
