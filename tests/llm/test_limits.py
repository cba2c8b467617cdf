"""A time limit on a model's answer: the call's thread can read its deadline, so that its requests end there."""

from agent_postmortem.llm.limits import time_left, within


def test_the_call_reads_what_is_left_of_its_limit_and_other_code_reads_no_deadline() -> None:
    left = within(30.0, time_left)
    assert left is not None and 29.0 < left <= 30.0
    assert time_left() is None
