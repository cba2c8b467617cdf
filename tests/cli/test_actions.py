"""`postmortem actions` as a user mistypes it: a change with no item to change is refused, not ignored."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from tests.processes import postmortem


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


def test_an_owner_cleared_from_the_command_line_leaves_the_item_unassigned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    """`--owner ""` stored an owner named '': `--stats` showed a blank owner beside "(none)", and on an item without an
    owner it recorded a change "owner - -> -" that changed nothing."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()

    def run(*args: str) -> dict[str, object]:
        done = runner.invoke(app, [*args, "--json"])
        assert done.exit_code == 0, done.stderr
        return dict(json.loads(done.stdout))

    run("capture", "--title", "All services returning 503 in Kubernetes")
    run("actions", "--incident", "INC-1", "--add", "Create ingress test suite", "--owner", "platform")
    run("actions", "--incident", "INC-1", "--add", "Revert the de-registration delay")
    cleared = run("actions", "--item", "AI-1", "--owner", "")
    assert cleared["owner"] is None and cleared["history"][-1]["new"] is None  # type: ignore[index]
    unchanged = run("actions", "--item", "AI-2", "--owner", "  ")
    assert unchanged["owner"] is None and len(unchanged["history"]) == 1  # type: ignore[arg-type]
    assert run("actions", "--stats")["by_owner"] == {"(none)": {"items": 2, "completed": 0, "overdue": 0, "rate": 0.0}}


def test_an_export_takes_the_limit_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object) -> None:
    """`actions --export markdown --limit 2` (two issues to file) printed every item: --limit was dropped for an
    export, which without one is not cut at the listing's 50."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()
    assert runner.invoke(app, ["capture", "--title", "All services returning 503 in Kubernetes"]).exit_code == 0
    for title in ("Create ingress test suite", "Revert the de-registration delay", "Add synthetic monitoring"):
        assert runner.invoke(app, ["actions", "--incident", "INC-1", "--add", title]).exit_code == 0
    two = runner.invoke(app, ["actions", "--export", "csv", "--limit", "2"])
    assert two.exit_code == 0 and len(two.stdout.splitlines()) == 3  # the header and two items
    assert "more action items: --offset 2 shows the next page" in two.stderr
    every = runner.invoke(app, ["actions", "--export", "markdown"])
    assert every.stdout.count("### [P1]") == 3 and "more action items" not in every.stderr


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


def test_an_empty_list_says_why_on_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object) -> None:
    """`--overdue --status completed`, `--owner Platform` (stored: platform) and `--offset 1000` each printed an
    empty table with no message; then the message under the empty table's head on stdout."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()
    assert runner.invoke(app, ["capture", "--title", "Fares API returned 429"]).exit_code == 0
    for title in ("Add backoff", "Cap retries"):
        added = runner.invoke(app, ["actions", "--incident", "INC-1", "--add", title, "--owner", "platform"])
        assert added.exit_code == 0
    found = runner.invoke(app, ["actions", "--owner", "Platform"])
    assert found.exit_code == 0 and "Add backoff" in found.stdout and found.stderr == ""
    for args, said in (
        (["--overdue", "--status", "completed"], "overdue and completed cannot both hold"),
        (
            ["--owner", "platfrom"],
            "no items owned by 'platfrom' (owners are matched ignoring case); owners: 'platform' has 2",
        ),
        (["--offset", "1000"], "offset 1000 is past the end: 2 action item(s) match (offsets 0 to 1)"),
        (["--offset", "1000", "--export", "csv"], "offset 1000 is past the end"),
    ):
        listed = runner.invoke(app, ["actions", *args])
        assert listed.exit_code == 0 and said in listed.stderr, (args, listed.stderr)
        assert "--export" in args or listed.stdout == "", (args, listed.stdout)  # not an empty table's head
    as_json = runner.invoke(app, ["actions", "--offset", "1000", "--json"])
    assert as_json.stderr == "" and json.loads(as_json.stdout)["total"] == 2


def test_stats_count_an_owner_spelled_in_two_cases_once(tmp_path: Path, embedder: object) -> None:
    """`actions --owner dana` lists the items of "Dana" and "dana" (owners match ignoring case), yet `--stats` gave
    each spelling a row of its own, so neither row said how far dana's items were."""
    assert postmortem("capture", "--title", "Fares API returned 429", home=tmp_path).returncode == 0
    for title, owner in (("Add jittered backoff", "dana"), ("Cap retries at three", "DANA"), ("Alert on 429", "Dana")):
        added = postmortem("actions", "--incident", "INC-1", "--add", title, "--owner", owner, home=tmp_path)
        assert added.returncode == 0, added.stderr
    assert postmortem("actions", "--item", "AI-1", "--set-status", "completed", home=tmp_path).returncode == 0
    stats = postmortem("actions", "--stats", "--json", home=tmp_path)
    assert stats.returncode == 0, stats.stderr
    by_owner = json.loads(stats.stdout)["by_owner"]
    assert list(by_owner) == ["Dana"] and by_owner["Dana"]["items"] == 3 and by_owner["Dana"]["completed"] == 1
    table = postmortem("actions", "--stats", home=tmp_path).stdout.decode()
    assert table.count("Dana") == 1 and "dana" not in table and "DANA" not in table
    listed = json.loads(postmortem("actions", "--owner", "dana", "--json", home=tmp_path).stdout)
    assert len(listed["items"]) == 3


def test_an_owner_given_as_an_email_address_is_said_to_be_stored_redacted(tmp_path: Path) -> None:
    """`--add ... --owner dana.smith@example.com` stored owner [REDACTED:email] without a word: every address became
    one owner. stderr now says so, without the address."""
    assert postmortem("capture", "Fares API returned 429", home=tmp_path).returncode == 0
    added = postmortem(
        "actions", "--incident", "INC-1", "--add", "Add backoff", "--owner", "dana.smith@example.com", home=tmp_path
    )
    assert added.returncode == 0, added.stderr
    said = added.stderr.decode()
    assert said.startswith("note: the owner given holds personal data") and "AI-1's owner is '[REDACTED:email]'" in said
    assert "dana.smith" not in said + added.stdout.decode()
    named = postmortem("actions", "--item", "AI-1", "--owner", "dana", home=tmp_path)
    assert named.returncode == 0 and named.stderr.decode() == ""


def test_a_priority_in_any_case_is_taken_as_the_mcp_tools_take_it(runner: CliRunner) -> None:
    """`actions --priority p1` was refused ("must be P0, P1 or P2") while add_action_item took "p1"."""
    assert runner.invoke(app, ["capture", "--title", "Fares API returned 429"]).exit_code == 0
    added = runner.invoke(app, ["actions", "--incident", "INC-1", "--add", "Add jittered backoff", "--priority", "p0"])
    assert added.exit_code == 0, added.stderr
    assert json.loads(runner.invoke(app, ["actions", "--item", "AI-1", "--json"]).stdout)["priority"] == "P0"
    changed = runner.invoke(app, ["actions", "--item", "AI-1", "--priority", "p1", "--json"])
    assert changed.exit_code == 0 and json.loads(changed.stdout)["priority"] == "P1", changed.stderr
    wrong = runner.invoke(app, ["actions", "--item", "AI-1", "--priority", "p7"])
    assert wrong.exit_code == 2 and "must be P0, P1 or P2" in wrong.stderr


def test_priority_filters_the_list_in_any_case_as_the_other_filters_do(runner: CliRunner) -> None:
    """`actions --priority P1`, which --help called "only items of this priority", was refused ("--priority: give
    the item to change"): the list could not be filtered by priority. It filters now, with the others, and the help
    lists it among them."""
    assert runner.invoke(app, ["capture", "--title", "Fares API returned 429"]).exit_code == 0
    for title, priority in (("Add jittered backoff", "P0"), ("Cap retries", "P1"), ("Alert on 429s", "P1")):
        args = ["actions", "--incident", "INC-1", "--add", title, "--priority", priority]
        assert runner.invoke(app, args).exit_code == 0
    for given in ("P1", "p1"):
        listed = runner.invoke(app, ["actions", "--priority", given, "--json"])
        assert listed.exit_code == 0, listed.stderr
        shown = json.loads(listed.stdout)
        assert [(i["title"], i["priority"]) for i in shown["items"]] == [("Cap retries", "P1"), ("Alert on 429s", "P1")]
        assert shown["total"] == 2
    both = json.loads(runner.invoke(app, ["actions", "--priority", "p0", "--status", "open", "--json"]).stdout)
    assert [i["title"] for i in both["items"]] == ["Add jittered backoff"]
    none = runner.invoke(app, ["actions", "--priority", "P2"])
    assert none.exit_code == 0 and "no action items match priority P2 (3 in all)" in none.stderr
    helped = " ".join(runner.invoke(app, ["actions", "--help"], env={"COLUMNS": "200"}).stdout.split())
    assert "List them by incident, owner, status, priority or overdue" in helped
