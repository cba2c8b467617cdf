"""Fix verification statistics, against values computed independently (SciPy, textbook formulas)."""

import pytest

from agent_postmortem.analysis.verify import trials_for_target, verify_fix, wilson, z_for
from agent_postmortem.analysis.wording import percent, short_of


def test_normal_quantile() -> None:
    assert z_for(0.95) == pytest.approx(1.959964, abs=1e-5)
    assert z_for(0.99) == pytest.approx(2.575829, abs=1e-5)


def test_a_wilson_bound_at_none_or_every_trial_is_exact(cli) -> None:  # type: ignore[no-untyped-def]
    """`postmortem verify-fix 1 1 0 5` showed the after rate as "0/5 = 0 (95% CI 2.78e-17-0.434)"."""
    for trials in range(1, 200):
        assert wilson(0, trials).low == 0.0 and wilson(trials, trials).high == 1.0
    shown = cli("verify-fix", "1", "1", "0", "5", "--deterministic")
    assert shown.exit_code == 0 and "0/5 = 0 (95% CI 0-0.434)" in shown.stdout, shown.stdout


def test_wilson_interval_matches_the_textbook_values() -> None:
    rate = wilson(5, 100)
    assert (rate.low, rate.high) == pytest.approx((0.021543, 0.111750), abs=1e-5)
    zero = wilson(0, 381)
    assert zero.low == 0 and zero.high < 0.01 <= wilson(0, 380).high


def test_trials_needed_is_the_smallest_count_that_meets_the_target() -> None:
    needed = trials_for_target(0, 0, 0.01, 0.95)
    assert needed == 381
    assert trials_for_target(0, 381, 0.01, 0.95) is None


def test_small_targets_are_decided_on_the_unrounded_bound() -> None:
    """Rounded to 6 places, the bound made a 1e-6 target need twice the trials and met a 1e-9 one 500 times early."""
    assert trials_for_target(0, 0, 1e-6, 0.95) == 3_841_455  # z^2 (1/t - 1), rounded up
    assert trials_for_target(0, 0, 1e-3, 0.95) == 3_838
    assert trials_for_target(0, 0, 1e-9, 0.95) == 3_841_458_817
    assert verify_fix(5, 100, 0, 8_000_000, target=1e-9).verdict == "improved"


def test_verdicts() -> None:
    assert verify_fix(12, 200, 0, 500, target=0.01).verdict == "fixed"
    improved = verify_fix(12, 200, 0, 200, target=0.01)
    assert improved.verdict == "improved" and improved.more_trials_needed == 181
    assert verify_fix(3, 20, 2, 20).verdict == "not_shown"
    assert verify_fix(2, 100, 9, 100).verdict == "worse"
    assert verify_fix(2, 100, 0, 0).verdict == "need_data"


def test_the_bound_of_a_fix_is_said_below_its_target_not_rounded_up_to_it() -> None:
    """0 failures in 381 runs bound the rate at 0.998%, said as "below 1.00%, under the target of 1.00%"."""
    fixed = verify_fix(20, 100, 0, 381, target=0.01)
    assert fixed.verdict == "fixed"
    assert "the failure rate is below 0.998%, under the target of 1.00%." in fixed.explanation
    assert "below 0.24%, under the target of 1.00%" in verify_fix(20, 100, 0, 1600, target=0.01).explanation


@pytest.mark.parametrize(
    ("x", "threshold", "shown"),
    [(0.7188, 0.72, "0.718"), (0.66, 0.72, "0.66"), (0.007188, 0.0072, "0.718%"), (0.0066, 0.0072, "0.66%"),
     (0.009985, 0.01, "0.998%"), (9.99e-7, 1e-6, "0.00009%"), (5e-7, 1e-6, "0.00005%")],
)  # fmt: skip
def test_a_bound_and_a_similarity_below_a_threshold_are_cut_by_one_rule(x: float, threshold: float, shown: str) -> None:
    """The similarity under the novelty threshold and the bound under a fix's target were cut below it by two
    helpers; one reads both, a percentage as verify_fix gives its target (1e-6 as 0.0001%)."""
    assert short_of(x, threshold, as_percent=shown.endswith("%")) == shown
    assert percent(threshold) in {"72.00%", "0.72%", "1.00%", "0.0001%"}


def test_a_bound_just_under_a_small_target_keeps_a_digit_when_it_is_cut() -> None:
    """0 failures in 3,850,000 runs bound the rate at 0.0000998%: "below 0.000%, under the target of 0.0001%", a
    rate shown as none at all. Cut to the first place that reads below the target and above zero."""
    fixed = verify_fix(0, 100, 0, 3_850_000, target=1e-6)
    assert "the failure rate is below 0.00009%, under the target of 0.0001%." in fixed.explanation


def test_a_deterministic_failure_needs_one_passing_reproduction() -> None:
    assert verify_fix(1, 1, 0, 1, deterministic=True).verdict == "fixed"
    still = verify_fix(1, 1, 1, 1, deterministic=True)  # failing as it always did: not fixed, and no higher a rate
    assert still.verdict == "not_shown" and still.explanation == "Not fixed: the reproduction still fails (1/1)."
    assert verify_fix(1, 1, 0, 0, deterministic=True).more_trials_needed == 1


def test_impossible_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="between 0"):
        verify_fix(5, 3, 0, 10)


def test_counts_past_what_is_computed_are_refused_saying_the_bound() -> None:
    with pytest.raises(ValueError, match="at most 1,000,000,000,000,000"):
        verify_fix(5, 10**400, 0, 10)


def test_no_trials_before_the_fix_is_not_a_rate_of_zero() -> None:
    """0 trials before and 1 failure in 300 after read 'Not fixed: the failure rate went from 0.00% to 0.33%'."""
    result = verify_fix(0, 0, 1, 300)
    assert result.verdict == "not_shown"
    assert "no trials before the fix" in result.explanation and "0.00%" not in result.explanation
    assert result.more_trials_needed == 263


def test_small_rates_and_p_values_keep_their_digits() -> None:
    """Rounded to 6 places, a p-value of 3.5e-8 was 0.0 in the JSON beside 'Fisher p=3.54e-08', and 1 failure in
    10^8 runs was a rate of 0 with an interval of 0-0."""
    result = verify_fix(12, 100, 0, 300)
    assert result.p_value == pytest.approx(3.54e-08, rel=1e-2)
    rare = verify_fix(1, 10**8, 0, 10).before
    assert rare.rate == 1e-8 and rare.high > rare.rate > 0


def test_the_verdict_says_small_rates_with_their_digits() -> None:
    """1 failure in 10^7 runs before and 3 after read "Not fixed: the failure rate went from 0.00% to 0.00%", and 40
    against 2 in a million "Improved ... from 0.00% to 0.00%": two rates that differ said as the same one."""
    higher = verify_fix(1, 10**7, 3, 10**7, target=1e-9)
    assert higher.verdict == "not_shown"  # a rise that could be chance
    assert "(3/10000000 after against 1/10000000 before, from 0.00001% to 0.00003%, a rise" in higher.explanation
    improved = verify_fix(40, 10**6, 2, 10**6, target=1e-7)
    assert improved.verdict == "improved" and "from 0.004% to 0.0002%, but" in improved.explanation
    assert "from 0.012% to 0.014%" in verify_fix(12, 10**5, 14, 10**5, target=1e-6).explanation
    assert "from 6.00% to 0.00%" in verify_fix(12, 200, 0, 200).explanation  # at 1% and above, as before


def test_an_unchanged_rate_is_not_said_to_be_chance() -> None:
    """100 failures in 100 runs before the fix and after it read "Not shown: 100/100 after against 100/100 before
    could be chance (Fisher p=1)": there was no difference for chance to explain, and the fix plainly did nothing."""
    same = verify_fix(100, 100, 100, 100)
    assert "could be chance" not in same.explanation
    assert "both 0.00%)" in verify_fix(0, 100, 0, 100).explanation
    assert "could be chance (Fisher p=" in verify_fix(3, 20, 2, 20).explanation  # a difference still is


def test_a_fix_that_did_not_lower_the_rate_is_not_fixed_and_asks_for_no_clean_trials() -> None:
    """50/50 before and 50/50 after read "Not shown: the failure rate did not go down ...; run 6533 more clean
    trials": trials that cannot come from an agent that still fails every time, and the fix plainly did not work."""
    same = verify_fix(50, 50, 50, 50)
    assert same.verdict == "not_shown" and same.more_trials_needed is None
    assert same.explanation.startswith("Not fixed: the fix has not lowered the failure rate (50/50 after against")
    assert "both 100.00%)" in same.explanation and "clean trials" not in same.explanation
    assert verify_fix(5, 100, 10, 200).verdict == "not_shown"  # the same rate, 5%
    assert verify_fix(2, 100, 9, 100).more_trials_needed is None  # higher: no clean trials asked for either
    clean = verify_fix(0, 100, 0, 100)  # no failures on either side: clean trials are what shows it
    assert clean.verdict == "not_shown" and clean.more_trials_needed


@pytest.mark.parametrize(
    ("counts", "target"), [((50, 50, 50, 50), 0.01), ((5, 10**6, 5, 10**6), 1e-6), ((1, 100, 2, 100), 0.01)]
)
def test_a_rate_the_fix_did_not_lower_is_not_fixed_and_not_worse(
    counts: tuple[int, int, int, int], target: float
) -> None:
    """50/50 before and after, or 5 in a million before and after, was `worse` while its explanation said the fix
    "has not lowered" the rate: `worse` is for a rate that went up. The same rate, or one higher by what could be
    chance, is not shown fixed."""
    result = verify_fix(*counts, target=target)
    assert result.verdict == "not_shown" and result.more_trials_needed is None
    assert result.explanation.startswith("Not fixed: the fix has not lowered the failure rate (")


def test_worse_is_a_rise_the_fisher_test_says_is_more_than_chance() -> None:
    """The rise is tested as a drop is: one-sided Fisher, at the confidence asked for."""
    worse = verify_fix(2, 100, 9, 100)
    assert worse.verdict == "worse" and worse.more_trials_needed is None
    assert worse.explanation == (
        "Worse: the failure rate went up from 2.00% to 9.00% (Fisher p=0.0291 for a rise); look for what the fix "
        "changed."
    )
    assert verify_fix(2, 100, 9, 100, confidence=0.99).verdict == "not_shown"  # p=0.029 is chance at 99%
    assert "could be chance (Fisher p=0.5 for a rise)" in verify_fix(1, 100, 2, 100).explanation


def test_no_trials_after_the_fix_give_no_rate_after_it() -> None:
    """3/10 before and 0/0 after read "after 0/0 = 0 (95% CI 0-1)" with a p-value of 1: there is no rate after."""
    result = verify_fix(3, 10, 0, 0)
    assert result.verdict == "need_data" and result.p_value is None
    assert (result.after.rate, result.after.low, result.after.high) == (None, None, None)
    assert result.explanation.startswith("No trials after the fix, so no failure rate after it: run the agent")
    assert verify_fix(0, 0, 0, 10).before.rate is None


def test_a_fix_under_the_target_with_a_higher_rate_than_before_says_so() -> None:
    """0/1000 before and 5/1,000,000 after is under a 1% target, and "Fixed" alone read as if the fix had lowered
    the rate; the verdict stays (the target is what "fixed" means) and says the rate went up."""
    rose = verify_fix(0, 1000, 5, 1_000_000)
    assert rose.verdict == "fixed"
    assert rose.explanation.endswith(
        "It is higher than before the fix (0/1000, 0.00%): the target is met, not improved on."
    )
    assert "higher than before" not in verify_fix(12, 200, 0, 400).explanation


def test_rates_below_a_millionth_are_plain_decimals() -> None:
    """9.6e-7 printed as "9.6e-05%" and 1e-7 as "1e-05%": scientific notation in a sentence for people."""
    assert percent(9.6e-7) == "0.000096%" and percent(1e-6) == "0.0001%"
    fixed = verify_fix(0, 100, 0, 10**8, target=1e-4)
    assert "below 0.0000038%, under the target of 0.01%" in fixed.explanation and "e-0" not in fixed.explanation


@pytest.mark.parametrize(
    ("counts", "said"),
    [
        ((10, 100, 0, 380), "1 more clean trial needed."),
        ((0, 0, 0, 380), "run 1 more clean trial to show"),
        ((10, 100, 0, 100), "281 more clean trials needed."),
    ],
)
def test_one_more_clean_trial_is_said_in_the_singular(counts: tuple[int, int, int, int], said: str) -> None:
    """The verdict said "1 more clean trials needed", which read as a slip."""
    result = verify_fix(*counts)
    assert said in result.explanation, result.explanation


def test_a_rise_that_could_be_chance_names_which_test_its_p_value_is() -> None:
    """1/2 before and 3/4 after answered p_value 0.933 (the test that the rate went down) with an explanation saying
    "a rise that could be chance (Fisher p=0.6)": two p-values for one comparison, the second unlabelled. The
    explanation's is the test for a rise, and says so, as the "worse" verdict's does."""
    result = verify_fix(1, 2, 3, 4, target=0.5)
    assert result.verdict == "not_shown" and result.p_value == pytest.approx(0.933, abs=0.001)
    assert "a rise that could be chance (Fisher p=0.6 for a rise)" in result.explanation


@pytest.mark.parametrize(
    ("counts", "said"),
    [((12, 10, 0, 5), "12 failures in 10 trials before"), ((0, 5, 7, 6), "7 failures in 6 trials after")],
)
def test_failures_past_their_trials_are_refused_naming_the_side_and_the_counts(
    counts: tuple[int, int, int, int], said: str
) -> None:
    """`verify-fix 12 10 0 5` said only "failures must be between 0 and the number of trials": not which count."""
    with pytest.raises(ValueError, match=said):
        verify_fix(*counts)


def test_a_failure_that_passed_before_the_fix_is_not_judged_deterministic(cli) -> None:  # type: ignore[no-untyped-def]
    """`verify-fix 12 200 0 200 --deterministic` said "Fixed: the reproduction of a deterministic failure passes"
    where the counts show a failure in 6% of runs, for which 0/200 is not yet below a 1% target (181 more clean runs);
    and `0 1 0 1 --deterministic`, a reproduction that never failed, was "Fixed" too."""
    sometimes = verify_fix(12, 200, 0, 200, deterministic=True)
    assert sometimes.verdict == "improved" and sometimes.more_trials_needed == 181
    assert sometimes.explanation.startswith("Not a deterministic failure: 188 of 200 runs before the fix passed")
    never = verify_fix(0, 1, 0, 1, deterministic=True)
    assert never.verdict == "not_shown" and "1 of 1 run before the fix passed" in never.explanation
    shown = cli("verify-fix", "12", "200", "0", "200", "--deterministic")
    assert shown.exit_code == 0 and "improved" in shown.stdout and "Fixed" not in shown.stdout, shown.stdout
    # every run before failing, or none recorded, is what a deterministic failure is: one passing run decides
    assert verify_fix(3, 3, 0, 1, deterministic=True).verdict == "fixed"
    assert verify_fix(0, 0, 0, 1, deterministic=True).verdict == "fixed"
