"""The human views of `postmortem show` and `actions --item`, read in an 80-column terminal."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app


def test_a_due_date_changed_reads_whole_in_the_history_at_80_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """The history showed a due date as stored, '2026-12-01T23:59:59+00:00', which 80 columns cut to
    '2026-12-01T23:59:5…': which day the item was moved from and to could not be read."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()
    assert (
        runner.invoke(app, ["capture", "--title", "Support bot quoted a refund window that does not exist"]).exit_code
        == 0
    )
    title = "Answer refund questions from the published policy"
    assert runner.invoke(app, ["actions", "--incident", "INC-1", "--add", title, "--due", "2026-12-01"]).exit_code == 0
    moved = runner.invoke(
        app, ["actions", "--item", "AI-1", "--due", "2026-12-09T14:30:00+02:00"], env={"COLUMNS": "80"}
    )
    assert moved.exit_code == 0, moved.output
    row = next(line for line in moved.stdout.splitlines() if "due_at" in line)
    assert "2026-12-01" in row and "2026-12-09 12:30 UTC" in row and "…" not in row, moved.stdout


def test_a_long_why_wraps_under_its_own_text_at_80_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """`show` wrapped a why's answer and a factor back to the left edge in 80 columns, so the fourth why's second line
    sat under its number and the whys read as one block of text."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    answer = "The chatbot said a bereavement refund could be requested within 90 days after the ticket was issued."
    whys = [{"question": f"Why {n}?", "answer": answer} for n in range(1, 4)]
    factor = {"factor": "The chatbot's answer and the policy page it linked to disagreed", "effect": answer}
    record = {
        "title": "Support chatbot gave a wrong bereavement fare policy",
        "analysis": {"root_cause": "Policy answers were not grounded in the policy.", "whys": whys},
    }
    record["analysis"]["contributing_factors"] = [factor]  # type: ignore[index]
    (tmp_path / "past.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["import", str(tmp_path / "past.jsonl")]).exit_code == 0
    shown = runner.invoke(app, ["show", "INC-1"], env={"COLUMNS": "80"}).stdout.splitlines()
    start = next(n for n, text in enumerate(shown) if text.startswith("  1. Why 1?"))
    block = shown[start : next(n for n, text in enumerate(shown) if text.startswith("  factor: ")) + 3]
    wrapped = [text for text in block if not text.startswith(("  1.", "  2.", "  3.", "  factor: "))]
    assert len(wrapped) >= 6 and all(text.startswith("     ") for text in wrapped), "\n".join(block)
