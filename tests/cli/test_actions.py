"""`postmortem actions` as a user mistypes it: a change with no item to change is refused, not ignored."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app


def test_a_change_without_an_item_is_refused_instead_of_listing_every_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """`actions --set-status completed` (the --item forgotten) listed every item with exit 0, and the user took the
    change for made; `--add ... --set-status completed` added an open item."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()
    assert runner.invoke(app, ["capture", "--title", "Fares API returned 429"]).exit_code == 0
    added = runner.invoke(app, ["actions", "--incident", "INC-1", "--add", "Add jittered backoff", "--json"])
    assert added.exit_code == 0 and json.loads(added.stdout)["id"] == "AI-1"
    for args, said in (
        (["--set-status", "completed"], "--set-status: give the item to change (--item AI-n)"),
        (["--due", "2026-12-20", "--by", "lee"], "--due, --by: give the item to change (--item AI-n)"),
        (["--add", "Cap retries", "--incident", "INC-1", "--set-status", "completed"], "--set-status: a new item"),
    ):
        done = runner.invoke(app, ["actions", *args])
        assert done.exit_code == 2 and done.stdout == "" and done.stderr.startswith(f"error: {said}"), args
    listed = json.loads(runner.invoke(app, ["actions", "--owner", "nobody", "--json"]).stdout)
    assert listed["items"] == []  # --owner alone is still a filter
    item = json.loads(runner.invoke(app, ["actions", "--item", "AI-1", "--json"]).stdout)
    assert item["status"] == "open" and len(item["history"]) == 1  # nothing was changed or added
    assert len(json.loads(runner.invoke(app, ["actions", "--json"]).stdout)["items"]) == 1


def test_an_empty_owner_unassigns_an_item_and_lists_the_unassigned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """`--item AI-1 --owner ""` stored the empty text as the owner: the item showed no owner but counted under an
    owner "" of its own in --stats, and `actions --owner ""` found nothing."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()
    assert runner.invoke(app, ["capture", "--title", "Fares API returned 429"]).exit_code == 0
    added = runner.invoke(app, ["actions", "--incident", "INC-1", "--add", "Add backoff", "--owner", "dana"])
    assert added.exit_code == 0
    done = runner.invoke(app, ["actions", "--item", "AI-1", "--owner", "", "--by", "lee", "--json"])
    assert done.exit_code == 0, done.output
    item = json.loads(done.stdout)
    assert item["owner"] is None and item["history"][-1]["field"] == "owner" and item["history"][-1]["new"] is None
    unassigned = json.loads(runner.invoke(app, ["actions", "--owner", "", "--json"]).stdout)["items"]
    assert [i["id"] for i in unassigned] == ["AI-1"]
    stats = json.loads(runner.invoke(app, ["actions", "--stats", "--json"]).stdout)
    assert list(stats["by_owner"]) == ["(none)"]
