"""The one-sided Fisher exact test (server/analysis/fisher.py): textbook values, the exact sum of binomials, and counts
in the quadrillions."""

import math
import random

import pytest

from agent_postmortem.analysis.fisher import fisher_less


@pytest.mark.parametrize(
    ("table", "expected"),  # scipy.stats.fisher_exact([[c, d - c], [a, b - a]], alternative="less")
    [((10, 100, 1, 100), 0.004829058), ((5, 50, 0, 50), 0.028142247), ((3, 20, 2, 20), 0.5)],
)
def test_one_sided_fisher_exact_test(table: tuple[int, int, int, int], expected: float) -> None:
    assert fisher_less(*table) == pytest.approx(expected, rel=1e-6)


def exact_fisher_less(before_failures: int, before_trials: int, after_failures: int, after_trials: int) -> float:
    failures, total = before_failures + after_failures, before_trials + after_trials
    low = max(0, failures - before_trials)
    ks = range(low, after_failures + 1)
    top = sum(math.comb(after_trials, k) * math.comb(before_trials, failures - k) for k in ks)
    return top / math.comb(total, failures)


def test_fisher_in_floating_point_matches_the_exact_sum_of_binomials() -> None:
    rng = random.Random(7)
    for _ in range(500):
        before_trials, after_trials = rng.randint(0, 200), rng.randint(0, 200)
        table = (rng.randint(0, before_trials), before_trials, rng.randint(0, after_trials), after_trials)
        assert fisher_less(*table) == pytest.approx(exact_fisher_less(*table), abs=1e-12)


@pytest.mark.parametrize(
    ("table", "expected"),  # equal trials: every failure before has odds 1/2, so P = (1/2)^5; a third of them: (2/3)^3
    [((5, 10**15, 0, 10**15), 0.5**5), ((3, 10**15, 0, 5 * 10**14), (2 / 3) ** 3), ((1, 10**15, 0, 10), 1 - 1e-14)],
)
def test_fisher_holds_at_production_scale_counts(table: tuple[int, int, int, int], expected: float) -> None:
    """From about 10^13 trials lgamma(n) lost the digits the test needs: 5 failures in 10^15 runs before and none in
    10^15 after read p=1, 3 in 10^15 against none in half that read p=0.018 ('improved'), and 10^17 raised
    OverflowError."""
    assert fisher_less(*table) == pytest.approx(expected, rel=1e-6)
    assert fisher_less(5, 10**17, 0, 10**17) == pytest.approx(0.5**5, rel=1e-6)
