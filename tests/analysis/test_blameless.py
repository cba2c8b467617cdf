"""Blameless-language checks: each rule, its spans, and its measured precision and recall."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent_postmortem.analysis.blame_rewrite import SystemicRewrite
from agent_postmortem.analysis.blameless import check_blameless
from agent_postmortem.evals.blameless import SEALED, SETS, UNSCORED, run, split_errors


@pytest.mark.parametrize(
    ("text", "rule", "span"),
    [
        ("The outage was human error.", "human_error", "human error"),
        ("We should've pinned the model.", "person_as_cause", "We should've"),
        ("A careless edit removed the guard.", "judgement", "careless"),
        ("Dave forgot to renew the certificate.", "person_as_cause", "Dave forgot"),
        ("The on-call engineer ignored the page.", "person_as_cause", "The on-call engineer ignored"),
        ("It was Priya's fault.", "possessive", "Priya's fault"),
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


@pytest.mark.parametrize(
    "text",
    [
        "Human error is never the root cause of an outage.",  # a statement about blame as a concept
        "'Operator error' is the most common root cause, and the laziest one.",
        'We stopped writing "human error" in our reviews.',
        "Nobody should have been fired over the outage.",  # about the consequence, not a failure
        "This was not incompetence.",  # negated
        "The ability to push that change is an organisational problem, not an engineer's mistake.",
        "They were pushed to main directly by mistake, as the protection rule did not apply.",  # a passive's patient
        "The records of 2,000 customers were accidentally posted to a public page.",
        "Restoring the accidentally deleted items during the release.",
        "My first reaction was to blame myself.",
        "With Latest Version This Broke The Build",  # a title-cased heading has no names
        "Reliability engineering exists to make individual error survivable.",
        "You've clearly never worked anywhere that sends a lot of email.",
        "The deploy pipeline took down production.",  # systems failing, with the new verbs
        "The cron job wiped the cache and crashed the worker.",
        "The incident was resolved when networking engineers updated the firmware on the switches.",
        "The storm knocked over a pole and the cable was unplugged by the fall.",
        # found in public postmortems written to be blameless: a capitalised word heading a noun phrase, a promise
        # made in public, an action done well, a role word naming a record, a subject in the list item before
        "Rate limiting implementation didn't account for load balancer architecture",
        "Downstream actions were delayed and should have been automatically corrected as the backlog was processed.",
        "Clear communication if merges breaks the master branch ability to release hotfixes.",
        "We provided regular engineer-led status updates and committed to a public post-mortem.",
        "We successfully migrated to a new Persons table using triggers and backfill while the system remained "
        "live, minimizing additional downtime.",
        "The flag evaluation service kept running, but flags that relied on person properties would have had delays.",
        "- Lack of testing, evaluation and experience with GitOps and Flux\n- Did not disable the pipeline in time",
    ],
)
def test_statements_about_blame_negations_and_passives_are_not_flagged(text: str) -> None:
    assert check_blameless(text).blameless, check_blameless(text).findings


@pytest.mark.parametrize(
    "text",
    [
        "I've made a mistake and pushed it all to main.",  # a contraction after the person
        "Build is broken because @alice commits: 3410ff4 and b3b8600.",  # an @mention's commits as the cause
        "@bob accidentally pushed a commit to main.",
        "It was because someone on the platform team added a firewall rule to prod.",  # a person in a because-clause
        "Sorry, shouldn't have removed it.",  # self-blame without a subject
        "Must have done something wrong.",
        "My code brought the site down.",  # a person's change as the cause
        "One of my commits caused a regression.",
        "Recent changes I made seem to have broken the build.",
        "My instructions weren't precise enough.",
        "I took down production for an hour.",  # a damaging verb needs no blame verb
        "These people did not test what they wrote.",
        "On-call engineer missed the page for 20 minutes.",  # a bare role heading a sentence
        "By mistake, I have made commits to the main repo.",
        "I should have double checked.",
        "Regrets and apologies for the f**k up.",
        "I fixed my oopsie.",
        "Unintentionally one of the team members force-pushed over the release branch.",
        "Long story short, I had somehow kicked loose the power cable of the main server.",  # physical damage
        "I walked over to see he has unplugged the core switch.",
        "Road construction crews unintentionally damage buried fiber every week.",  # a bare plural role
        "In reality this happens because several people mess something up.",
        "My manager's push for early releases is ruining our test runs.",
        "They decided to merge and deploy without coordinating with the other teams.",
    ],
)
def test_self_blame_changes_mentions_and_subordinate_people_are_found(text: str) -> None:
    assert not check_blameless(text).blameless


def test_precision_and_recall_on_the_labelled_sentences() -> None:
    kept = (*SEALED, *UNSCORED)  # a sealed or unscored set: once, by hand
    result = run({name: where for name, where in SETS.items() if name not in kept})
    for name, recall in (
        ("train", 0.95),
        ("dev", 0.95),
        ("external_dev", 0.9),
        ("external_test3", 0.85),  # development data since they were looked at: in sample, kept from regressing
        ("external_test4", 0.85),
        ("external_test5", 0.85),
    ):  # their misses: docs/blameless.md
        figures = result[name]["rules"]
        assert figures["precision"]["value"] >= 0.95 and figures["recall"]["value"] >= recall, (name, figures)
    assert result["regression"]["rules"]["errors"] == []
    assert "development data" in result["external_test2"]["status"] and result["external_test2"]["sentences"] >= 60
    assert "development data" in result["external_test3"]["status"] and result["external_test3"]["sentences"] >= 80
    assert "development data" in result["external_test4"]["status"] and result["external_test4"]["sentences"] >= 100
    assert "development data" in result["external_test5"]["status"] and result["external_test5"]["sentences"] >= 120
    assert "looked at four times" in result["external_test"]["status"]
    assert split_errors() == []  # no source on both sides, each on the side its hash gives
    assert result["regression"]["legacy_rules"]["errors"]  # the rules before #18 missed these


@pytest.mark.parametrize(
    ("sentence", "rewrite"),
    [
        ("Dana deployed the migration without reading it",
         "The migration was deployed without a required review step."),
        ("QA missed the regression because they didn't run the suite",
         "The regression was not caught: running the suite was not an enforced step."),
        ("Lee's change broke the booking flow",
         "A change broke the booking flow; no review or test caught it before it shipped."),
        ("The intern ran the script against prod by mistake",
         "The script was run against prod; nothing in the process stopped or caught it before it took effect."),
        ("The intern deleted the production table.",
         "The production table was deleted; nothing in the process stopped or caught it before it took effect."),
        ("QA didn't test it properly.", "It was not tested properly, and no step or check in the process required it."),
        ("Priya pushed the config without review and broke the agent.",
         "The config was pushed without a required review step and broke the agent."),
    ],
)  # fmt: skip
def test_the_issues_missed_sentences_are_found_and_rewritten_into_systemic_ones(sentence: str, rewrite: str) -> None:
    finding = check_blameless(sentence).findings[0]
    assert finding.suggestion == rewrite and finding.rewritten_by == "rules"
    assert check_blameless(finding.suggestion).blameless


def test_a_configured_llm_rewrites_and_an_invalid_answer_falls_back_to_the_rules(fake_llm: Any) -> None:
    fake_llm.enqueue(SystemicRewrite(rewrite="Migrations could be deployed without a required review step."))
    [finding] = check_blameless("Dana deployed the migration without reading it", llm=fake_llm).findings
    assert finding.rewritten_by == "llm" and finding.suggestion.startswith("Migrations could be deployed")
    assert "Dana deployed" in fake_llm.calls[0][1] and "<DATA-0>" in fake_llm.calls[0][1]
    fake_llm.enqueue(SystemicRewrite(rewrite="Dana forgot to read the migration before deploying it."))
    [finding] = check_blameless("Dana deployed the migration without reading it", llm=fake_llm).findings
    assert finding.rewritten_by == "rules"  # the model's answer still blamed a person
    fake_llm.enqueue(RuntimeError("model down"))
    [finding] = check_blameless("Dana deployed the migration without reading it", llm=fake_llm).findings
    assert finding.suggestion == "The migration was deployed without a required review step."


def test_a_source_on_both_sides_or_off_its_hash_is_a_split_error(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"text": "a", "blaming": true, "source": "web:a.example", "split": "dev"}\n'
        '{"text": "b", "blaming": true, "source": "web:a.example", "split": "test2"}\n',
        encoding="utf-8",
    )
    assert split_errors(path) == ["web:a.example: on ['dev', 'test2']"]
    path.write_text(
        '{"text": "a", "blaming": true, "source": "web:a.example", "split": "test3"}\n'
        '{"text": "b", "blaming": true, "source": "web:b.example", "split": "test3"}\n'
        '{"text": "c", "blaming": true, "source": "web:b.example", "split": "dev"}\n',
        encoding="utf-8",
    )
    assert split_errors(path) == ["web:b.example: on ['dev', 'test3']"]  # a fresh source is wholly on test3
    path.write_text(
        '{"text": "a", "blaming": true, "source": "web:a.example", "split": "test4"}\n'
        '{"text": "b", "blaming": true, "source": "web:b.example", "split": "test4"}\n'
        '{"text": "c", "blaming": true, "source": "web:b.example", "split": "test3"}\n',
        encoding="utf-8",
    )
    assert split_errors(path) == ["web:b.example: on ['test3', 'test4']"]  # and on test4
    path.write_text(
        '{"text": "a", "blaming": true, "source": "web:a.example", "split": "test9"}\n'
        '{"text": "b", "blaming": false, "source": "web:a.example", "split": "test9"}\n',
        encoding="utf-8",
    )
    assert split_errors(path) == []  # a fresh source wholly on test9 is on its side


def test_bench_blameless_reports_held_out_figures_next_to_the_legacy_rules(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"text": "Lee\'s change broke the booking flow", "blaming": true, "split": "test"}\n'
        '{"text": "The SDK forgot to close the connection.", "blaming": false, "split": "test"}\n'
        '{"text": "QA didn\'t test it properly.", "blaming": true, "split": "dev"}\n',
        encoding="utf-8",
    )
    result = run({"held_out": (path, "test")})["held_out"]
    assert result["sentences"] == 2 and result["rules"]["recall"]["value"] == 1.0
    assert result["rules"]["precision"]["value"] == 1.0 and result["legacy_rules"]["recall"]["value"] == 0.0
    with_reader = run({"held_out": (path, "test")}, reader=_Unsure())["held_out"]
    assert with_reader["reader_and_rules"]["recall"]["value"] == 1.0  # above its veto, the rules' findings stand


class _Unsure:
    """A reader that is never sure either way."""

    veto = 0.1

    def probabilities(self, sentences: list[str]) -> np.ndarray:
        return np.full(len(sentences), 0.4)

    def decide(self, probability: float, *, rule_found: bool) -> bool:
        return probability >= (self.veto if rule_found else 0.9)


def test_components_that_caused_a_failure_are_not_people() -> None:
    for neutral in (
        "The outage was caused by the SDK fetch wrapper.",
        "Latency was caused by the cache eviction storm.",
        "Caused by Kafka consumer lag after the rebalance.",
    ):
        assert check_blameless(neutral).findings == [], neutral
    for blaming in ("It was caused by Dave.", "The bug was introduced by an intern."):
        assert [f.rule for f in check_blameless(blaming).findings] == ["person_as_agent"], blaming


def test_workers_and_operators_that_are_software_are_not_people() -> None:
    for neutral in (  # 33_percale's reference root cause was refused by the draft guard for its "agent workers"
        "A signal that I/O-bound agent workers never raise because they spend their time waiting on tool calls.",
        "Celery workers never acknowledged the task.",
        "The Kubernetes operators never reconciled the deployment.",
    ):
        assert check_blameless(neutral).findings == [], neutral
    for blaming in (
        "Operators ignored the alert and broke the build.",
        "Night-shift workers skipped the check and broke the line.",
    ):
        assert [f.rule for f in check_blameless(blaming).findings] == ["person_as_cause"], blaming


def test_lazy_loading_is_a_technique_not_a_judgement() -> None:
    assert check_blameless("The lazy-loaded script and lazy loading of extensions failed.").findings == []
    assert [f.rule for f in check_blameless("The rollout was lazy.").findings] == ["judgement"]


def test_a_draft_is_read_as_prose_code_fences_tags_and_table_bars_left_out_offsets_kept() -> None:
    """Rewrites were built from a whole table row or an HTML line ("The certificate | was not renewed ...",
    "Prod</p> was broken ...") and a comment inside fenced code was flagged as blame."""
    text = (
        "| time | what |\n|---|---|\n| 10:02 | The on-call engineer forgot to renew the certificate |\n\n"
        "<p>Bob broke prod</p>\n\n```\n# Dana forgot to run the tests\ngit push --force\n```\n"
    )
    findings = check_blameless(text).findings
    assert [text[f.start : f.end] for f in findings] == ["The on-call engineer forgot", "Bob broke"]
    assert [f.suggestion for f in findings] == [
        "The certificate was not renewed, and no step or check in the process required it.",
        "Prod was broken; nothing in the process stopped or caught it before it took effect.",
    ]


def test_a_finding_in_a_wrapped_paragraph_is_the_sentence_as_read_with_the_documents_offsets() -> None:
    text = "# Review\nDana deployed the migration without\nreading it, so the orders table broke.\n"
    (finding,) = check_blameless(text).findings
    assert finding.text == "Dana deployed the migration without reading"
    assert text[finding.start : finding.end] == "Dana deployed the migration without\nreading"


GHP = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5b"
AWS = "AKIAIOSFODNN7EXAMPLE"


def test_secrets_before_and_inside_a_blaming_sentence_are_read_redacted_and_offsets_stay_the_texts(
    fake_llm: Any,
) -> None:
    """Redacted twice (each finding after the check; each sentence before the model read it), a finding's start and
    end were the rules' reading of the raw text: now the text is redacted once, up front, and offsets mapped back."""
    fake_llm.enqueue(SystemicRewrite(rewrite="Tokens could reach production with no check that they were meant to."))
    text = f"Key {AWS} was set.\r\n\u200bThen Dana pushed {GHP} to prod by mistake."
    [finding] = check_blameless(text, llm=fake_llm).findings
    assert text[finding.start : finding.end] == f"Dana pushed {GHP} to prod by mistake"
    assert finding.text == "Dana pushed [REDACTED:github_token] to prod by mistake"
    assert finding.rewritten_by == "llm"
    prompt = fake_llm.calls[0][0] + fake_llm.calls[0][1]
    for secret in (GHP, AWS, GHP[4:20]):
        assert all(secret not in value for value in (finding.text, finding.suggestion, prompt))


def test_a_blaming_sentence_is_found_through_markup_escapes_and_a_redacted_token() -> None:
    """Markup noise ([/bold], a Mermaid directive, colour escapes around a token) cut the clause: nothing was found
    where the plain sentence is."""
    text = f"Dana [/bold] pushed \x1b[31m{GHP}\x1b[0m %%{{init: {{}}}}%% to prod by mistake."
    [finding] = check_blameless(text).findings
    assert finding.rule == check_blameless("Dana pushed the config to prod by mistake.").findings[0].rule
    assert (finding.start, text[finding.end :]) == (0, ".")
    assert finding.text == "Dana pushed [REDACTED:github_token] to prod by mistake"  # as read: the markup left out
    assert GHP not in finding.suggestion
