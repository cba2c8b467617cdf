"""A time limit on a model's answer: the call's thread can read its deadline, so that its requests end there; a call
that ends after its deadline is too late, whenever the caller's thread gets to look."""

import sys
from collections.abc import Callable, Iterator

import pytest

from agent_postmortem.llm.limits import TooLate, time_left, within


def test_the_call_reads_what_is_left_of_its_limit_and_other_code_reads_no_deadline() -> None:
    left = within(30.0, time_left)
    assert left is not None and 29.0 < left <= 30.0
    assert time_left() is None


def test_an_error_before_the_deadline_is_the_callers() -> None:
    def fails() -> None:
        raise ValueError("the endpoint said no")

    with pytest.raises(ValueError, match="said no"):
        within(30.0, fails)


@pytest.fixture
def loaded() -> Iterator[None]:
    """A loaded machine, as far as the caller's thread goes: the call's thread keeps the interpreter until it blocks
    or ends, so the caller's thread gets to its wait only after the call has ended."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def _until_the_deadline(then: Callable[[], str]) -> Callable[[], str]:
    def call() -> str:
        while (time_left() or 0.0) > 0:  # a request cut at the deadline, without blocking
            pass
        return then()

    return call


def _timed_out() -> str:
    raise ConnectionError("the request timed out")


@pytest.mark.usefixtures("loaded")
def test_a_call_cut_at_its_deadline_is_too_late_though_the_caller_looks_after_it_ended() -> None:
    """Under load the draft-deadline test saw the request's own "timed out" (once caught, nothing) instead of
    TooLate: the caller's thread ran only after the call, cut at the deadline, had ended."""
    with pytest.raises(TooLate):
        within(0.2, _until_the_deadline(_timed_out))


@pytest.mark.usefixtures("loaded")
def test_an_answer_after_the_deadline_is_dropped_though_the_caller_looks_after_it_came() -> None:
    with pytest.raises(TooLate):
        within(0.2, _until_the_deadline(lambda: "an analysis, too late"))
