"""Blameless-language checks: each rule, its spans, and its measured precision and recall."""

import pytest

from agent_postmortem.analysis.blameless import check_blameless
from agent_postmortem.evals.blameless import run


@pytest.mark.parametrize(
    ("text", "rule", "span"),
    [
        ("The outage was human error.", "human_error", "human error"),
        ("We should've pinned the model.", "counterfactual", "should've"),
        ("A careless edit removed the guard.", "judgement", "careless"),
        ("Dave forgot to renew the certificate.", "person_as_cause", "Dave forgot to"),
        ("The on-call engineer ignored the page.", "person_as_cause", "The on-call engineer ignored"),
        ("It was Priya's fault.", "blame_word", "Priya's fault"),
    ],
)
def test_each_rule_finds_its_phrase_with_the_span_and_a_rewrite(text: str, rule: str, span: str) -> None:
    [finding] = check_blameless(text).findings
    assert (finding.rule, finding.text, text[finding.start : finding.end]) == (rule, span, span)
    assert finding.suggestion


@pytest.mark.parametrize(
    "text",
    [
        "The CRM API failed to respond within 30 s.",
        "The batch job failed to acquire the lock.",
        "The guardrail missed instructions hidden in HTML.",
        "Dave rolled back the release at 14:05.",
        "The system allowed tool calls without validation.",
    ],
)
def test_systems_failing_and_people_acting_are_not_flagged(text: str) -> None:
    assert check_blameless(text).blameless


def test_precision_and_recall_on_the_labelled_sentences() -> None:
    result = run()
    assert result["development"]["precision"] >= 0.95 and result["development"]["recall"] >= 0.95
    assert result["held_out"]["precision"] >= 0.9 and result["held_out"]["recall"] >= 0.9


def test_components_that_caused_a_failure_are_not_people() -> None:
    for neutral in (
        "The outage was caused by the SDK fetch wrapper.",
        "Latency was caused by the cache eviction storm.",
        "Caused by Kafka consumer lag after the rebalance.",
    ):
        assert check_blameless(neutral).findings == [], neutral
    for blaming in ("It was caused by Dave.", "The bug was introduced by an intern."):
        assert [f.rule for f in check_blameless(blaming).findings] == ["blame_word"], blaming


def test_lazy_loading_is_a_technique_not_a_judgement() -> None:
    assert check_blameless("The lazy-loaded script and lazy loading of extensions failed.").findings == []
    assert [f.rule for f in check_blameless("The rollout was lazy.").findings] == ["judgement"]
