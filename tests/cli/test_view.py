"""The human views of `postmortem show` and `actions --item`, read in an 80-column terminal."""

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
