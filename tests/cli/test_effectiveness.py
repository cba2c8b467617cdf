"""`postmortem effectiveness`: with no recurring pattern to measure, a pattern in progress, a short window, a fix with
no completion date, and at 80 columns."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from tests.processes import postmortem


def test_effectiveness_with_nothing_to_measure_says_so_instead_of_a_zero_summary(tmp_path: Path) -> None:
    """On a new home `effectiveness` printed "holding 0 · recurred after fix 0 · in progress 0 · no items 0" on stdout,
    as though fixes had been measured; it now says, as `patterns` does, that there is nothing to measure and how a
    pattern comes to be measured, on stderr, exit 0."""
    fresh = postmortem("effectiveness", home=tmp_path / "new")
    said = " ".join(fresh.stderr.decode().split())
    assert fresh.returncode == 0 and fresh.stdout == b"", fresh.stdout
    assert "nothing to measure yet: no recurring pattern (3 or more incidents that are the same failure)" in said
    assert "postmortem actions --incident INC-n --add TITLE" in said and "--set-status completed" in said
    assert "holding 0" not in said
    assert not (tmp_path / "new").exists()


def test_effectiveness_does_not_call_a_pattern_in_progress_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """A pattern with 1 of 2 items done showed 'fixed on <date>' beside 'in progress: 1 of 2 items completed'."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()
    same = ["--agent", "eks-pipeline", "--tool", "terraform", "--error-message", "HTTP 503 from ALB"]
    assert runner.invoke(app, ["capture", "--title", "All services returning 503", *same]).exit_code == 0
    for title in ("Create ingress test suite", "Revert the de-registration delay"):
        assert runner.invoke(app, ["actions", "--incident", "INC-1", "--add", title]).exit_code == 0
    assert runner.invoke(app, ["actions", "--item", "AI-1", "--set-status", "completed"]).exit_code == 0
    assert runner.invoke(app, ["resolve", "INC-1"]).exit_code == 0
    assert runner.invoke(app, ["capture", "--title", "All services returning 503 again", *same]).exit_code == 0
    # the table in a process of its own: the in-process console took its width when first imported, by any test
    shown = postmortem("effectiveness", "--min-size", "2", home=tmp_path).stdout.decode()
    assert "in progress: 1 of 2 items completed" in shown
    assert "fixed on" not in shown and "last item closed" in shown


def test_effectiveness_at_80_columns_breaks_no_word_id_or_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """At 80 columns the seven-column table squeezed each column to a few characters: the label read "infrastr…",
    "eks-pipe…", the date "2026-12-…", and the verdict ran a word to a line."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()
    same = ["--agent", "eks-pipeline", "--tool", "terraform", "--error-message", "HTTP 503 from ALB"]
    assert runner.invoke(app, ["capture", "--title", "All services returning 503 in Kubernetes", *same]).exit_code == 0
    for title in ("Create ingress test suite", "Revert the de-registration delay"):
        assert runner.invoke(app, ["actions", "--incident", "INC-1", "--add", title]).exit_code == 0
    for item in ("AI-1", "AI-2"):
        assert runner.invoke(app, ["actions", "--item", item, "--set-status", "completed"]).exit_code == 0
    assert runner.invoke(app, ["resolve", "INC-1"]).exit_code == 0
    assert runner.invoke(app, ["capture", "--title", "All services returning 503 again", *same]).exit_code == 0
    [pattern] = json.loads(runner.invoke(app, ["effectiveness", "--min-size", "2", "--json"]).stdout)["patterns"]
    shown = postmortem("effectiveness", "--min-size", "2", home=tmp_path, env={"COLUMNS": "80"})
    text = shown.stdout.decode()
    assert shown.returncode == 0 and "…" not in text
    assert max(len(row) for row in text.splitlines()) <= 80
    words = " ".join(text.split())  # a word broken across lines, or cut, is not found whole
    for whole in (pattern["pattern_id"], pattern["label"], pattern["verdict"], pattern["last_closed_at"][:10]):
        assert whole in words, (whole, text)
    assert "last item closed" in words and "2/2" in words


def test_effectiveness_gives_a_short_window_its_count_not_a_rate_per_30_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """One incident minutes before the fix showed "per 30 d 30.0 before": a window of minutes extrapolated to a
    month. Under 7 days the rate is null with a reason, and the count and window are shown instead."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()
    same = ["--agent", "eks-pipeline", "--tool", "terraform", "--error-message", "HTTP 503 from ALB"]
    assert runner.invoke(app, ["capture", "--title", "All services returning 503", *same]).exit_code == 0
    assert runner.invoke(app, ["actions", "--incident", "INC-1", "--add", "Revert the delay"]).exit_code == 0
    assert runner.invoke(app, ["actions", "--item", "AI-1", "--set-status", "completed"]).exit_code == 0
    assert runner.invoke(app, ["resolve", "INC-1"]).exit_code == 0
    assert runner.invoke(app, ["capture", "--title", "All services returning 503 again", *same]).exit_code == 0
    [pattern] = json.loads(runner.invoke(app, ["effectiveness", "--min-size", "2", "--json"]).stdout)["patterns"]
    assert pattern["per_30_days_before"] is None and pattern["per_30_days_after"] is None
    assert pattern["rate_note"].startswith("before the fix 1 incident in ")
    assert "; after the fix 1 incident in " in pattern["rate_note"] and "too short a window" in pattern["rate_note"]
    for columns in ("80", "200"):
        shown = postmortem("effectiveness", "--min-size", "2", home=tmp_path, env={"COLUMNS": columns})
        words = " ".join(shown.stdout.decode().split())
        assert "30.0" not in words and "1 in under 1 min / 1 in under 1 min" in words, words


def test_an_item_imported_completed_without_a_date_dates_no_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """An item imported as completed with no `completed_at` was dated at its incident's creation: `actions --item`
    had it done three hours before the incident was resolved, and `effectiveness` said "recurred after the fix … last
    item closed 2021-06-22" though when the fix landed is not known. It is now completed on a date not recorded."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    same = {"agent": "eks-pipeline", "tool": "terraform", "error_message": "HTTP 503 from ALB", "status": "resolved"}
    first = {"title": "All services returning 503 in Kubernetes", "created_at": "2021-06-22T09:00:00Z", **same}
    item = {"title": "Revert the de-registration delay", "status": "completed"}
    rows = [
        {**first, "resolved_at": "2021-06-22T12:00:00Z", "action_items": [item]},
        {**first, "title": "All services returning 503 in Kubernetes again", "created_at": "2021-06-25T09:00:00Z"},
    ]
    path = tmp_path / "past.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["import", str(path)]).exit_code == 0
    assert json.loads(runner.invoke(app, ["actions", "--item", "AI-1", "--json"]).stdout)["completed_at"] is None
    assert "completed, date unknown" in runner.invoke(app, ["actions", "--item", "AI-1"]).stdout
    report = json.loads(runner.invoke(app, ["effectiveness", "--min-size", "2", "--json"]).stdout)
    [pattern] = report["patterns"]
    assert (pattern["completed"], pattern["undated"], pattern["last_closed_at"]) == (1, 1, None)
    assert (pattern["incidents_after"], pattern["seen_again_after"]) == (0, 0)
    assert (report["holding"], report["recurred"], report["fix_date_unknown"]) == (0, 0, 1)
    shown = " ".join(postmortem("effectiveness", "--min-size", "2", home=tmp_path).stdout.decode().split())
    assert "recurred after the fix" not in shown and "2021-06-22" not in shown
    assert "fixed; completion date unknown for 1 item: recurrence after the fix cannot be told" in shown
    assert "fix date unknown 1" in shown
