"""`postmortem bench blame-documents`: the blameless check calls a sentence the same inside a document as alone."""

import json

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from agent_postmortem.evals import blame_documents
from agent_postmortem.evals.blameless import SETS, UNSCORED, load

ROWS = [
    {"text": "Forgot to renew the domain.", "blaming": True},
    {"text": "By mistake, I have made commits to the main repo.", "blaming": True},
    {
        "text": "Dana deployed the migration to production without reading it or asking anyone to review it.",
        "blaming": True,
    },
    {"text": "The retry loop failed because the upstream API timed out and the agent gave up.", "blaming": False},
]


def test_the_unscored_sets_are_left_out_of_the_sentences() -> None:
    texts = {row["text"] for row in blame_documents.sentences()}
    for name in UNSCORED:
        path, split = SETS[name]
        held = {row["text"] for row in load(path, split)}
        assert held and not texts & held, name


def test_no_sentence_is_called_differently_under_a_heading_in_a_list_a_table_or_wrapped() -> None:
    """Under a heading, in a list item, a table cell or a plain list, a sentence the rules find alone was missed
    (they read it as the heading's continuation), and a wrapped one was cut at every line."""
    result = blame_documents.run(ROWS)
    assert result["sentences"] == len(ROWS)
    assert {shape: figures["changed"] for shape, figures in result.items() if shape != "sentences"} == dict.fromkeys(
        blame_documents.SHAPES, 0
    )


def test_a_change_is_counted_as_a_blaming_sentence_lost() -> None:
    def only_alone(text: str) -> object:  # a check that finds blame only in a sentence standing alone
        from agent_postmortem.analysis.blameless import BlamelessReport, Finding

        found = "\n" not in text
        findings = [Finding(start=0, end=len(text), text=text, rule="r", suggestion="s")] if found else []
        return BlamelessReport(blameless=not found, findings=findings)

    result = blame_documents.run(ROWS[:1], check=only_alone)  # type: ignore[arg-type]
    assert result["under a heading"] == {"changed": 1, "blaming_lost": 1, "not_blaming_gained": 0}


def test_the_bench_prints_its_figures_for_the_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blame_documents, "sentences", lambda sample=None, seed=7: ROWS)
    shown = CliRunner().invoke(app, ["bench", "blame-documents", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["rules"]["wrapped at 40 columns"]["changed"] == 0
