"""The `postmortem` command line, in process, on a real data directory with the bundled embedding model: capture,
search, list, stats, actions, learn, export and import, and their paging."""

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_capture_then_search_and_list_as_json(run) -> None:  # type: ignore[no-untyped-def]
    first = run(
        "capture",
        "--title",
        "Fares API returned 429 Too Many Requests",
        "--error-type",
        "RateLimitError",
        "--user-facing",
        "--json",
    )
    assert first.exit_code == 0, first.stderr
    captured = json.loads(first.stdout)
    assert captured["category"] == "rate_limit" and captured["severity"] == "SEV3"
    found = json.loads(run("search", "rate limited by the fares provider", "--json").stdout)
    assert found["hits"][0]["id"] == captured["id"]
    listed = json.loads(run("list", "--json").stdout)
    assert [i["id"] for i in listed["incidents"]] == [captured["id"]]


def test_stats_says_who_indexes_what_waits(run) -> None:  # type: ignore[no-untyped-def]
    assert run("capture", "--title", "Fares API returned 429 Too Many Requests", "--json").exit_code == 0
    counted = json.loads(run("stats", "--json").stdout)
    assert counted["indexed"] is None and counted["index_pending"] == 1  # a command never holds the index
    shown = " ".join(run("stats").stdout.split())
    assert "vector index kept by a running server (`postmortem serve`); 1 incident to add when one starts" in shown


def test_stats_counts_an_incident_waiting_to_be_indexed_once_however_often_it_changed(run) -> None:  # type: ignore[no-untyped-def]
    """ "incidents 1 ... waiting to be indexed 3" after a capture, a resolve and a reopen: the count was of the
    changes queued for the index, not of the incidents they are of."""
    incident_id = json.loads(run("capture", "--title", "Fares API returned 429 Too Many Requests", "--json").stdout)[
        "id"
    ]
    assert run("resolve", incident_id).exit_code == 0 and run("reopen", incident_id).exit_code == 0
    counted = json.loads(run("stats", "--json").stdout)
    assert counted["incidents"] == 1 and counted["index_pending"] == 1


def test_classify_is_a_dry_run(run) -> None:  # type: ignore[no-untyped-def]
    result = run("classify", "CRM sync corrupted 3,000 contact records", "--json")
    assert json.loads(result.stdout)["severity"] == "SEV1"
    assert json.loads(run("stats", "--json").stdout)["incidents"] == 0


def test_capture_and_classify_take_the_title_the_same_two_ways(run) -> None:  # type: ignore[no-untyped-def]
    """As found: `classify` took the title first and `capture` only as --title, so `postmortem capture "..."` (the
    dry run's command with its verb changed) was refused with "unexpected extra argument", and `classify --title`
    with "missing argument"."""
    given_first = json.loads(run("capture", "Fares API returned 429 Too Many Requests", "--json").stdout)
    shown = json.loads(run("show", given_first["id"], "--json").stdout)
    assert shown["title"] == "Fares API returned 429 Too Many Requests" and given_first["category"] == "rate_limit"
    assert json.loads(run("classify", "--title", "CRM sync corrupted 3,000 records", "--json").stdout)["severity"] == (
        "SEV1"
    )
    twice = run("capture", "Fares API returned 429", "--title", "Agent timed out")
    assert twice.exit_code == 2 and "the title is given twice" in twice.stderr
    for command in ("capture", "classify"):
        none = run(command)
        assert none.exit_code == 2 and "what went wrong, in one line" in none.stderr, none.stderr
    assert json.loads(run("stats", "--json").stdout)["incidents"] == 1


def test_capture_and_classify_take_the_same_fields(run) -> None:  # type: ignore[no-untyped-def]
    """`capture --environment staging` was "No such option" (a staging failure is SEV4 at most, so its severity could
    not be told from the command line), and the dry run `classify` had no --agent or --model."""
    fields = ["--agent", "refund-bot", "--model", "gpt-4.1-mini", "--environment", "staging"]
    fields += ["--impact", "40 customers were refunded twice"]
    title = "Refund agent issued 40 refunds twice"
    dry = json.loads(run("classify", title, *fields, "--json").stdout)
    stored = json.loads(run("capture", title, *fields, "--json").stdout)
    assert dry["severity"] == stored["severity"] == "SEV4"
    assert any("not production (environment: 'staging')" in r for r in stored["severity_reasons"])
    shown = json.loads(run("show", stored["id"], "--json").stdout)
    assert (shown["environment"], shown["agent"], shown["model"]) == ("staging", "refund-bot", "gpt-4.1-mini")


def test_errors_are_one_line_without_traceback_or_echo(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = run("show", "INC-404")
    assert missing.exit_code == 2 and "postmortem list" in missing.stderr and "Traceback" not in missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "ok", "severity": "sk-live-CANARY"}\n', encoding="utf-8")
    imported = run("import", str(bad))
    assert imported.exit_code == 2 and "line 1" in imported.stderr and "CANARY" not in imported.stderr
    short = run("capture", "--title", "x")
    assert short.exit_code == 2 and "title" in short.stderr


def test_actions_add_update_and_report_to_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    incident_id = json.loads(run("capture", "--title", "Agent timed out calling the CRM", "--json").stdout)["id"]
    added = json.loads(
        run(
            "actions",
            "--incident",
            incident_id,
            "--add",
            "Set a 10 s deadline on CRM calls",
            "--owner",
            "crm-team",
            "--priority",
            "P0",
            "--due",
            "2020-01-01",
            "--json",
        ).stdout
    )
    assert added["overdue"] is True
    updated = json.loads(run("actions", "--item", added["id"], "--set-status", "completed", "--json").stdout)
    assert updated["status"] == "completed"
    exported = run("actions", "--incident", incident_id, "--export", "csv")
    assert exported.stdout.splitlines()[1].startswith(f"{added['id']},{incident_id},Set a 10 s deadline")
    assert run("actions", "--export", "xml").exit_code == 2
    out = tmp_path / "report.md"
    assert run("report", incident_id, "-o", str(out)).exit_code == 0
    assert "- [x] **P0** Set a 10 s deadline on CRM calls" in out.read_text(encoding="utf-8")


def test_report_json_to_a_file_writes_the_json_there_and_nothing_to_stdout(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`report --json -o FILE` wrote the Markdown to the file and the JSON to stdout: a script that asked for JSON in
    the file got Markdown in it."""
    incident_id = json.loads(run("capture", "--title", "Agent timed out calling the CRM", "--json").stdout)["id"]
    written = tmp_path / "report.json"
    result = run("report", incident_id, "--json", "-o", str(written))
    assert result.exit_code == 0 and result.stdout == "", result.stdout
    kept = json.loads(written.read_text(encoding="utf-8"))
    assert kept["incident_id"] == incident_id and kept["format"] == "markdown"
    assert "Agent timed out calling the CRM" in kept["text"]


def test_runbook_json_to_a_file_writes_the_json_there_and_nothing_to_stdout(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`runbook --json -o FILE` printed the JSON on stdout and wrote no file: a script that asked for the entry as
    JSON in a file found none there."""
    from agent_postmortem.cli.demo import SEED

    assert run("import", str(SEED)).exit_code == 0
    written = tmp_path / "runbook.json"
    result = run("runbook", "rate_limit", "--json", "-o", str(written))
    assert result.exit_code == 0 and result.stdout == "", result.stdout
    assert f"wrote {written}" in result.stderr
    kept = json.loads(written.read_text(encoding="utf-8"))
    printed = json.loads(run("runbook", "rate_limit", "--json").stdout)
    assert kept["key"] == "rate_limit" and kept["symptoms"] and kept["symptoms"] == printed["symptoms"]


def test_learn_writes_runbooks_and_regression_cases(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from agent_postmortem.cli.demo import SEED

    assert run("import", str(SEED)).exit_code == 0
    out = tmp_path / "learned"
    result = run("learn", "--all", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    cases = [json.loads(line) for line in (out / "evals" / "regressions.jsonl").read_text().splitlines()]
    assert len(cases) == 45 and len(list((out / "evals").glob("regress-INC-*.json"))) == 45
    runbooks = sorted(p.stem for p in (out / "runbooks").glob("*.md"))
    assert runbooks and all(r.startswith("PAT-") or r in {c["category"] for c in cases} for r in runbooks)
    one = run("learn", "INC-3", "--out", str(out))  # learning one again keeps the others
    assert one.exit_code == 0 and f"wrote 1 runbook entry and 1 regression case under {out}" in one.stderr
    again = [json.loads(line) for line in (out / "evals" / "regressions.jsonl").read_text().splitlines()]
    assert sorted(c["id"] for c in again) == sorted(c["id"] for c in cases)
    one = json.loads(run("learn", "INC-3", "--json").stdout)
    assert one["eval_cases"][0]["incident_id"] == "INC-3" and len(one["runbooks"]) == 1
    assert run("runbook", "rate_limit").stdout.startswith("# Runbook: rate limit")
    assert run("runbook", "nonsense").exit_code == 2
    assert run("learn").exit_code == 2  # neither an id nor --all
    effect = json.loads(run("effectiveness", "--json").stdout)
    assert effect["patterns"] and all(p["verdict"] for p in effect["patterns"])
    stats = json.loads(run("actions", "--stats", "--json").stdout)
    assert stats["overall"]["items"] > 0 and stats["by_pattern"]


def test_action_history_and_edits_from_the_command_line(run) -> None:  # type: ignore[no-untyped-def]
    incident_id = json.loads(run("capture", "--title", "Agent timed out calling the CRM", "--json").stdout)["id"]
    added = json.loads(
        run("actions", "--incident", incident_id, "--add", "Set a deadline", "--by", "dana", "--json").stdout
    )
    run("actions", "--item", added["id"], "--priority", "P0", "--title", "Set a 10 s deadline", "--by", "lee")
    bad = run("actions", "--item", added["id"], "--priority", "P7")
    assert bad.exit_code == 2 and "priority" in bad.stderr
    shown = json.loads(run("actions", "--item", added["id"], "--json").stdout)
    assert [(h["field"], h["by"]) for h in shown["history"]] == [
        ("created", "dana"),
        ("title", "lee"),
        ("priority", "lee"),
    ]
    review = run("report", incident_id, "--kind", "review")
    assert review.stdout.startswith("# Lightweight review:") and "Not a known pattern" in review.stdout


def test_export_then_import_into_a_new_home(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    incident_id = json.loads(run("capture", "--title", "Agent timed out calling the CRM", "--json").stdout)["id"]
    backup_file = tmp_path / "backup.jsonl"
    assert run("export", "-o", str(backup_file)).exit_code == 0
    before = json.loads(run("show", incident_id, "--json").stdout)
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "restored"))
    restored = run("import", str(backup_file), "--json")
    assert restored.exit_code == 0 and json.loads(restored.stdout) == {"restored": 1}
    assert json.loads(run("show", incident_id, "--json").stdout) == before
    again = run("import", str(backup_file))
    assert again.exit_code == 2 and "empty home" in again.stderr


def test_search_shows_the_score_its_rows_are_ranked_by_and_the_cosine_labelled(run) -> None:  # type: ignore[no-untyped-def]
    from agent_postmortem.cli.demo import SEED

    assert run("import", str(SEED)).exit_code == 0
    text = run("search", "rate limited by the fares provider").stdout
    rows = re.findall(r"^ *(\d+)\. (INC-\d+)  relevance (-?[\d.]+)  cosine ([\d.]+)  ", text, flags=re.MULTILINE)
    assert len(rows) == 5 and "relevance" in text and "cosine" in text
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5]
    relevance = [float(r[2]) for r in rows]
    assert relevance == sorted(relevance, reverse=True)  # the column the rows are ranked by is in order


def test_action_items_past_the_first_page_can_be_listed_and_a_cut_table_says_so(run) -> None:  # type: ignore[no-untyped-def]
    """`actions` showed the first 50 of the seed's 135 items (none of the open ones) and offered no way to the rest."""
    from agent_postmortem.cli.demo import SEED

    assert run("import", str(SEED)).exit_code == 0
    first = run("actions")
    assert first.exit_code == 0 and "more action items: --offset 50" in first.stderr
    every = json.loads(run("actions", "--limit", "1000", "--json").stdout)
    assert len(every["items"]) == 135 and every["next_offset"] is None
    assert {i["status"] for i in every["items"]} == {"completed", "open", "in_progress"}
    rest = json.loads(run("actions", "--offset", "130", "--json").stdout)
    assert [i["id"] for i in rest["items"]] == [i["id"] for i in every["items"][130:]]
    assert "more action items" not in run("actions", "--limit", "1000").stderr
    assert "more incidents: --offset 20 shows the next page, --limit a longer one" in run("list").stderr


@pytest.mark.parametrize("command", ["patterns", "effectiveness"])
def test_a_pattern_size_out_of_range_is_refused_not_clamped(run, command: str) -> None:  # type: ignore[no-untyped-def]
    for size in ("1", "101"):
        refused = run(command, "--min-size", size)
        assert refused.exit_code == 2 and "between 2 and 100" in refused.stderr


def test_output_dash_is_stdout_not_a_file_named_dash(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`postmortem export -o - | gzip` compressed nothing: the backup went to a file named "-" in the working
    directory. `-o -` is stdout, as `-` is stdin for the commands that read."""
    from agent_postmortem.cli.demo import SEED

    assert run("import", str(SEED)).exit_code == 0
    monkeypatch.chdir(tmp_path)
    report = run("report", "INC-3", "-o", "-")
    assert report.exit_code == 0 and report.stdout.startswith("# Post-mortem:"), report.stderr
    runbook = run("runbook", "rate_limit", "--output", "-")
    assert runbook.exit_code == 0 and runbook.stdout.startswith("# Runbook: rate limit"), runbook.stderr
    exported = run("export", "-o", "-")
    assert exported.exit_code == 0 and len(exported.stdout.splitlines()) == 45, exported.stderr
    assert not (tmp_path / "-").exists()
