"""Failure attribution on labelled multi-agent runs (Who&When, Zhang et al. 2025, MIT): does the attributor name
the agent at fault and the decisive step? With Wilson 95% intervals, next to two baselines computed on the same
runs: the agent that speaks most (published 0.467 on Who&When) and a uniformly random step (its expected
accuracy, mean of 1/steps: published 0.095).

`by_half` splits the runs by the parity of sha256(id): the heuristic was designed by reading the `design` half
only, so `held_out` is the figure that was not looked at while designing it.
"""

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_postmortem.analysis.steps import Attributor, StepRun, attribute
from agent_postmortem.analysis.verify import wilson
from agent_postmortem.ingest.steps import read_runs
from agent_postmortem.llm.base import LLM


def rate(hits: int, n: int) -> dict[str, Any]:
    w = wilson(n - hits, n)  # wilson() counts failures: the interval of the hit rate is its mirror
    return {"hits": hits, "n": n, "rate": round(hits / n, 4) if n else 0.0, "low": round(1 - w.high, 4),
            "high": round(1 - w.low, 4)}  # fmt: skip


def most_talkative(run: StepRun) -> str:
    counts = Counter(s.who for s in run.steps)
    return max(run.agents, key=lambda a: counts[a])  # ties: the agent that spoke first


def half(run: StepRun) -> str:
    return "design" if int(hashlib.sha256(run.id.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "held_out"


def _score(rows: list[tuple[StepRun, str, int]]) -> dict[str, Any]:
    labelled = [(r, agent, step) for r, agent, step in rows if r.labels is not None]
    agent_hits = sum(agent.lower() == r.labels.mistake_agent.lower() for r, agent, _ in labelled if r.labels)
    step_hits = sum(step == r.labels.mistake_step for r, _, step in labelled if r.labels)
    near = sum(abs(step - r.labels.mistake_step) <= 1 for r, _, step in labelled if r.labels)
    n = len(labelled)
    return {"agent": rate(agent_hits, n), "step": rate(step_hits, n), "step_within_1": rate(near, n)}


def run(
    dataset: Path,
    *,
    method: Attributor = "heuristic",
    llm: LLM | None = None,
    limit: int | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> dict[str, Any]:
    runs = [r for r in read_runs(dataset) if r.labels is not None and r.is_failure]
    if limit is not None and limit < len(runs):  # evenly spaced, so that every part of the file is represented
        runs = [runs[i * len(runs) // limit] for i in range(limit)]
    if not runs:
        raise ValueError(f"{dataset.name} holds no failed runs with labels (mistake_agent, mistake_step)")
    rows: list[tuple[StepRun, str, int]] = []
    answered: list[tuple[StepRun, str, int]] = []  # the LLM's own answers (not fallbacks)
    fallbacks = 0
    started = time.perf_counter()
    for i, r in enumerate(runs):
        found = attribute(r, method, llm=llm, nonce=f"{i:08x}")
        fallbacks += found.fallback is not None
        rows.append((r, found.responsible, found.decisive_step))
        if method == "llm" and found.fallback is None:
            answered.append(rows[-1])
        progress(i + 1, len(runs))
    seconds = time.perf_counter() - started
    talkative = _score([(r, most_talkative(r), -1) for r in runs])["agent"]
    random_step = sum(1 / len(r.steps) for r in runs) / len(runs)
    random_near = sum(min(3, len(r.steps)) / len(r.steps) for r in runs) / len(runs)  # upper bound at the ends
    subsets = sorted({r.subset or "all" for r in runs})
    return {
        "dataset": dataset.name,
        "runs": len(runs),
        "method": method,
        "llm_model": llm.model if method == "llm" and llm is not None else None,
        "llm_fallbacks": fallbacks if method == "llm" else None,
        "llm_answers_only": _score(answered) if answered else None,
        "seconds_per_run": round(seconds / len(runs), 3),
        **_score(rows),
        "baselines": {
            "most_talkative_agent": talkative,
            "random_step_expected": round(random_step, 4),
            "random_step_within_1_expected_at_most": round(random_near, 4),
        },
        "by_subset": {s: _score([x for x in rows if (x[0].subset or "all") == s]) for s in subsets},
        "by_half": {h: _score([x for x in rows if half(x[0]) == h]) for h in ("design", "held_out")},
    }
