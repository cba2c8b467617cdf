"""A regression case's rubric, judged by a model, and the case's verdict over its runs.

The judge is typed (pass or fail with a reason); one that gives no verdict (no model, an error, late, invalid
output) leaves the rubric "not_checked", never passed or failed (evals/judge.py does the same for drafts).

The pass rule is the case's own (regression.py): a deterministic case passes when every run passes; a probabilistic
one when its runs show, with verify.py's Wilson bound at the case's confidence, a failure rate below what the case's
trials show with no failure (5% for the default 73). So its own number of runs must all pass; more runs may fail a
few times and still show it; fewer clean runs show nothing yet (`not_shown`, with the clean runs still needed). A
run in which every check went unchecked is no clean run: a case whose runs all checked nothing is `not_shown` too.
Nor is a clean run one in which the check that carries the case's behaviour (CARRIES, by category) went unchecked:
the other checks could not have failed for what the incident was about.
"""

import builtins
import functools
import importlib
import math
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent_postmortem import prompts
from agent_postmortem.analysis import verify
from agent_postmortem.analysis.regression import CONFIDENCE, Check, CheckKind, RegressionCase
from agent_postmortem.analysis.regression_checks import AgentReply, CheckResult
from agent_postmortem.analysis.wording import counted, percent
from agent_postmortem.errors import DraftError, LLMUnavailable
from agent_postmortem.llm.base import LLM
from agent_postmortem.llm.limits import TooLate, within
from agent_postmortem.store.models import Category
from agent_postmortem.store.redact import redact

Status = Literal["passed", "failed", "not_shown", "skipped"]
JUDGE_CHARS = 6000  # of the answer the judge reads


class RubricVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=3, max_length=400)]
    verdict: Literal["pass", "fail"]


def rubric_prompt(check: Check, request: str, reply: AgentReply, *, nonce: str) -> tuple[str, str]:
    """The system and user prompts asking whether the run meets the rubric; what the run said is redacted."""
    user = prompts.render(
        "judge_regression",
        requirement=check.value or check.description,
        request=redact(request),
        answer=prompts.clip(redact(reply.text), JUDGE_CHARS) or "(no answer)",
        tool_calls=list(reply.tool_calls),
        nonce=nonce,
    )
    return prompts.render("judge_regression_system", nonce=nonce), user


def judge_rubric(
    llm: LLM | None, check: Check, request: str, reply: AgentReply, *, nonce: str, time_limit: float | None
) -> CheckResult:
    """The model's verdict on one rubric for one run; `not_checked` when there is no model or no usable verdict."""

    def unchecked(why: str) -> CheckResult:
        return CheckResult(kind="rubric", value=check.value, outcome="not_checked", evidence=why)

    if llm is None:
        return unchecked("no judge model configured (docs/drafting.md says how to set one)")
    system, user = rubric_prompt(check, request, reply, nonce=nonce)

    def ask() -> RubricVerdict:
        return llm.parse(system=system, user=user, output=RubricVerdict)

    try:
        verdict = ask() if time_limit is None else within(time_limit, ask)
    except TooLate:
        return unchecked(f"the judge {llm.model} did not answer within {time_limit:g} s")
    except (DraftError, LLMUnavailable) as e:
        return unchecked(f"the judge {llm.model} gave no verdict ({str(e)[:120]})")
    except Exception as e:  # noqa: BLE001 - a judge failing otherwise (a client's own error) gives no verdict either;
        # it ended the whole `regress` run with a traceback
        return unchecked(f"the judge {llm.model} failed: {type(e).__name__}: {redact(str(e))[:120]}")
    passed = verdict.verdict == "pass"
    reason = " ".join(verdict.reason.split())
    return CheckResult(
        kind="rubric", value=check.value, outcome="passed" if passed else "failed", evidence=f"judge: {reason}"
    )


# The check that fails when the behaviour an incident was about comes back. A hallucination learnt with the label
# `HallucinatedPolicy` as its error type got `not_raises HallucinatedPolicy`, which no agent ever raises: with the
# rubric unjudged, every run was clean on it and an agent still inventing answers passed.
CARRIES: dict[Category, CheckKind] = {
    Category.LLM_HALLUCINATION: "rubric",
    Category.BUSINESS_LOGIC: "rubric",
    Category.DATA_CORRUPTION: "rubric",
    Category.TIMEOUT: "within_seconds",
    Category.PROMPT_INJECTION: "no_tool_call",
    Category.LLM_REFUSAL: "not_refusal",
    Category.TOOL_FAILURE: "not_raises",
    Category.RATE_LIMIT: "not_raises",  # the provider's error (RateLimitError) no longer ending the run
    Category.INFRASTRUCTURE: "not_raises",  # the platform's error (ConnectionRefusedError) no longer ending it
}


def carrying(case: RegressionCase) -> CheckKind | None:
    """The kind of check that carries the case's behaviour (CARRIES). `not_raises` carries it only when it names an
    exception class (`names_an_exception`); of a label (`UpstreamUnavailable`, `QuotaExceededError`), which no agent
    raises, it cannot fail, and the rubric carries the case."""
    kind = CARRIES.get(case.category)
    if kind == "not_raises" and not any(c.kind == kind and names_an_exception(c.value, case) for c in case.checks):
        return "rubric"
    return kind


def names_an_exception(name: str | None, case: RegressionCase) -> bool:
    """Whether `name` is an exception class rather than a label: one that resolves here (`exception_class`), or the
    class the incident's stack trace records raising (the case's `error_class`, regression.py). How it was spelt
    decided it before: a label ending in Error (`QuotaExceededError`) was taken for a class, and a class not so
    named (`requests.Timeout`, `httpx.ReadTimeout`) for a label."""
    name = (name or "").strip()
    recorded = case.context.get("error_class", "")
    if recorded and name and recorded.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1]:
        return True
    return exception_class(name) is not None


@functools.lru_cache(maxsize=256)
def exception_class(name: str) -> type[BaseException] | None:
    """The exception class `name` resolves to: a built-in (`TimeoutError`), or a dotted path whose module imports
    here and holds one (`httpx.ReadTimeout`, `requests.exceptions.Timeout`); None for anything else (a label, a
    module not installed). The module is imported, as the agent under test imports it."""
    parts = name.split(".")
    if not all(part.isidentifier() for part in parts):
        return None
    found: object = getattr(builtins, name, None) if len(parts) == 1 else None
    for at in range(len(parts) - 1, 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:at]))
            for part in parts[at:]:
                found = getattr(found, part)
        except ImportError:
            continue
        except (Exception, SystemExit):  # noqa: BLE001 - a module failing on import, an attribute raising: no class
            return None
        break
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def checked_nothing(case: RegressionCase, run: Sequence[CheckResult]) -> bool:
    """Whether a run that failed nothing showed nothing of the case's behaviour: the check that carries it
    (`carrying`) went unchecked in it, or, in a case without one, every check did."""
    if any(r.outcome == "failed" for r in run):
        return False
    carried = [r for r in run if r.kind == carrying(case)]
    return all(r.outcome == "not_checked" for r in carried or run)


class Decision(BaseModel):
    status: Status
    explanation: str
    rate: verify.Rate | None = Field(description="the failure rate over the runs, with its Wilson interval")
    more_runs_needed: int | None = Field(description="further clean runs that would show the rate (not_shown)")


def case_target(case: RegressionCase) -> float:
    """The failure rate a probabilistic case's runs must show they are below: what its own trials show clean."""
    return math.nextafter(verify.upper_bound(0, case.trials, CONFIDENCE), 1.0)


def decide(case: RegressionCase, failures: int, runs: int, *, unchecked: int = 0) -> Decision:
    """The case's verdict from its runs, how many of them failed and in how many of the others nothing was checked
    (every check "not checked": a rubric alone with no judge). Those runs show nothing, so they are not clean runs:
    the verdict is the other runs', and never `passed` on them alone (see the module's docstring)."""
    blank = f"nothing was checked in {unchecked} of {counted(runs, 'run')}"
    if unchecked and runs == unchecked:
        why = f"{blank}: configure a judge for the rubric or add a machine check to the case (docs/loop.md)"
        return Decision(status="not_shown", explanation=why, rate=None, more_runs_needed=None)
    decision = _decide(case, failures, runs - unchecked)
    if not unchecked:  # else its counts are of fewer runs than were made: said, whatever the verdict
        return decision
    return decision.model_copy(update={"explanation": f"{blank}; of the others, {decision.explanation}"})


def _decide(case: RegressionCase, failures: int, runs: int) -> Decision:
    rate = verify.wilson(failures, runs, CONFIDENCE)
    counts = f"{counted(failures, 'failure')} in {counted(runs, 'run')}"
    if case.determinism == "deterministic":
        if failures:
            return Decision(
                status="failed", explanation=f"{counts}: every run must pass", rate=rate, more_runs_needed=None
            )
        return Decision(status="passed", explanation=f"{counts}: every run passed", rate=rate, more_runs_needed=None)
    target = case_target(case)
    more = verify.trials_for_target(failures, runs, target, CONFIDENCE)
    bound = verify.upper_bound(failures, runs, CONFIDENCE)
    goal = f"below {verify.upper_bound(0, case.trials, CONFIDENCE):.1%} with {CONFIDENCE:.0%} confidence"
    if more is None:
        shown = f"{counts}: the failure rate is shown {goal}"
        return Decision(status="passed", explanation=shown, rate=rate, more_runs_needed=None)
    seen = f"{counts} (upper bound {percent(bound)})"
    if failures == 0:
        asked = f"{counted(more, 'more clean run')} would show it {goal}, as the case's {case.trials} do"
        return Decision(
            status="not_shown", explanation=f"{seen}: too few runs; {asked}", rate=rate, more_runs_needed=more
        )
    return Decision(
        status="failed", explanation=f"{seen}: the failure rate is not shown {goal}", rate=rate, more_runs_needed=None
    )


def skip_reasons(case: RegressionCase) -> Sequence[str]:
    """Why the case cannot run as it stands: its `todo`, else an input it lacks or that still holds a redaction
    placeholder (a run would replay the placeholder, not the data)."""
    from agent_postmortem.store.redact import PLACEHOLDER_PATTERN

    if case.todo:
        return case.todo
    reasons = [] if case.input else ["input: the case has no input to replay; add it"]
    held = [f for f in ("input", "tool_args") if PLACEHOLDER_PATTERN.search(getattr(case, f) or "")]
    if held:
        reasons.append(f"{', '.join(held)}: still holds a redaction placeholder; put test data in its place")
    return reasons
