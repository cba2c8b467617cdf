"""`postmortem patterns` and `effectiveness` past their limit: on 2,779 AIID incidents they showed the largest 20
and 50 of 141 patterns without a word, and had no --limit to see the others (the JSON said "raise limit")."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app

FAILURES = [
    ("Planner agent timed out calling flights search", "trip-planner", "TimeoutError", "read timed out"),
    ("Refund agent double charged a card on retry", "refunds", "DuplicateCharge", "charge created twice"),
    ("Support bot quoted a refund window that does not exist", "helpdesk", "PolicyMismatch", "90 day window"),
]


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object) -> CliRunner:
    """Three patterns of two: each failure twice (same signature), the first resolved in between."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()
    number = 0
    for title, agent, error_type, message in FAILURES:
        for _ in range(2):
            fields = ["--agent", agent, "--error-type", error_type, "--error-message", message]
            assert runner.invoke(app, ["capture", "--title", title, *fields]).exit_code == 0
            number += 1
            assert runner.invoke(app, ["resolve", f"INC-{number}"]).exit_code == 0
    return runner


@pytest.mark.parametrize("command", ["patterns", "effectiveness"])
def test_a_cut_list_of_patterns_says_so_and_limit_shows_the_rest(runner: CliRunner, command: str) -> None:
    cut = runner.invoke(app, [command, "--min-size", "2", "--limit", "2"])
    assert cut.exit_code == 0, cut.output
    assert sum(f"PAT-{n}" in cut.stdout for n in (1, 3, 5)) == 2
    assert "more patterns (3 in all): --limit shows more" in cut.stderr
    whole = runner.invoke(app, [command, "--min-size", "2", "--limit", "3"])
    assert all(f"PAT-{n}" in whole.stdout for n in (1, 3, 5)) and "more patterns" not in whole.stderr
    assert runner.invoke(app, [command, "--limit", "0"]).exit_code == 2


def test_the_open_items_of_a_pattern_are_counted_past_the_ten_listed(runner: CliRunner) -> None:
    """The table's "open items" was the length of the list of open items, which stops at 10: a pattern with 11
    unfinished items showed 10, while `actions --stats` counted 11."""
    for n in range(12):
        assert runner.invoke(app, ["actions", "--incident", "INC-1", "--add", f"Follow-up {n}"]).exit_code == 0
    assert runner.invoke(app, ["actions", "--item", "AI-1", "--set-status", "completed"]).exit_code == 0
    found = json.loads(runner.invoke(app, ["patterns", "--min-size", "2", "--json"]).stdout)
    pattern = next(p for p in found["patterns"] if p["id"] == "PAT-1")
    assert (len(pattern["open_action_items"]), pattern["open_items"]) == (10, 11)
    shown = runner.invoke(app, ["patterns", "--min-size", "2"], env={"COLUMNS": "200"}).stdout
    row = next(line for line in shown.splitlines() if "PAT-1 " in line)
    assert [cell.strip() for cell in row.split("│")][4] == "11", row


def test_a_pattern_of_more_than_eight_incidents_says_how_many_the_table_leaves_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """The table listed a pattern's first eight incidents and dropped the rest without a word: a pattern of size 9
    showed eight ids, and the ninth incident could not be found from it."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()
    title, agent, error_type, message = FAILURES[0]
    for number in range(1, 11):
        fields = ["--agent", agent, "--error-type", error_type, "--error-message", message]
        assert runner.invoke(app, ["capture", "--title", title, *fields]).exit_code == 0
        assert runner.invoke(app, ["resolve", f"INC-{number}"]).exit_code == 0
    found = json.loads(runner.invoke(app, ["patterns", "--json"]).stdout)["patterns"]
    assert [p["size"] for p in found] == [10]
    shown = runner.invoke(app, ["patterns"], env={"COLUMNS": "200"}).stdout
    listed = [i for i in found[0]["incident_ids"] if f"{i}," in shown or f"{i} " in shown]
    assert len(listed) == 8 and "(+2 more:" in shown, shown  # the cell may wrap at a narrow terminal
