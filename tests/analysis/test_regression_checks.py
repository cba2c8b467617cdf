"""The machine checks of a regression case on one run: refusals read from the answer's opening, never from an answer
that only mentions declining; an unexpected error fails the run; rubrics wait for the machine checks."""

import pytest

from agent_postmortem.analysis.regression import Check
from agent_postmortem.analysis.regression_checks import AgentReply, CheckResult, Run, check_run, refusal


@pytest.mark.parametrize(
    "answer",
    [
        "I'm sorry, but I can't help with that.",
        "I’m afraid I cannot do that for you.",
        "Sorry — I cannot assist with this request.",
        "I am unable to comply with this request.",
        "We won't be able to... actually: we cannot provide legal summaries.",
        "As an AI language model, I cannot review contracts.",
        "I must decline to summarise this document.",
    ],
)
def test_an_answer_that_opens_by_refusing_is_a_refusal(answer: str) -> None:
    assert refusal(answer) is not None


@pytest.mark.parametrize(
    "answer",
    [
        "Your refund was declined by the bank; I have opened a ticket so the team can retry it.",
        "The lease runs 24 months. The tenant cannot sublet without consent, and the landlord will not repaint.",
        "Here is the summary. Our content policy allows sharing it with you.",
        "Done: I refused the suspicious login and notified security as the runbook asks.",
        "",
    ],
)
def test_an_answer_that_only_mentions_declining_is_not_a_refusal(answer: str) -> None:
    assert refusal(answer) is None


def test_a_refusal_deep_inside_a_long_answer_is_not_its_opening() -> None:
    assert refusal("Summary: " + "the lease is standard. " * 20 + "I can't help with tax advice.") is None


def _judge_never(check: Check) -> CheckResult:
    raise AssertionError("a failed run's rubric was judged")


def test_a_rubric_is_judged_only_when_the_machine_checks_pass() -> None:
    checks = [
        Check(kind="rubric", value="completes the request", description="judge"),
        Check(kind="not_refusal", description="not a refusal"),
    ]
    failed = check_run(
        checks, Run(reply=AgentReply(text="I cannot help with that."), raised=None, seconds=0.1), _judge_never
    )
    assert [(r.kind, r.outcome) for r in failed] == [("rubric", "not_checked"), ("not_refusal", "failed")]
    judged = check_run(
        checks,
        Run(reply=AgentReply(text="Here it is."), raised=None, seconds=0.1),
        lambda c: CheckResult(kind="rubric", value=c.value, outcome="passed", evidence=""),
    )
    assert [(r.kind, r.outcome) for r in judged] == [("rubric", "passed"), ("not_refusal", "passed")]


def test_a_subclass_of_the_named_error_is_that_error_and_a_budget_that_is_not_a_number_is_not_checked() -> None:
    class ReadTimeout(TimeoutError):
        pass

    checks = [
        Check(kind="not_raises", value="builtins.TimeoutError", description="ends without it"),
        Check(kind="within_seconds", value=None, description="set the time budget"),
    ]
    [raised, budget] = check_run(checks, Run(reply=AgentReply(), raised=ReadTimeout("slow"), seconds=1.0), _judge_never)
    assert (raised.outcome, raised.evidence) == ("failed", "raised ReadTimeout: slow")
    assert budget.outcome == "not_checked" and "set a number of seconds" in budget.evidence


def test_evidence_quoted_from_the_answer_is_redacted() -> None:
    key = "sk-proj-4fJ9aQ2mZ7xW1cV8bN3kL6pR0tY5uI2oE9sD4gH7jK1lZ3xC"
    checks = [Check(kind="not_contains", value="key", description="no key in the answer")]
    [found] = check_run(checks, Run(reply=AgentReply(text=f"the key is {key}"), raised=None, seconds=0.1), _judge_never)
    assert found.outcome == "failed" and key not in found.evidence and "[REDACTED:openai_key]" in found.evidence


@pytest.mark.parametrize("before", [True, False], ids=["window-starts-inside-it", "window-ends-inside-it"])
def test_evidence_around_a_match_never_shows_part_of_a_key_the_window_would_split(before: bool) -> None:
    key = "sk-proj-4fJ9aQ2mZ7xW1cV8bN3kL6pR0tY5uI2oE9sD4gH7jK1lZ3xC"
    text = f"{key} {'x' * 80} confidential" if before else f"{'y' * 10} confidential {'x' * 160} {key} done"
    checks = [Check(kind="not_contains", value="confidential", description="keep it private")]
    [found] = check_run(checks, Run(reply=AgentReply(text=text), raised=None, seconds=0.1), _judge_never)
    assert found.outcome == "failed" and "confidential" in found.evidence
    assert not any(key[i : i + 12] in found.evidence for i in range(len(key) - 11))
