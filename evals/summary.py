"""What an eval run reports: pass rates per scorer with Wilson 95% intervals, per case and overall, the assistant
path's answer times, and the scorers that regressed between two runs."""

from collections import defaultdict
from datetime import datetime

import numpy as np
from pydantic import BaseModel

from agent_postmortem.analysis.verify import wilson
from agent_postmortem.evals.scorers import Score


class Interval(BaseModel):
    passed: int
    scored: int
    rate: float | None
    low: float
    high: float


class ScorerSummary(Interval):
    mean_value: float | None = None


class CaseResult(BaseModel):
    name: str
    kind: str
    samples: list[list[Score]]
    summary: dict[str, ScorerSummary]


class Regression(BaseModel):
    """A scorer whose overall pass rate dropped against the baseline, its interval wholly below the old one."""

    scorer: str
    before: Interval
    after: Interval

    def __str__(self) -> str:
        b, a = self.before, self.after
        return f"{self.scorer}: {b.rate} [{b.low}, {b.high}] -> {a.rate} [{a.low}, {a.high}]"


class EvalRun(BaseModel):
    backend: str
    model: str | None
    samples: int
    cases: list[CaseResult]
    overall: dict[str, ScorerSummary]
    started_at: datetime
    seconds: float
    assistant: dict[str, float] | None = None  # the assistant path: how long draft_analysis took to answer (s)
    # against --baseline: the scorers that regressed ([] for none); null when no baseline was given
    regressions: list[Regression] | None = None


def interval(passed: int, scored: int) -> Interval:
    r = wilson(scored - passed, scored)  # wilson() counts failures
    return Interval(
        passed=passed,
        scored=scored,
        rate=round(passed / scored, 3) if scored else None,
        low=round(1 - r.high, 3),
        high=round(1 - r.low, 3),
    )


def summarize(samples: list[list[Score]]) -> dict[str, ScorerSummary]:
    by_name: dict[str, list[Score]] = defaultdict(list)
    for sample in samples:
        for s in sample:
            by_name[s.name].append(s)
    out = {}
    for name, scores in by_name.items():
        scored = [s for s in scores if s.passed is not None]
        values = [s.value for s in scored if s.value is not None]
        out[name] = ScorerSummary(
            **interval(sum(bool(s.passed) for s in scored), len(scored)).model_dump(),
            mean_value=round(float(np.mean(values)), 3) if values else None,
        )
    return out


def answer_times(seconds: list[float]) -> dict[str, float] | None:
    if not seconds:
        return None
    ordered = sorted(seconds)
    return {
        "p50": round(float(np.median(ordered)), 3),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "max": round(ordered[-1], 3),
    }


def regressions(old: EvalRun, new: EvalRun) -> list[Regression]:
    """Scorers whose overall pass rate dropped with non-overlapping 95% intervals."""
    found = []
    for name, before in old.overall.items():
        after = new.overall.get(name)
        if after is not None and after.scored and before.scored and after.high < before.low:
            found.append(
                Regression(
                    scorer=name,
                    before=Interval.model_validate(before.model_dump(include=set(Interval.model_fields))),
                    after=Interval.model_validate(after.model_dump(include=set(Interval.model_fields))),
                )
            )
    return found
