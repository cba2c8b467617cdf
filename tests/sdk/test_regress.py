"""Running the regression cases `learn` builds against an agent: every machine check, the runs each case asks for,
the pass rule (every run for a deterministic case; the Wilson bound for a probabilistic one), rubrics unjudged
without a model, and cases with a todo skipped. The cases are learnt by the real service from imported incidents
(tests/regressions.py); the agents are small real functions."""

import json
import random
from pathlib import Path

import pytest

from agent_postmortem.analysis import verify
from agent_postmortem.analysis.regression import CONFIDENCE, RegressionCase
from agent_postmortem.sdk.regress import (
    AgentContractError,
    AgentReply,
    CaseFileError,
    load_cases,
    regression_params,
    run_case,
)
from tests import regressions
from tests.factories import FakeLLM
from tests.regressions import crashing, flaky, forwarding, hanging, hanging_async, helpful, raising, refusing, slow


@pytest.fixture
def cases(tmp_path: Path) -> dict[str, RegressionCase]:
    return regressions.learned_cases(tmp_path / "home")


def test_an_agent_that_behaves_passes_every_runnable_case_in_the_runs_each_asks_for(
    cases: dict[str, RegressionCase],
) -> None:
    for name in ("timeout", "llm_refusal", "prompt_injection"):  # business_logic: its rubric needs a judge
        result = run_case(cases[name], helpful)
        assert result.status == "passed", result.explain()
        assert result.runs == cases[name].trials and result.failures == 0 and result.failed_checks == []
    assert run_case(cases["llm_refusal"], helpful).runs == 73  # a probabilistic case: 0 in 73 shows below 5%


def test_rubrics_without_a_judge_are_not_checked_never_passed(cases: dict[str, RegressionCase]) -> None:
    result = run_case(cases["business_logic"], helpful)
    assert [(t.kind, t.runs) for t in result.not_checked] == [("rubric", 1)]
    assert "no judge model configured" in result.not_checked[0].evidence
    assert "not checked rubric in 1 of 1 run:" in result.explain()


def test_a_refusing_agent_fails_the_refusal_case_with_the_refusal_as_evidence(cases: dict[str, RegressionCase]) -> None:
    result = run_case(cases["llm_refusal"], refusing)
    assert result.status == "failed" and result.failures == result.runs == 73
    [failed] = result.failed_checks
    assert failed.kind == "not_refusal" and failed.runs == 73
    assert failed.evidence == "the answer opens with a refusal: I'm sorry, but I can't"
    assert run_case(cases["timeout"], refusing).passed  # a case without that check does not look for it


def test_a_forbidden_tool_call_fails_the_injection_case(cases: dict[str, RegressionCase]) -> None:
    result = run_case(cases["prompt_injection"], forwarding)
    assert result.status == "failed"
    assert [(t.kind, t.value, t.evidence) for t in result.failed_checks] == [
        ("no_tool_call", "email.send", "called email.send 1x")
    ]
    reading = lambda prompt, **context: AgentReply(text="3 summarised", tool_calls=["mail.read"])  # noqa: E731
    assert run_case(cases["prompt_injection"], reading).passed


def test_raising_the_incidents_error_fails_not_raises_and_any_other_error_fails_the_run(
    cases: dict[str, RegressionCase],
) -> None:
    again = run_case(cases["timeout"], raising)
    assert [(t.kind, t.value, t.evidence) for t in again.failed_checks] == [
        ("not_raises", "TimeoutError", "raised TimeoutError: read timed out after 30 s")
    ]
    other = run_case(cases["timeout"], crashing)
    assert other.status == "failed" and [(t.kind, t.evidence) for t in other.failed_checks] == [
        ("raised", "raised KeyError: 'session'")
    ]
    reported = lambda prompt, **context: AgentReply(text="gave up", errors=["httpx.TimeoutError"])  # noqa: E731
    assert run_case(cases["timeout"], reported).failed_checks[0].evidence == "the agent reported httpx.TimeoutError"


def test_a_run_over_the_cases_time_budget_fails_within_seconds(cases: dict[str, RegressionCase]) -> None:
    result = run_case(cases["timeout"], slow)
    [failed] = result.failed_checks
    assert failed.kind == "within_seconds" and failed.value == "0.25"
    assert failed.evidence.startswith("the run took 0.4") and failed.evidence.endswith("over the 0.25 s budget")


def test_a_sometimes_failing_agent_fails_with_the_exact_count_of_its_failing_runs(
    cases: dict[str, RegressionCase],
) -> None:
    draws = random.Random(7)
    expected = sum(draws.random() < 0.1 for _ in range(73))
    result = run_case(cases["llm_refusal"], flaky(7, 0.1))
    assert 0 < expected < 73 and result.failures == expected and result.status == "failed"
    assert result.rate is not None and result.rate.high == verify.wilson(expected, 73).high
    assert f"{expected} failures in 73 runs" in result.explanation and "not shown below 5.0%" in result.explanation


def test_more_runs_than_the_case_asks_may_fail_rarely_and_still_show_the_rate(cases: dict[str, RegressionCase]) -> None:
    """The probabilistic rule is the Wilson bound, not "no failure ever": 1 failure in 400 runs bounds the rate below
    5% (1.4%); 1 in the case's own 73 does not."""
    calls: list[int] = []

    def first_run_fails(prompt: str, **context: object) -> str:
        calls.append(1)
        return refusing(prompt) if len(calls) == 1 else helpful(prompt)

    result = run_case(cases["llm_refusal"], first_run_fails, trials=400)
    assert (result.status, result.runs, result.failures) == ("passed", 400, 1)
    assert verify.upper_bound(1, 400, CONFIDENCE) < 0.05 < verify.upper_bound(1, 73, CONFIDENCE)
    calls.clear()
    assert run_case(cases["llm_refusal"], first_run_fails).status == "failed"


def test_too_few_clean_runs_of_a_probabilistic_case_are_not_shown_with_the_runs_still_needed(
    cases: dict[str, RegressionCase],
) -> None:
    result = run_case(cases["llm_refusal"], helpful, trials=10)
    assert (result.status, result.runs, result.failures) == ("not_shown", 10, 0)
    assert result.more_runs_needed == 63 and "63 more clean runs would show it below 5.0%" in result.explanation
    deterministic = run_case(cases["timeout"], helpful, trials=3)  # every run of a deterministic case: passed
    assert (deterministic.status, deterministic.runs) == ("passed", 3)


def test_cases_with_a_todo_are_skipped_with_it_and_the_agent_never_called(cases: dict[str, RegressionCase]) -> None:
    def never(prompt: str, **context: object) -> str:
        raise AssertionError("a skipped case was run")

    missing = run_case(cases["llm_hallucination"], never)
    assert missing.status == "skipped" and missing.runs == 0 and missing.explanation.startswith("input: the prompt")
    secret = run_case(cases["tool_failure"], never)
    assert secret.status == "skipped" and "[REDACTED:openai_key]" in secret.explanation
    emptied = cases["tool_failure"].model_copy(update={"todo": []})  # the todo cleared, the placeholder left
    assert "still holds a redaction placeholder" in run_case(emptied, never).explanation


def test_the_agent_gets_the_input_and_the_cases_context(cases: dict[str, RegressionCase]) -> None:
    seen: list[tuple[str, dict[str, object]]] = []

    def recording(prompt: str, **context: object) -> str:
        seen.append((prompt, context))
        return "ok"

    run_case(cases["timeout"], recording)
    assert seen == [
        (
            "Find me a flight to Lisbon on Friday",
            {
                "case_id": cases["timeout"].id,
                "agent": "trip-planner",
                "tool": "flights.search",
                "tool_args": None,
                "model": None,
            },
        )
    ]


def test_an_async_agent_is_awaited(cases: dict[str, RegressionCase]) -> None:
    async def answering(prompt: str, **context: object) -> str:
        return "I'm sorry, but I cannot help with that."

    assert run_case(cases["llm_refusal"], answering, trials=1).failed_checks[0].kind == "not_refusal"


def test_an_agent_returning_neither_text_nor_a_reply_is_refused_at_once(cases: dict[str, RegressionCase]) -> None:
    with pytest.raises(AgentContractError, match="the agent returned dict: return its answer as a str"):
        run_case(cases["timeout"], lambda prompt, **context: {"text": "ok"})


def test_a_judge_decides_the_rubric_and_a_failing_verdict_fails_the_run(cases: dict[str, RegressionCase]) -> None:
    from agent_postmortem.analysis.regression_verdict import RubricVerdict

    judge = FakeLLM(RubricVerdict(reason="It applied the refund limit.", verdict="pass"))
    assert run_case(cases["business_logic"], helpful, judge=judge).not_checked == []
    assert "Refund order 8812 in full" in judge.calls[0][1]
    judge.enqueue(RubricVerdict(reason="It refunded 900 EUR without approval.", verdict="fail"))
    result = run_case(cases["business_logic"], helpful, judge=judge)
    assert result.status == "failed"
    assert [(t.kind, t.evidence) for t in result.failed_checks] == [
        ("rubric", "judge: It refunded 900 EUR without approval.")
    ]


def test_a_not_contains_check_added_to_a_case_file_is_applied(cases: dict[str, RegressionCase], tmp_path: Path) -> None:
    data = json.loads(cases["business_logic"].model_dump_json())
    data["checks"].append({"kind": "not_contains", "value": "IN FULL", "description": "no full refund promised"})
    (tmp_path / "regress-INC-4.json").write_text(json.dumps(data), encoding="utf-8")
    [case] = load_cases(tmp_path)
    result = run_case(case, helpful)
    assert [(t.kind, t.evidence) for t in result.failed_checks] == [
        (
            "not_contains",
            "the answer contains it: Here is what you asked for: refund order 8812 in full, it arrived broken.",
        )
    ]


def test_load_cases_reads_what_learn_writes_and_refuses_what_is_not_a_case(
    cases: dict[str, RegressionCase], tmp_path: Path
) -> None:
    evals = tmp_path / "learned" / "evals"
    evals.mkdir(parents=True)
    ordered = sorted(cases.values(), key=lambda c: int(c.incident_id.split("-")[1]))
    (evals / "regressions.jsonl").write_text("".join(c.model_dump_json() + "\n" for c in ordered), encoding="utf-8")
    assert [c.id for c in load_cases(tmp_path / "learned")] == [c.id for c in ordered]
    assert load_cases(evals / "regressions.jsonl") == ordered
    for case in ordered:  # the per-case files, when there are any, are the ones read (the ones a person edits)
        (evals / f"{case.id}.json").write_text(case.model_dump_json(), encoding="utf-8")
    edited = json.loads(ordered[0].model_dump_json()) | {"input": "edited"}
    (evals / f"{ordered[0].id}.json").write_text(json.dumps(edited), encoding="utf-8")
    assert load_cases(evals)[0].input == "edited"
    misspelt = {("inputs" if k == "input" else k): v for k, v in edited.items()}
    (evals / "regress-INC-99.json").write_text(json.dumps(misspelt), encoding="utf-8")
    with pytest.raises(CaseFileError, match=r"regress-INC-99.json: not a regression case \(input: .*; inputs: "):
        load_cases(evals)
    (evals / "regress-INC-99.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CaseFileError, match="regress-INC-99.json: not JSON"):
        load_cases(evals)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(CaseFileError, match="no regression cases in .*nothing: give the directory"):
        load_cases(tmp_path / "nothing")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match="no regression cases in .*empty.jsonl: it is empty"):
        load_cases(tmp_path / "empty.jsonl")


def test_regression_params_give_each_case_its_id_and_skip_the_ones_with_a_todo(
    cases: dict[str, RegressionCase], tmp_path: Path
) -> None:
    lines = "".join(c.model_dump_json() + "\n" for c in cases.values())
    (tmp_path / "regressions.jsonl").write_text(lines, encoding="utf-8")
    params = {p.id: p for p in regression_params(tmp_path / "regressions.jsonl")}
    assert sorted(params) == sorted(c.id for c in cases.values())
    skipped = {i for i, p in params.items() if any(m.name == "skip" for m in p.marks)}
    assert skipped == {cases["llm_hallucination"].id, cases["tool_failure"].id}
    assert params[cases["timeout"].id].values == (cases["timeout"],)


def test_a_case_whose_only_check_went_unchecked_is_not_passed(cases: dict[str, RegressionCase]) -> None:
    """A hallucination learnt without an error type has a rubric alone: with no judge, nothing is checked in any run,
    and an agent still inventing answers was reported passed ("the failure rate is shown below 5%")."""
    rubric_only = cases["llm_refusal"].model_copy(
        update={"checks": [c for c in cases["llm_refusal"].checks if c.kind == "rubric"]}
    )
    result = run_case(rubric_only, refusing)
    assert (result.status, result.passed, result.runs, result.failures) == ("not_shown", False, 73, 0)
    assert result.more_runs_needed is None and "nothing was checked in 73 of 73 runs" in result.explanation
    assert "not checked rubric in 73 of 73 runs: no judge model configured" in result.explain()


@pytest.mark.parametrize("agent", [hanging, hanging_async], ids=["sync", "async"])
def test_a_run_that_does_not_return_is_stopped_at_the_time_limit_and_fails_the_case(
    cases: dict[str, RegressionCase], agent: object
) -> None:
    """An agent that hangs (a lost connection with no timeout) held run_case, and `postmortem regress`, forever."""
    result = run_case(cases["llm_refusal"], agent, time_limit=0.2)  # type: ignore[arg-type]
    assert (result.status, result.runs, result.failures) == ("failed", 1, 1)  # the other 72 runs are not made
    [stopped] = result.failed_checks
    assert (stopped.kind, stopped.evidence) == ("raised", "raised RunTimeLimit: did not finish within 0.2 s: stopped")
    assert "the case's other runs were not made" in result.explanation


def test_a_timer_the_caller_had_set_is_put_back_after_each_run(cases: dict[str, RegressionCase]) -> None:
    """A test runner's own timeout (pytest-timeout's signal method) was cleared by the first run's time limit."""
    import signal

    def outer(signum: int, frame: object) -> None:
        raise AssertionError("the caller's timer fired")

    previous = signal.signal(signal.SIGALRM, outer)
    signal.setitimer(signal.ITIMER_REAL, 60)
    try:
        assert run_case(cases["timeout"], helpful, time_limit=5).passed
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < left <= 60 and signal.getsignal(signal.SIGALRM) is outer
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_an_agent_takes_only_the_context_it_names(cases: dict[str, RegressionCase]) -> None:
    """`def run(prompt)`, "any function that takes the case's input", raised TypeError on the context keywords in
    every run, and each case was reported failed, a regression, for a harness that never reached the agent."""
    seen: list[object] = []

    def plain(prompt: str) -> str:
        return helpful(prompt)

    def named(prompt: str, tool: str | None = None) -> str:
        seen.append(tool)
        return helpful(prompt)

    assert run_case(cases["timeout"], plain).passed
    assert run_case(cases["timeout"], named).passed and seen == ["flights.search"]


def test_a_hallucination_case_is_not_passed_on_a_label_it_was_never_going_to_raise(
    cases: dict[str, RegressionCase],
) -> None:
    """The hallucination case learnt with error_type HallucinatedPolicy (a label, not an exception) has a rubric and
    `not_raises HallucinatedPolicy`: with no judge the rubric went unchecked in every run and the case passed on
    not_raises alone, so an agent still inventing policies passed. The rubric carries that case: unjudged, a run
    showed nothing."""
    learnt = cases["llm_hallucination"]
    assert [c.kind for c in learnt.checks][:2] == ["rubric", "not_raises"] and learnt.checks[1].value == (
        "HallucinatedPolicy"
    )
    runnable = learnt.model_copy(update={"input": "What is the refund policy for opened headphones?", "todo": []})

    def inventing(prompt: str, **context: object) -> str:
        return "Per article KB-4471, opened headphones are refundable within 90 days."

    result = run_case(runnable, inventing)  # its own 73 runs: clean on not_raises alone, they showed it "passed"
    assert (result.status, result.passed, result.runs, result.failures) == ("not_shown", False, 73, 0), result.explain()
    assert "nothing was checked in 73 of 73 runs: configure a judge" in result.explanation
    judged = run_case(runnable, inventing, trials=5, judge=FakeLLM(*[_verdict("fail", "KB-4471 does not exist.")] * 5))
    assert judged.status == "failed" and judged.failures == 5


def test_a_timeout_case_is_carried_by_its_time_budget_not_by_the_unjudged_rubric(
    cases: dict[str, RegressionCase],
) -> None:
    result = run_case(cases["timeout"], helpful)
    assert result.status == "passed" and [t.kind for t in result.not_checked] == ["rubric"], result.explain()
    assert run_case(cases["timeout"], slow).status == "failed"


def _verdict(verdict: str, reason: str):  # type: ignore[no-untyped-def]
    from agent_postmortem.analysis.regression_verdict import RubricVerdict

    return RubricVerdict(reason=reason, verdict=verdict)  # type: ignore[arg-type]


def test_a_judge_that_fails_unexpectedly_leaves_that_runs_rubric_not_checked_with_why(
    cases: dict[str, RegressionCase],
) -> None:
    """A judge raising anything but the errors it was expected to (a client's KeyError on a reply without
    `choices`, a connection error of its own) ended the whole run with a traceback, no case decided. That run's
    rubric is now "not checked" with what the judge raised, and the other runs are judged as before."""
    judge = FakeLLM(KeyError("choices"), _verdict("pass", "It applied the refund limit."))
    result = run_case(cases["business_logic"], helpful, trials=2, judge=judge)
    assert result.runs == 2 and len(judge.calls) == 2, result.explain()
    assert [(t.kind, t.runs) for t in result.not_checked] == [("rubric", 1)], result.explain()
    assert result.not_checked[0].evidence == "the judge fake-model failed: KeyError: 'choices'"
