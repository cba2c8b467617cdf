"""`postmortem verify-fix`, as a user runs it: the intervals at the confidence asked for, and counts past what is
computed refused in one line."""

from collections.abc import Callable
from typing import Any


def test_the_intervals_are_labelled_with_the_confidence_asked_for(cli: Callable[..., Any]) -> None:
    """With --confidence 0.99 the intervals were computed at 99% and printed as '95% CI'."""
    result = cli("verify-fix", "5", "100", "0", "100", "--confidence", "0.99")
    assert result.exit_code == 0
    assert "(99% CI 0.0168-0.139)" in result.output and "95% CI" not in result.output


def test_a_count_past_what_is_computed_is_refused_saying_the_bound(cli: Callable[..., Any]) -> None:
    """10^400 trials ended in 'unexpected OverflowError'."""
    result = cli("verify-fix", "5", "1" + "0" * 400, "0", "10")
    assert result.exit_code == 2
    assert "trials must be at most 1,000,000,000,000,000" in result.output and "Overflow" not in result.output


def test_its_help_says_what_it_does_in_words(cli: Callable[..., Any]) -> None:
    """Its summary read "Failure counts before and after -> rates, Fisher test": notation, not a sentence."""
    shown = cli("verify-fix", "--help").output
    assert "Decide whether a fix worked" in shown and "->" not in shown


def test_no_trials_after_the_fix_show_no_rate_after_it(cli: Callable[..., Any]) -> None:
    """'after 0/0 = 0 (95% CI 0-1)' and 'p-value 1' were shown for a fix not yet tried."""
    result = cli("verify-fix", "3", "10", "0", "0")
    assert result.exit_code == 0
    assert "0/0" not in result.output and "- (no trials)" in result.output
    assert "No trials after the fix" in result.output
