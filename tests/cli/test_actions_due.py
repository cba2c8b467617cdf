"""`postmortem actions` and due dates: a due date taken off, one that is no date refused, one in the past kept and
said to be overdue already."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from tests.processes import postmortem


def test_an_empty_due_date_takes_the_date_off_an_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """`--item AI-1 --due ""` failed with pydantic's "Input should be a valid datetime or date, input is too short"
    (exit 2): no interface could take a due date off."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()
    assert runner.invoke(app, ["capture", "--title", "Fares API returned 429"]).exit_code == 0
    added = runner.invoke(app, ["actions", "--incident", "INC-1", "--add", "Add backoff", "--due", "2026-12-15"])
    assert added.exit_code == 0
    done = runner.invoke(app, ["actions", "--item", "AI-1", "--due", "", "--by", "lee", "--json"])
    assert done.exit_code == 0, done.output
    item = json.loads(done.stdout)
    last = item["history"][-1]
    assert item["due_at"] is None and (last["field"], last["old"], last["new"], last["by"]) == (
        "due_at",
        "2026-12-15T23:59:59+00:00",
        None,
        "lee",
    )
    again = json.loads(runner.invoke(app, ["actions", "--item", "AI-1", "--due", "", "--json"]).stdout)
    assert again["history"] == item["history"]  # no date already: nothing recorded
    alone = runner.invoke(app, ["actions", "--due", ""])
    assert alone.exit_code == 2 and "give the item to change" in alone.stderr


def test_a_due_date_that_is_no_date_is_refused_saying_what_a_due_date_is(tmp_path: Path, embedder: object) -> None:
    """`--due tomorrow` answered pydantic's "Input should be a valid datetime or date, input is too short", which
    says neither the format nor an example (MCP's due_at already said both)."""
    assert postmortem("capture", "--title", "Fares API returned 429", home=tmp_path).returncode == 0
    added = postmortem("actions", "--incident", "INC-1", "--add", "Add backoff", "--due", "next week", home=tmp_path)
    assert postmortem("actions", "--incident", "INC-1", "--add", "Add backoff", home=tmp_path).returncode == 0
    changed = postmortem("actions", "--item", "AI-1", "--due", "tomorrow", home=tmp_path)
    for done in (added, changed):
        assert done.returncode == 2 and done.stdout == b""
        assert done.stderr.decode().strip() == (
            "error: invalid input: --due: expected an ISO 8601 day (2026-12-15) or time (2026-12-15T10:00:00Z)"
        )
    month = postmortem("actions", "--item", "AI-1", "--due", "2026-13-01", home=tmp_path)
    said = month.stderr.decode().strip()
    assert said == "error: invalid input: --due: no such month: a month is 01 to 12"  # its own sentence


def test_an_item_added_with_a_due_date_past_is_kept_and_said_to_be_overdue_already(tmp_path: Path) -> None:
    """`--add ... --due 2026-12-01` after that day made an item overdue at once without a word. It is kept (a
    follow-up recorded late is still one), and stderr says the due date is past; a due date to come says nothing."""
    assert postmortem("capture", "Fares API returned 429", home=tmp_path).returncode == 0
    late = postmortem("actions", "--incident", "INC-1", "--add", "Add backoff", "--due", "2020-01-15", home=tmp_path)
    soon = postmortem("actions", "--incident", "INC-1", "--add", "Cap retries", "--due", "2099-01-15", home=tmp_path)
    assert late.returncode == 0 and soon.returncode == 0, late.stderr
    said = "note: the due date 2020-01-15 is in the past: AI-1 is overdue already\n"
    assert late.stderr.decode() == said and "AI-1" in late.stdout.decode()
    assert "past" not in soon.stderr.decode()
    overdue = postmortem("actions", "--overdue", "--json", home=tmp_path)
    assert [i["id"] for i in json.loads(overdue.stdout)["items"]] == ["AI-1"]


def test_an_item_whose_due_date_is_moved_into_the_past_is_said_to_be_overdue_already(tmp_path: Path) -> None:
    """`--item AI-1 --due 2020-01-15` made an item overdue at once without the word `--add` says with that date.
    Now it is said the same way; a date to come, or the date taken off, says nothing."""
    assert postmortem("capture", "Fares API returned 429", home=tmp_path).returncode == 0
    added = postmortem("actions", "--incident", "INC-1", "--add", "Add backoff", "--due", "2099-01-15", home=tmp_path)
    assert added.returncode == 0 and added.stderr.decode() == "", added.stderr
    moved = postmortem("actions", "--item", "AI-1", "--due", "2020-01-15", home=tmp_path)
    assert moved.returncode == 0, moved.stderr
    assert moved.stderr.decode() == "note: the due date 2020-01-15 is in the past: AI-1 is overdue already\n"
    for later in (["--due", "2099-02-01"], ["--due", ""]):
        quiet = postmortem("actions", "--item", "AI-1", *later, home=tmp_path)
        assert quiet.returncode == 0 and quiet.stderr.decode() == "", (later, quiet.stderr)
    postmortem("actions", "--item", "AI-1", "--due", "2020-01-15", home=tmp_path)
    owner_only = postmortem("actions", "--item", "AI-1", "--owner", "dana", home=tmp_path)  # the date was not set
    assert owner_only.returncode == 0 and owner_only.stderr.decode() == "", owner_only.stderr
    started = postmortem("actions", "--item", "AI-1", "--set-status", "in_progress", home=tmp_path)  # not reopened
    assert started.returncode == 0 and started.stderr.decode() == "", started.stderr
    done = postmortem("actions", "--item", "AI-1", "--set-status", "completed", home=tmp_path)
    assert done.returncode == 0 and done.stderr.decode() == "", done.stderr
    reopened = postmortem("actions", "--item", "AI-1", "--set-status", "open", home=tmp_path)  # overdue again
    assert reopened.stderr.decode() == "note: the due date 2020-01-15 is in the past: AI-1 is overdue already\n"
