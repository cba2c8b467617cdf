"""Failure attribution on labelled multi-agent runs (Who&When, Zhang et al. 2025, MIT): does the attributor name
the agent at fault and the decisive step? With Wilson 95% intervals, next to baselines computed on the same runs:
the agent that speaks most (published 0.467 on Who&When), a uniformly random step (its expected accuracy, mean of
1/steps: published 0.095), the first substantive action (the rule-based attributor before its newer rules),
and, when the LLM attributes, the rule-based attributor alone.

`by_half` splits the runs by the parity of sha256(id): the rules were designed by reading the `design` half only,
so `held_out` is the figure that was not looked at while designing them. Each half carries its own baselines.
`only="design"` scores the design half alone (the held-out runs are dropped as the file is read, before anything
attributes or scores them), so that a round of design can be measured without looking at the held-out figures;
its result also scores the design half's two `folds` (split by another hash of the id), so that a change can be
kept only when it holds on both.
"""

import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from agent_postmortem.analysis.attribution_rules import first_action
from agent_postmortem.analysis.steps import Attributor, StepRun, attribute, heuristic_attribution
from agent_postmortem.analysis.verify import wilson
from agent_postmortem.ingest.steps import read_runs
from agent_postmortem.llm.base import LLM

Row = tuple[StepRun, str, int]  # a run, the agent named, the step named
Half = Literal["design", "held_out"]


def rate(hits: int, n: int) -> dict[str, Any]:
    w = wilson(n - hits, n)  # wilson() counts failures: the interval of the hit rate is its mirror
    return {"hits": hits, "n": n, "rate": round(hits / n, 4) if n else 0.0, "low": round(1 - w.high, 4),
            "high": round(1 - w.low, 4)}  # fmt: skip


def most_talkative(run: StepRun) -> str:
    counts = Counter(s.who for s in run.steps)
    return max(run.agents, key=lambda a: counts[a])  # ties: the agent that spoke first


def first_action_row(run: StepRun) -> Row:
    step = run.steps[first_action(run.steps, run.task).index]
    return run, step.who, run.number(step)


def heuristic_row(run: StepRun) -> Row:
    found = heuristic_attribution(run)
    return run, found.responsible, found.decisive_step


def half(run: StepRun) -> Half:
    return "design" if int(hashlib.sha256(run.id.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "held_out"


def fold(run: StepRun) -> int:
    """A split independent of `half`: the parity of sha256("fold:" + id). Within the design half it gives two folds,
    so that a rule designed there is checked on two sets of runs rather than on their sum."""
    return int(hashlib.sha256(f"fold:{run.id}".encode()).hexdigest(), 16) % 2


def _score(rows: Sequence[Row]) -> dict[str, Any]:
    labelled = [(r.labels, agent, step) for r, agent, step in rows if r.labels is not None]
    agent_hits = sum(agent.lower() == labels.mistake_agent.lower() for labels, agent, _ in labelled)
    step_hits = sum(step == labels.mistake_step for labels, _, step in labelled)
    near = sum(abs(step - labels.mistake_step) <= 1 for labels, _, step in labelled)
    n = len(labelled)
    return {"agent": rate(agent_hits, n), "step": rate(step_hits, n), "step_within_1": rate(near, n)}


def baselines(runs: Sequence[StepRun], *, with_heuristic: bool) -> dict[str, Any]:
    """What simple rules score on the same runs."""
    found: dict[str, Any] = {
        "most_talkative_agent": _score([(r, most_talkative(r), -1) for r in runs])["agent"],
        "random_step_expected": round(sum(1 / len(r.steps) for r in runs) / len(runs), 4),
        # upper bound: a step at either end has one neighbour, not two
        "random_step_within_1_expected_at_most": round(
            sum(min(3, len(r.steps)) / len(r.steps) for r in runs) / len(runs), 4
        ),  # fmt: skip
        "first_action": _score([first_action_row(r) for r in runs]),
    }
    if with_heuristic:
        found["heuristic"] = _score([heuristic_row(r) for r in runs])
    return found


def _halves(rows: Sequence[Row], *, with_heuristic: bool, only: Half | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in (only,) if only else ("design", "held_out"):
        part = [x for x in rows if half(x[0]) == name]
        found[name] = {
            **_score(part),
            "baselines": baselines([x[0] for x in part], with_heuristic=with_heuristic) if part else None,
        }
    return found


def load(dataset: Path, limit: int | None, only: Half | None = None) -> list[StepRun]:
    runs = [r for r in read_runs(dataset) if r.labels is not None and r.is_failure and only in (None, half(r))]
    if limit is not None and limit < len(runs):  # evenly spaced, so that every part of the file is represented
        runs = [runs[i * len(runs) // limit] for i in range(limit)]
    if not runs:
        where = f" in the {only} half" if only else ""
        raise ValueError(f"{dataset.name} holds no failed runs with labels (mistake_agent, mistake_step){where}")
    return runs


def run(
    dataset: Path,
    *,
    method: Attributor = "heuristic",
    llm: LLM | None = None,
    limit: int | None = None,
    only: Half | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> dict[str, Any]:
    runs = load(dataset, limit, only)
    rows: list[Row] = []
    answered: list[Row] = []  # the LLM's own answers (not fallbacks)
    fallbacks: Counter[str] = Counter()  # why the LLM's answer was not used, numbers masked
    started = time.perf_counter()
    for i, r in enumerate(runs):
        found = attribute(r, method, llm=llm, nonce=f"{i:08x}")
        if found.fallback is not None:
            fallbacks[re.sub(r"\b\d+\b", "N", found.fallback.removeprefix("LLM answer not used: "))[:100]] += 1
        rows.append((r, found.responsible, found.decisive_step))
        if method == "llm" and found.fallback is None:
            answered.append(rows[-1])
        progress(i + 1, len(runs))
    seconds = time.perf_counter() - started
    subsets = sorted({r.subset or "all" for r in runs})
    with_heuristic = method == "llm"
    return {
        "dataset": dataset.name,
        "runs": len(runs),
        "half": only or "both",
        "method": method,
        "llm_model": llm.model if method == "llm" and llm is not None else None,
        "llm_fallbacks": sum(fallbacks.values()) if method == "llm" else None,
        "llm_fallback_reasons": dict(fallbacks.most_common(8)) if method == "llm" else None,
        "llm_answers_only": _score(answered) if answered else None,
        "seconds_per_run": round(seconds / len(runs), 3),
        **_score(rows),
        "baselines": baselines(runs, with_heuristic=with_heuristic),
        "by_subset": {s: _score([x for x in rows if (x[0].subset or "all") == s]) for s in subsets},
        "by_half": _halves(rows, with_heuristic=with_heuristic, only=only),
        "folds": {f"fold_{k}": _score([x for x in rows if fold(x[0]) == k]) for k in (0, 1)}
        if only == "design"
        else None,
    }
