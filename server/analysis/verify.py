"""Did the fix work? Statistics for failures that happen only sometimes.

A probabilistic failure (a model that hallucinates 1 run in 20) cannot be declared fixed from one clean
run. `verify_fix` compares failure counts before and after a fix: both rates with Wilson 95% intervals,
a one-sided Fisher exact test that the rate went down, a plain-language verdict, and how many more clean
trials would show the rate is below a target with the chosen confidence.

The verdicts: `fixed`, the rate after the fix is shown below the target; `improved`, it went down (Fisher, at the
confidence asked for) but is not yet shown below the target; `not_shown`, neither, including a rate the fix has not
lowered (the same, or higher by what could be chance: "Not fixed: the fix has not lowered the failure rate");
`worse`, it went up (the one-sided Fisher test the other way, at the same confidence); `need_data`, no trials after
the fix (or no reproduction run, for a deterministic failure). A failure called deterministic whose runs before the fix
did not all fail is not one, and is judged as one that fails sometimes, saying so.
"""

import math
from typing import Literal

from pydantic import BaseModel, Field

from agent_postmortem.analysis.fisher import fisher_less
from agent_postmortem.analysis.wording import counted, percent, short_of, significant

Verdict = Literal["fixed", "improved", "not_shown", "worse", "need_data"]
MAX_COUNT = 10**15  # more runs than anyone makes; past about 10^308 a count is not even a float


class Rate(BaseModel):
    failures: int
    trials: int
    rate: float
    low: float = Field(description="Wilson interval, lower bound")
    high: float = Field(description="Wilson interval, upper bound")


class Side(BaseModel):
    """One side of a fix (before or after it): with no trials there is no rate, so none is given (0 of 0 read as a
    rate of 0 with an interval of 0-1)."""

    failures: int
    trials: int
    rate: float | None = Field(description="None: no trials")
    low: float | None = Field(description="Wilson interval, lower bound (None: no trials)")
    high: float | None = Field(description="Wilson interval, upper bound (None: no trials)")


class FixVerification(BaseModel):
    before: Side
    after: Side
    p_value: float | None = Field(
        description="one-sided Fisher exact test that the failure rate went down (None: a side has no trials)"
    )
    target: float = Field(description="the failure rate the fix must stay below")
    confidence: float
    verdict: Verdict  # what each means: the module's docstring
    explanation: str
    more_trials_needed: int | None = Field(
        description="further failure-free trials after which the rate is shown below target (None: target met, or "
        "the fix did not lower the failure rate, so clean trials are not to be expected)"
    )


def z_for(confidence: float) -> float:
    """Two-sided normal quantile, e.g. 1.96 for 0.95 (bisection on erf: no SciPy needed)."""
    low, high = 0.0, 10.0
    for _ in range(80):
        mid = (low + high) / 2
        if math.erf(mid / math.sqrt(2)) < confidence:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def wilson(failures: int, trials: int, confidence: float = 0.95) -> Rate:
    """The rate with its Wilson interval, to 6 significant digits for display (decisions use `upper_bound`): to 6
    places, 1 failure in 10^8 runs was a rate of 0 with an interval of 0-0."""
    if trials <= 0:
        return Rate(failures=failures, trials=trials, rate=0.0, low=0.0, high=1.0)
    centre, margin = _wilson(failures, trials, confidence)
    return Rate(
        failures=failures,
        trials=trials,
        rate=_digits(failures / trials),
        # the bounds at 0 and at every trial are exactly 0 and 1: the difference of two floats showed `0/5` as
        # "95% CI 2.78e-17-0.434"
        low=0.0 if failures == 0 else _digits(max(0.0, centre - margin)),
        high=1.0 if failures == trials else _digits(min(1.0, centre + margin)),
    )


def _digits(x: float) -> float:
    return float(f"{x:.6g}")


def upper_bound(failures: int, trials: int, confidence: float) -> float:
    """The Wilson upper bound, unrounded: rounded to 6 places, a bound of 9e-7 read as 1e-6 and one of 4e-10 as 0,
    so a target of 1e-6 needed twice the trials it does and one of 1e-9 was met 500 times too early."""
    if trials <= 0:
        return 1.0
    centre, margin = _wilson(failures, trials, confidence)
    return min(1.0, centre + margin)


def _wilson(failures: int, trials: int, confidence: float) -> tuple[float, float]:
    z = z_for(confidence)
    p = failures / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return centre, margin


def trials_for_target(failures: int, trials: int, target: float, confidence: float) -> int | None:
    """How many more failure-free trials make the Wilson upper bound fall below `target` (None: already)."""
    if upper_bound(failures, trials, confidence) < target:
        return None
    extra = 1
    while upper_bound(failures, trials + extra, confidence) >= target:  # it falls towards 0: this ends
        extra *= 2
    low, high = extra // 2, extra
    while low + 1 < high:
        mid = (low + high) // 2
        low, high = (mid, high) if upper_bound(failures, trials + mid, confidence) >= target else (low, mid)
    return high


def verify_fix(
    before_failures: int,
    before_trials: int,
    after_failures: int,
    after_trials: int,
    target: float = 0.01,
    confidence: float = 0.95,
    *,
    deterministic: bool = False,
) -> FixVerification:
    """`deterministic=True`: the same input always failed, so the one reproduction passing after the fix decides."""
    for side, failures, trials in (("before", before_failures, before_trials), ("after", after_failures, after_trials)):
        if not 0 <= failures <= trials:  # which count was wrong: "12 10 0 5" was refused without saying
            raise ValueError(
                f"{failures} failures in {trials} trials {side} the fix: failures must be between 0 and the number of "
                "trials (the counts go in the order before failures, before trials, after failures, after trials)"
            )
    if max(before_trials, after_trials) > MAX_COUNT:
        raise ValueError(f"trials must be at most {MAX_COUNT:,}")
    if not (0 < target < 1 and 0.5 <= confidence < 1):
        raise ValueError("target must be between 0 and 1, confidence between 0.5 and 1")
    before, after = _side(before_failures, before_trials, confidence), _side(after_failures, after_trials, confidence)
    p_value = fisher_less(before_failures, before_trials, after_failures, after_trials)
    if deterministic and before_failures == before_trials:  # every run before failed (or none is recorded)
        verdict, text, more = _deterministic(after)
    else:
        more = trials_for_target(after_failures, after_trials, target, confidence)
        verdict, text = _verdict(before, after, p_value, more, target, confidence)
        more = (
            None if _not_lowered(before, after) else more
        )  # clean trials cannot come from a fix that did not lower it
        if deterministic:  # runs that passed before the fix: one passing run after it shows nothing
            passed = before_trials - before_failures
            text = (
                f"Not a deterministic failure: {passed} of {counted(before_trials, 'run')} before the fix passed, "
                f"so it is judged as one that fails sometimes. {text}"
            )
    return FixVerification(
        before=before,
        after=after,
        p_value=_digits(p_value) if before_trials and after_trials else None,
        target=target,
        confidence=confidence,
        verdict=verdict,
        explanation=text,
        more_trials_needed=more,
    )


def _side(failures: int, trials: int, confidence: float) -> Side:
    if trials == 0:
        return Side(failures=0, trials=0, rate=None, low=None, high=None)
    return Side(**wilson(failures, trials, confidence).model_dump())


def _deterministic(after: Side) -> tuple[Verdict, str, int | None]:
    if after.trials == 0:
        return "need_data", "Deterministic failure: run the reproduction once against the fix.", 1
    if after.failures == 0:
        return "fixed", "Fixed: the reproduction of a deterministic failure passes; keep it as a regression test.", None
    # failing every time before and after: a rate not lowered, not a higher one
    return "not_shown", f"Not fixed: the reproduction still fails ({after.failures}/{after.trials}).", None


def _not_lowered(before: Side, after: Side) -> bool:
    """Whether the fix left a rate with failures after it at least as high as before: an agent failing as often as
    before cannot give the clean trials that would show the rate below target."""
    return bool(after.failures and before.trials and after.failures * before.trials >= before.failures * after.trials)


def _not_lowered_verdict(before: Side, after: Side, confidence: float) -> tuple[Verdict, str]:
    """`worse` only when the rise is more than chance, decided by the one-sided Fisher test the other way round
    (that the rate went up) at the confidence asked for; else the fix has not lowered it."""
    counts = f"{after.failures}/{after.trials} after against {before.failures}/{before.trials} before"
    if after.failures * before.trials == before.failures * after.trials:
        rates = f"both {_rate(after)}"
    else:
        rise = fisher_less(after.failures, after.trials, before.failures, before.trials)
        if rise < 1 - confidence:
            return "worse", (
                f"Worse: the failure rate went up from {_rate(before)} to {_rate(after)} (Fisher p={rise:.3g} for a "
                "rise); look for what the fix changed."
            )
        rates = f"from {_rate(before)} to {_rate(after)}, a rise that could be chance (Fisher p={rise:.3g} for a rise)"
    return (
        "not_shown",
        f"Not fixed: the fix has not lowered the failure rate ({counts}, {rates}); look for the cause again.",
    )


def _verdict(
    before: Side, after: Side, p_value: float, more: int | None, target: float, confidence: float
) -> tuple[Verdict, str]:
    pct, goal, clean = f"{confidence:.0%}", percent(target), counted(more or 0, "more clean trial")
    if after.trials == 0:
        return "need_data", (
            "No trials after the fix, so no failure rate after it: run the agent on the failing case and count its "
            f"failures; at least {counted(more or 0, 'clean trial')} would show the rate is below {goal}."
        )
    if more is None:
        bound = short_of(upper_bound(after.failures, after.trials, confidence), target, as_percent=True)
        # under the target, though above the rate before: said, since "Fixed" alone read as an improvement
        rose = (
            f" It is higher than before the fix ({before.failures}/{before.trials}, {_rate(before)}): the target is "
            "met, not improved on."
            if before.trials and after.failures * before.trials > before.failures * after.trials
            else ""
        )
        return "fixed", (
            f"Fixed: {after.failures}/{after.trials} failures after the fix; with {pct} confidence the "
            f"failure rate is below {bound}, under the target of {goal}.{rose}"
        )
    if before.trials == 0:  # no rate to compare with: 0 of 0 is not a rate of 0%
        return "not_shown", (
            f"Not shown: {after.failures}/{after.trials} after the fix, and no trials before the fix to compare "
            f"with; run {clean} to show the rate is below {goal}."
        )
    if _not_lowered(before, after):
        return _not_lowered_verdict(before, after, confidence)
    if p_value < 1 - confidence:
        return "improved", (
            f"Improved (Fisher p={p_value:.3g}) from {_rate(before)} to {_rate(after)}, but the "
            f"rate is not yet shown below {goal}: {clean} needed."
        )
    if after.failures * before.trials == before.failures * after.trials:  # no difference to put down to chance
        return "not_shown", (
            f"Not shown: the failure rate did not go down ({after.failures}/{after.trials} after against "
            f"{before.failures}/{before.trials} before, both {_rate(after)}); run {clean}."
        )
    return "not_shown", (
        f"Not shown: {after.failures}/{after.trials} after against {before.failures}/{before.trials} "
        f"before could be chance (Fisher p={p_value:.3g}); run {clean}."
    )


def _rate(side: Side) -> str:
    """A side's failure rate with the digits that tell it apart: 1 failure in 10^7 runs against 3 was "went from
    0.00% to 0.00%", and 1.2 against 1.4 in 10,000 "from 0.01% to 0.01%"."""
    x = side.failures / side.trials
    return f"{x:.2%}" if x == 0 or x >= 0.01 else f"{significant(x * 100, 3)}%"
