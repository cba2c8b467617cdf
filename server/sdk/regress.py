"""Run the regression cases `postmortem learn` writes against your agent, with each case's pass rule.

    from agent_postmortem.sdk.regress import AgentReply, load_cases, run_case

    def my_agent(prompt: str, **context: object) -> str | AgentReply:
        ...  # call your agent; return its answer, or an AgentReply with the tools it called

    for case in load_cases("learned/evals"):
        result = run_case(case, my_agent)          # `trials` runs; judge=LLM to judge the rubrics
        print(result.case_id, result.status, result.explanation)

The agent is called as `agent(case.input, case_id=..., agent=..., tool=..., tool_args=..., model=...)` (the case's
fields: take what you need and `**context` for the rest); an async agent's coroutine is run to its end. The cases
are read by regress_cases.py. Each run is timed and checked (analysis/regression_checks.py); the case's verdict over
its runs is regression_verdict.py's. A case whose `todo` is not empty, or whose input is missing or still holds a
redaction placeholder, is skipped with the reason, never run. In pytest:

    @pytest.mark.parametrize("case", regression_params("learned/evals"))
    def test_regression(case: RegressionCase) -> None:
        result = run_case(case, my_agent)
        assert result.passed, result.explain()
"""

import asyncio
import inspect
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, Field

from agent_postmortem.analysis import regression_verdict as verdict
from agent_postmortem.analysis import verify
from agent_postmortem.analysis.regression import RegressionCase
from agent_postmortem.analysis.regression_checks import AgentReply, CheckResult, Run, check_run
from agent_postmortem.analysis.regression_verdict import Decision, Status, decide, judge_rubric, skip_reasons
from agent_postmortem.analysis.wording import counted
from agent_postmortem.llm.base import LLM
from agent_postmortem.sdk.regress_cases import CaseFileError, load_cases, regression_params
from agent_postmortem.sdk.run_limit import RUN_TIME_LIMIT, RunTimeLimit, alarm, awaited

__all__ = [
    "AgentContractError",
    "AgentReply",
    "CaseFileError",
    "CaseResult",
    "CheckTally",
    "RegressionCase",
    "load_cases",
    "regression_params",
    "run_case",
]

Agent = Callable[..., Any]  # agent(input, **context) -> str | AgentReply, or an awaitable of one


class AgentContractError(ValueError):
    """The agent returned something other than a str or an AgentReply."""


class CheckTally(BaseModel):
    """One check over the runs: in how many runs it failed (or was not checked), and what the first one showed."""

    kind: str
    value: str | None
    runs: int
    evidence: str


class CaseResult(BaseModel):
    case_id: str
    incident_id: str
    title: str
    status: Status = Field(
        description="passed, failed, not_shown (too few runs to show the rate, or nothing checked) or skipped"
    )
    explanation: str = Field(description="why: the runs and what they show, or what to fill in (skipped)")
    runs: int
    failures: int
    trials: int = Field(description="the runs the case asks for")
    rate: verify.Rate | None = Field(
        description="the failure rate with its Wilson 95% interval (None: skipped, or nothing checked in any run)"
    )
    more_runs_needed: int | None
    failed_checks: list[CheckTally] = Field(description="each check that failed a run, with its first evidence")
    not_checked: list[CheckTally] = Field(description="each check not checked in some run, and why (never passed)")

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def explain(self) -> str:
        """The verdict in lines: status and why, then each failing check with its evidence, then what went unchecked."""
        lines = [f"{self.case_id} {self.status}: {self.explanation}"]
        for t in self.failed_checks:
            lines.append(f"  failed {_named(t)} in {t.runs} of {counted(self.runs, 'run')}: {t.evidence}")
        for t in self.not_checked:
            lines.append(f"  not checked {_named(t)} in {t.runs} of {counted(self.runs, 'run')}: {t.evidence}")
        return "\n".join(lines)


def _named(t: CheckTally) -> str:
    return t.kind if t.value is None or t.kind == "rubric" else f"{t.kind} {t.value}"


def run_case(
    case: RegressionCase,
    agent: Agent,
    *,
    trials: int | None = None,
    judge: LLM | None = None,
    judge_time_limit: float | None = None,
    time_limit: float | None = RUN_TIME_LIMIT,
) -> CaseResult:
    """Run `case` against `agent` `trials` times (default: the case's own) and decide it by its pass rule. `judge`:
    the model that judges the rubric checks (None: they are `not_checked`), within `judge_time_limit` seconds each.
    A run past `time_limit` seconds (None: no limit) is stopped (run_limit.py) and fails; the case's other runs are
    then not made."""
    if reasons := skip_reasons(case):
        return _result(
            case, Decision(status="skipped", explanation="; ".join(reasons), rate=None, more_runs_needed=None)
        )
    runs: list[list[CheckResult]] = []
    overran = False
    for _ in range(trials or case.trials):
        checks, overran = _run_once(case, agent, judge, judge_time_limit, time_limit)
        runs.append(checks)
        if overran:
            break
    unchecked = sum(verdict.checked_nothing(case, checks) for checks in runs)
    decision = decide(case, _failures(runs), len(runs), unchecked=unchecked)
    if overran and len(runs) < (trials or case.trials):
        cut = f"{decision.explanation}; a run was stopped at the {time_limit:g} s limit: the case's other runs were "
        decision = decision.model_copy(update={"explanation": cut + "not made"})
    return _result(case, decision, runs)


def _run_once(
    case: RegressionCase, agent: Agent, judge: LLM | None, judge_limit: float | None, limit: float | None
) -> tuple[list[CheckResult], bool]:
    """The checks of one run, and whether it was stopped at the time limit."""
    context = _taken(
        agent,
        {"case_id": case.id, "agent": case.agent, "tool": case.tool, "tool_args": case.tool_args, "model": case.model},
    )
    raised: BaseException | None = None
    reply = AgentReply()
    start = time.perf_counter()
    try:
        with alarm(limit):
            reply = _reply(_finished(agent(case.input, **context), limit))
    except AgentContractError:
        raise
    except (Exception, RunTimeLimit, SystemExit) as e:  # noqa: BLE001 - the run's outcome, checked below; an agent's
        raised = e  # sys.exit (its CLI's main) fails the run, rather than ending the runner with no verdict
    run = Run(reply=reply, raised=raised, seconds=time.perf_counter() - start)
    nonce = secrets.token_hex(8)
    checks = check_run(
        case.checks, run, lambda c: judge_rubric(judge, c, case.input or "", reply, nonce=nonce, time_limit=judge_limit)
    )
    return checks, isinstance(raised, RunTimeLimit)


def _taken(agent: Agent, context: dict[str, Any]) -> dict[str, Any]:
    """The context keywords `agent` takes: all of them with `**context`, else the ones it names (`def run(prompt)`
    takes none); all when its signature cannot be read."""
    try:
        parameters = inspect.signature(agent).parameters.values()
    except (TypeError, ValueError):
        return context
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return context
    named = {p.name for p in list(parameters)[1:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}  # [0]: input
    return {k: v for k, v in context.items() if k in named}


def _finished(answer: Any, limit: float | None) -> Any:
    """An async agent's answer awaited within `limit` (on a loop of its own: run_case is called from synchronous
    code)."""
    if not inspect.isawaitable(answer):
        return answer
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # none: the usual case
        return asyncio.run(awaited(answer, limit))
    if inspect.iscoroutine(answer):
        answer.close()
    raise AgentContractError(
        "the agent is async and an event loop is already running here: call run_case from synchronous code (a plain "
        "test function, or a thread)"
    )


def _reply(answer: Any) -> AgentReply:
    if isinstance(answer, AgentReply):
        return answer
    if isinstance(answer, str):
        return AgentReply(text=answer)
    raise AgentContractError(
        f"the agent returned {type(answer).__name__}: return its answer as a str, or an AgentReply "
        "(agent_postmortem.sdk.regress) with the tools it called"
    )


def _result(case: RegressionCase, decision: Decision, runs: Iterable[list[CheckResult]] = ()) -> CaseResult:
    runs = list(runs)
    return CaseResult(
        case_id=case.id,
        incident_id=case.incident_id,
        title=case.title,
        status=decision.status,
        explanation=decision.explanation,
        runs=len(runs),
        failures=_failures(runs),
        trials=case.trials,
        rate=decision.rate,
        more_runs_needed=decision.more_runs_needed,
        failed_checks=_tally(runs, "failed"),
        not_checked=_tally(runs, "not_checked"),
    )


def _failed(checks: list[CheckResult]) -> bool:
    """A run fails when any of its checks failed."""
    return any(r.outcome == "failed" for r in checks)


def _failures(runs: list[list[CheckResult]]) -> int:
    return sum(_failed(checks) for checks in runs)


def _tally(runs: list[list[CheckResult]], outcome: str) -> list[CheckTally]:
    """Each check with `outcome` in some run, by its place in the case; what went unchecked is told only of runs that
    did not fail (a failed run's rubric is left unjudged because it failed) and by each reason."""
    tallies: dict[tuple[int, str, str], CheckTally] = {}
    for checks in runs:
        if outcome == "not_checked" and _failed(checks):
            continue
        for i, r in enumerate(checks):
            if r.outcome != outcome:
                continue
            key = (i, r.kind, r.evidence if outcome == "not_checked" else "")
            if key in tallies:
                tallies[key].runs += 1
            else:
                tallies[key] = CheckTally(kind=r.kind, value=r.value, runs=1, evidence=r.evidence)
    return list(tallies.values())
