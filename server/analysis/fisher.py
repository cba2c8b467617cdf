"""The one-sided Fisher exact test that a failure rate went down after a fix (`verify`), computed in floating point
so that it holds at production-scale counts (10^17 trials) and returns in milliseconds."""

import math

EXACT_LGAMMA = 100_000  # below this lgamma's differences keep their digits; above, Stirling's form with log1p does


def fisher_less(before_failures: int, before_trials: int, after_failures: int, after_trials: int) -> float:
    """P(after has this few failures or fewer | the margins), i.e. the one-sided Fisher exact p-value.

    Summed in floating point from the observed table outwards, on the side of the mode that is the smaller tail,
    until the terms no longer count: a few thousand terms at most even for counts in the millions (exact integer
    binomials took seconds at 10,000 trials and hours at a million)."""
    failures, total = before_failures + after_failures, before_trials + after_trials
    low, high = max(0, failures - before_trials), min(after_trials, failures)
    if after_failures >= high:
        return 1.0
    mode = (failures + 1) * (after_trials + 1) // (total + 2)
    if after_failures < mode:
        return min(1.0, _tail(after_failures, low, -1, before_trials, after_trials, failures))
    return max(0.0, 1.0 - _tail(after_failures + 1, high, 1, before_trials, after_trials, failures))


def _tail(start: int, end: int, step: int, before_trials: int, after_trials: int, failures: int) -> float:
    """The hypergeometric probabilities from `start` to `end` (moving away from the mode, so they only shrink)."""
    term = math.exp(_log_pmf(start, before_trials, after_trials, failures))
    total, k = term, start
    while k != end and term > total * 1e-17:
        if step < 0:  # P(k-1) / P(k)
            term *= k * (before_trials - failures + k) / ((after_trials - k + 1) * (failures - k + 1))
        else:  # P(k+1) / P(k)
            term *= (after_trials - k) * (failures - k) / ((k + 1) * (before_trials - failures + k + 1))
        total += term
        k += step
    return total


def _log_pmf(k: int, before_trials: int, after_trials: int, failures: int) -> float:
    return (
        _log_comb(after_trials, k)
        + _log_comb(before_trials, failures - k)
        - _log_comb(before_trials + after_trials, failures)
    )


def _log_comb(n: int, k: int) -> float:
    """log C(n, k) with its digits at any n: lgamma(n) is about n log n, so from n near 10^13 the difference of three
    of them lost the digits a p-value needs (and past 10^16 all of them). With k the smaller side, log n!/(n-k)! is
    written in Stirling's form around log1p(-k/n), whose terms are no larger than the result."""
    k = min(k, n - k)
    if k <= 0:
        return 0.0
    if n < EXACT_LGAMMA:
        return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    m = n - k
    falling = k * math.log(n) - (m + 0.5) * math.log1p(-k / n) - k + _stirling(n) - _stirling(m)
    return falling - math.lgamma(k + 1)


def _stirling(x: int) -> float:
    """The series' correction terms of log x! (for x >= EXACT_LGAMMA / 2 the next one is below 1e-25)."""
    return 1 / (12 * x) - 1 / (360 * x**3)
