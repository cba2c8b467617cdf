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
