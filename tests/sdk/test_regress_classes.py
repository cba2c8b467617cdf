"""Which cases `not_raises` carries: a rate-limit or infrastructure case naming an exception class is decided by
whether the agent raises it; one naming a label is left to its rubric (not shown without a judge)."""

from pathlib import Path

import httpx
import requests

from agent_postmortem.analysis.regression import RegressionCase
from agent_postmortem.sdk.regress import run_case
from tests import regressions
from tests.regressions import helpful


def assert_left_to_the_rubric(cases: dict[str, RegressionCase]) -> None:
    """Without a judge, a labelled case is not shown: `not_raises` of a label passes nothing."""
    for name in ("rate_limit", "infrastructure"):
        result = run_case(cases[name], helpful)
        assert (result.status, result.failures) == ("not_shown", 0), result.explain()
        assert "configure a judge" in result.explanation


def assert_carried_by_the_class(cases: dict[str, RegressionCase], errors: dict[str, type[Exception]]) -> None:
    """A case naming a class passes an agent that does not raise it and fails, on not_raises, one that does."""
    for name, error in errors.items():
        result = run_case(cases[name], helpful)
        assert result.status == "passed" and [t.kind for t in result.not_checked] == ["rubric"], result.explain()

        def failing(prompt: str, *, _error: type[Exception] = error, **context: object) -> str:
            raise _error("the call failed again")

        failed = run_case(cases[name], failing)
        assert failed.status == "failed" and [c.kind for c in failed.failed_checks] == ["not_raises"], failed.explain()


def test_a_rate_limit_or_infrastructure_case_is_carried_by_an_exception_class_else_by_its_rubric(
    tmp_path: Path,
) -> None:
    """A rate-limit or infrastructure case learnt with a label as its error type (`UpstreamUnavailable`, no class an
    agent raises) passed on `not_raises` of that label alone, with its rubric unjudged: an agent still failing on
    429s passed. The label's case is carried by its rubric (not shown without a judge); a case naming an exception
    class (`RateLimitError`) is carried by `not_raises` of it, which passes an agent that does not raise it and
    fails one that does."""
    labels = regressions.platform_incidents("ProviderThrottled", "UpstreamUnavailable")
    assert_left_to_the_rubric(regressions.learned_cases(tmp_path / "labels", labels))
    classes = regressions.platform_incidents("RateLimitError", "ConnectionRefusedError", raised_from="openai")
    rate_limit_error = type("RateLimitError", (Exception,), {})  # as openai's is named
    assert_carried_by_the_class(
        regressions.learned_cases(tmp_path / "classes", classes),
        {"rate_limit": rate_limit_error, "infrastructure": ConnectionRefusedError},
    )


def test_not_raises_names_a_class_when_it_resolves_or_the_incident_recorded_raising_it_else_a_label(
    tmp_path: Path,
) -> None:
    """Whether `not_raises` named a class was read from its spelling: the seed's rate-limit label
    `QuotaExceededError` (ends in Error, no class anywhere, no stack trace) passed its case on not_raises alone with
    the rubric unjudged, and `httpx.ReadTimeout` or `requests.Timeout`, classes an agent does raise, were taken for
    labels. A name is a class when it imports to one here (a built-in, a dotted path) or when the incident's stack
    trace records it raised; anything else is a label, and the rubric carries its case."""
    labels = regressions.platform_incidents("QuotaExceededError", "acme_gateway.errors.GatewayError")
    assert_left_to_the_rubric(regressions.learned_cases(tmp_path / "labels", labels))
    dotted = regressions.platform_incidents("requests.Timeout", "httpx.ReadTimeout")
    assert_carried_by_the_class(
        regressions.learned_cases(tmp_path / "dotted", dotted),
        {"rate_limit": requests.Timeout, "infrastructure": httpx.ReadTimeout},
    )
