"""The machine checks of a regression case (regression.py) on one run of the agent: what the agent answered, the
tools it called, the errors it raised or reported and how long it took. Pure: the run is made by sdk/regress.py, a
rubric is judged by regression_verdict.py's judge_rubric, and the pass rule over the runs is regression_verdict.py's."""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent_postmortem.analysis.regression import Check, CheckKind
from agent_postmortem.store.redact import cut, redact

Outcome = Literal["passed", "failed", "not_checked"]
EVIDENCE_CHARS = 200  # of the agent's answer or error quoted as evidence


class AgentReply(BaseModel):
    """What one run of the agent gave back, for the checks to read. An agent may return a plain `str` instead: that is
    its answer, with no tool calls or errors reported."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(default="", description="the agent's answer")
    tool_calls: Sequence[str] = Field(default=(), description="the names of the tools it called, in order")
    errors: Sequence[str] = Field(
        default=(),
        description="the type names of errors the run ended with that your harness caught rather than raised "
        "(a framework's result carrying its exception); a raised exception is seen without this",
    )


@dataclass(frozen=True)
class Run:
    """One run: the reply (empty when the agent raised), the exception it raised, and its wall-clock seconds."""

    reply: AgentReply
    raised: BaseException | None
    seconds: float


class CheckResult(BaseModel):
    kind: CheckKind | Literal["raised"] = Field(
        description='"raised": the agent raised an error the case does not name'
    )
    value: str | None
    outcome: Outcome
    evidence: str


# An answer that opens by declining: the classifier's refusal rules (classify.py) read reports *about* a refusal
# ("declined", "content policy") and would flag a plain answer that mentions a declined payment; these read the
# refusal itself, in its first sentences.
_REFUSAL = re.compile(
    r"\b(?:i|we)(?:\s+am|\s+are|['’]m|['’]re)?\s+(?:sorry|afraid)\b[^.!?\n]{0,60}?\b(?:can(?:no|['’])t|cannot|"
    r"unable|not able|won['’]t|will not)\b"
    r"|\b(?:i|we)\s+(?:can(?:no|['’])t|cannot|won['’]t|will not|must decline to|(?:am|are|['’]m|['’]re)\s+"
    r"(?:unable|not able)\s+to)\s+(?:help|assist|comply|provide|do that|do this|fulfil+|answer|share|complete|"
    r"process|support|continue|proceed)"
    r"|\bunable to comply\b|\bi must (?:decline|refuse)\b|\bas an ai\b[^.!?\n]{0,60}?\b(?:can(?:no|['’])t|cannot)\b",
    re.IGNORECASE,
)
REFUSAL_WINDOW = 300  # characters from the answer's start where a refusal is looked for


def refusal(text: str) -> str | None:
    """The words in which `text` refuses, if it opens with a refusal ("I'm sorry, but I can't help with that")."""
    found = _REFUSAL.search(text[:REFUSAL_WINDOW])
    return found.group(0) if found else None


def check_run(case_checks: Sequence[Check], run: Run, judge: Callable[[Check], CheckResult]) -> list[CheckResult]:
    """Every check of the case on `run`, in order, plus "raised" when the agent raised an error no check names (the
    run did not finish). A rubric goes to `judge` only when every machine check passed: a failed run is decided."""
    machine = [_machine(check, run) for check in case_checks if check.kind != "rubric"]
    if run.raised is not None and not any(r.kind == "not_raises" and r.outcome == "failed" for r in machine):
        machine.append(CheckResult(kind="raised", value=None, outcome="failed", evidence=_raised(run.raised)))
    failed = any(r.outcome == "failed" for r in machine)
    results = iter(machine)
    ordered = []
    for check in case_checks:
        if check.kind != "rubric":
            ordered.append(next(results))
        elif failed:
            ordered.append(_unchecked(check, "the run already failed a machine check"))
        else:
            ordered.append(judge(check))
    return [*ordered, *results]


def _machine(check: Check, run: Run) -> CheckResult:
    if check.kind == "not_raises":
        return _not_raises(check, run)
    if check.kind == "within_seconds":
        return _within_seconds(check, run)
    if run.raised is not None:
        return _unchecked(check, "the agent raised before answering")
    if check.kind == "not_refusal":
        said = refusal(run.reply.text)
        return _result(check, said is None, f"the answer opens with a refusal: {_quote(said)}" if said else "")
    if check.kind == "no_tool_call":
        calls = [c for c in run.reply.tool_calls if _same_tool(c, check.value)]
        return _result(check, not calls, f"called {check.value} {len(calls)}x" if calls else "")
    if check.kind == "not_contains":
        if not check.value:
            return _unchecked(check, "no text given for the answer not to contain")
        at = run.reply.text.casefold().find(check.value.casefold())
        return _result(check, at < 0, f"the answer contains it: {_quote(_around(run.reply.text, at))}")
    raise ValueError(f"no machine check of kind {check.kind!r}")


def _not_raises(check: Check, run: Run) -> CheckResult:
    named = (check.value or "").rsplit(".", 1)[-1]
    raised = run.raised is not None and named in _type_names(type(run.raised))
    reported = [e for e in run.reply.errors if e.rsplit(".", 1)[-1] == named]
    if raised and run.raised is not None:
        return _result(check, False, _raised(run.raised))
    return _result(check, not reported, f"the agent reported {reported[0]}" if reported else "")


def _within_seconds(check: Check, run: Run) -> CheckResult:
    try:
        budget = float(check.value or "")
    except ValueError:
        return _unchecked(check, f"no time budget given ({check.value!r}): set a number of seconds")
    return _result(check, run.seconds <= budget, f"the run took {run.seconds:.3g} s, over the {budget:g} s budget")


def _type_names(cls: type) -> set[str]:
    """A raised error's class and the classes it derives from, by name: a case naming `RateLimitError` matches
    `openai.RateLimitError` and a subclass of it."""
    return {c.__name__ for c in cls.__mro__ if c is not object}


def _same_tool(called: str, forbidden: str | None) -> bool:
    return bool(forbidden) and called.strip().casefold() == (forbidden or "").strip().casefold()


def _raised(e: BaseException) -> str:
    return f"raised {type(e).__name__}: {_quote(str(e))}" if str(e) else f"raised {type(e).__name__}"


def _around(text: str, at: int) -> str:
    """The answer around `at`, cut never through a secret (store/redact.py's `cut`): sliced, a key the window fell
    inside kept its start or end, which no redaction rule recognises, and was quoted in clear."""
    start = max(0, at - EVIDENCE_CHARS // 2)
    tail = cut(text, len(text) - start, keep_end=True)
    return ("…" if start else "") + cut(tail, EVIDENCE_CHARS)


def _quote(text: str) -> str:
    """Agent text as evidence: redacted (a test run's answer can hold a credential) and cut."""
    shown = redact(" ".join(text.split()))
    return shown if len(shown) <= EVIDENCE_CHARS else shown[: EVIDENCE_CHARS - 1] + "…"


def _result(check: Check, passed: bool, evidence: str) -> CheckResult:
    return CheckResult(
        kind=check.kind,
        value=check.value,
        outcome="passed" if passed else "failed",
        evidence="" if passed else evidence,
    )


def _unchecked(check: Check, why: str) -> CheckResult:
    return CheckResult(kind=check.kind, value=check.value, outcome="not_checked", evidence=why)
