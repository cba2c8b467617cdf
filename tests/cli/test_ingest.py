"""`postmortem import-traces`, in process, on a real data directory with the bundled embedding model."""

import errno
import gzip
import itertools
import json
import sqlite3
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from agent_postmortem.ingest import backup
from agent_postmortem.ingest.jsonl import read_incidents
from tests.factories import FIXED_NOW, FIXTURES, SEED, make_service
from tests.processes import CLI, cli, env

FIXTURE = FIXTURES / "otlp" / "genai_traces.jsonl"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object) -> CliRunner:
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    return CliRunner()


def test_import_traces_reports_counts_and_a_second_import_finds_only_duplicates(runner: CliRunner) -> None:
    dry = runner.invoke(app, ["import-traces", str(FIXTURE), "--dry-run", "--json"], catch_exceptions=False)
    assert dry.exit_code == 0 and json.loads(dry.stdout)["titles"] == [
        "TimeoutError in flights.search",
        "RateLimitError in claude-sonnet-4 (support-bot)",
    ]
    first = runner.invoke(app, ["import-traces", str(FIXTURE)], catch_exceptions=False)
    assert first.exit_code == 0, first.stderr
    assert "3 traces, 2 with a failure" in first.stdout and "2 incidents created" in first.stdout
    again = json.loads(runner.invoke(app, ["import-traces", str(FIXTURE), "--json"]).stdout)
    assert (again["created"], again["duplicates"]) == (0, 2)  # the dry run stored nothing either
    hits = json.loads(runner.invoke(app, ["search", "flight search timed out", "--json"]).stdout)["hits"]
    assert hits[0]["title"] == "TimeoutError in flights.search"


def _pages(tmp_path: Path) -> list[Path]:
    """The first request of the fixture as an exporter paging it writes it: its model calls in one file, the rest
    (the failed tool call and the agent step) in the next."""
    request = json.loads(FIXTURE.read_text(encoding="utf-8").splitlines()[0])
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    pages = []
    for n, chat in enumerate((True, False), start=1):
        request["resourceSpans"][0]["scopeSpans"][0]["spans"] = [
            s for s in spans if s["name"].startswith("chat") == chat
        ]
        pages.append(tmp_path / f"page{n}.json")
        pages[-1].write_text(json.dumps(request), encoding="utf-8")
    return pages


def test_the_spans_of_a_trace_split_over_several_files_are_joined_in_one_import(
    runner: CliRunner, tmp_path: Path
) -> None:
    """`import-traces page1.json page2.json` was refused (one file only); imported one by one, the trace's model call
    in the first file was dropped (no failure in it), and its incident had no model, no prompt and a timeline
    without the model call, with nothing said."""
    pages = _pages(tmp_path)
    done = runner.invoke(app, ["import-traces", *map(str, pages), "--json"])
    assert done.exit_code == 0, done.output
    [incident_id] = json.loads(done.stdout)["incident_ids"]
    incident = json.loads(runner.invoke(app, ["show", incident_id, "--json"]).stdout)
    assert (incident["model"], incident["prompt_excerpt"]) == (
        "gpt-4.1-mini-2025-04-14",
        "Find me a flight to Lisbon on Friday, under 300 EUR",
    )
    assert any(e["description"].startswith("Model call chat to gpt-4.1-mini") for e in incident["timeline"])


def test_a_file_of_traces_without_their_failure_says_nothing_of_them_was_stored(
    runner: CliRunner, tmp_path: Path
) -> None:
    first = runner.invoke(app, ["import-traces", str(_pages(tmp_path)[0])])
    assert first.exit_code == 0, first.output
    assert "2 traces without a failure and of no incident: nothing stored" in " ".join(first.stdout.split())
    assert "give every file of the export to one import-traces" in " ".join(first.stdout.split())
    assert "nothing stored for them" in " ".join(first.stdout.split())
    one = json.loads(_pages(tmp_path)[0].read_text(encoding="utf-8"))
    spans = one["resourceSpans"][0]["scopeSpans"][0]["spans"]
    one["resourceSpans"][0]["scopeSpans"][0]["spans"] = [s for s in spans if s["traceId"] == spans[0]["traceId"]]
    (tmp_path / "one.json").write_text(json.dumps(one), encoding="utf-8")
    alone = " ".join(runner.invoke(app, ["import-traces", str(tmp_path / "one.json")]).stdout.split())
    assert "1 trace without a failure and of no incident: nothing stored for it (if" in alone, alone


def test_a_dry_run_shows_titles_redacted_as_they_would_be_stored(runner: CliRunner, tmp_path: Path) -> None:
    """`--dry-run` printed the titles it would capture raw: a token in the failed span's error type or tool name
    reached the terminal (and `--json`), where the import itself stores it redacted."""
    secret = "ghp_" + "T" * 36
    leaky = tmp_path / "leaky.jsonl"
    leaky.write_text(FIXTURE.read_text().replace('"flights.search"', f'"flights.search {secret}"'))
    for extra in ([], ["--json"]):
        dry = runner.invoke(app, ["import-traces", str(leaky), "--dry-run", *extra], catch_exceptions=False)
        assert dry.exit_code == 0 and secret not in dry.stdout and "[REDACTED:github_token]" in dry.stdout, dry.stdout


def test_a_malformed_trace_file_is_one_clear_line_and_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "traces.jsonl"
    bad.write_text('{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "00f067aa0ba902b7"}]}]}]}\n')
    result = runner.invoke(app, ["import-traces", str(bad)])
    assert result.exit_code == 2
    assert "traces.jsonl: resourceSpans[0].scopeSpans[0].spans[0].traceId: missing" in result.stderr
    assert "Traceback" not in result.stderr
    missing = runner.invoke(app, ["import-traces", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "No such file" in missing.stderr  # a path given that is no file: bad input
    folder = runner.invoke(app, ["import-traces", str(tmp_path)])
    assert folder.exit_code == 2 and "Is a directory" in folder.stderr


@pytest.mark.parametrize("content", ["", "\n\n  \n", "   \t "], ids=["empty", "blank-lines", "whitespace"])
@pytest.mark.parametrize("command", ["import", "import-steps", "import-traces", "capture"])
def test_an_empty_file_is_refused_by_every_importer_naming_it(
    runner: CliRunner, tmp_path: Path, command: str, content: str
) -> None:
    """`import` and `import-traces` of an empty file (a failed query's output, a mistyped name) said "imported 0
    incidents" and exited 0 while `import-steps` and `capture --file` refused it: a script could not tell a file that
    had nothing from an import that worked."""
    empty = tmp_path / "failures.jsonl"
    empty.write_text(content)
    args = ["capture", "--file", str(empty)] if command == "capture" else [command, str(empty)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: failures.jsonl is empty: give ") and result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_a_trace_dated_in_the_future_is_refused_with_exit_2_and_the_others_are_imported(
    runner: CliRunner, tmp_path: Path
) -> None:
    """It was half-stored (the incident, without its timeline) and answered with advice about ISO 8601."""
    trip, support, plain = FIXTURE.read_text().splitlines()
    fast = json.loads(trip)
    for span in (s for rs in fast["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]):
        span["traceId"] = "f" * 32
        span["startTimeUnixNano"] = str(int(span["startTimeUnixNano"]) + 10 * 365 * 86_400 * 10**9)  # ten years on
        span["endTimeUnixNano"] = str(int(span["endTimeUnixNano"]) + 10 * 365 * 86_400 * 10**9)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join([json.dumps(fast), support, plain]) + "\n")
    dry = runner.invoke(app, ["import-traces", str(mixed), "--dry-run", "--json"])
    assert dry.exit_code == 2
    assert json.loads(dry.stdout)["titles"] == ["RateLimitError in claude-sonnet-4 (support-bot)"]
    result = runner.invoke(app, ["import-traces", str(mixed), "--json"])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    counts = json.loads(result.stdout)
    assert (counts["created"], counts["refused"], counts["refused_spans"]) == (1, 1, 5)
    assert "titles" not in counts  # known in a dry run only: `"titles": []` said that nothing had one
    assert "f" * 32 in result.stderr and "clock of the host that sent it" in result.stderr
    listed = json.loads(runner.invoke(app, ["list", "--json"]).stdout)["incidents"]
    assert [i["title"] for i in listed] == ["RateLimitError in claude-sonnet-4 (support-bot)"]


def test_a_refusal_written_to_the_same_pipe_as_the_summary_starts_its_own_line(tmp_path: Path) -> None:
    """`import-traces a.json b.json > out.txt 2>&1`, a trace of a.json dated 15 minutes ahead: the refusal must
    follow the summary on a line of its own, not glued to it ("...0 timeline eventserror: ...")."""
    trip, support, plain = FIXTURE.read_text().splitlines()
    ahead = json.loads(trip)
    spans = [s for rs in ahead["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    shift = time.time_ns() + 15 * 60 * 10**9 - min(int(s["startTimeUnixNano"]) for s in spans)
    for span in spans:
        span["traceId"] = "f" * 32
        span["startTimeUnixNano"] = str(int(span["startTimeUnixNano"]) + shift)
        span["endTimeUnixNano"] = str(int(span["endTimeUnixNano"]) + shift)
    (tmp_path / "a.json").write_text(json.dumps(ahead) + "\n")
    (tmp_path / "b.json").write_text(f"{support}\n{plain}\n")
    done = subprocess.run(
        [CLI, "import-traces", str(tmp_path / "a.json"), str(tmp_path / "b.json")],
        env=env(tmp_path / "home"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one pipe, as `> out.txt 2>&1`
        timeout=240,
        check=False,
    )
    said = done.stdout.decode().splitlines()
    assert done.returncode == 2
    assert said[:2] == [
        "2 traces, 2 with a failure",
        "1 incident created, 0 already imported, 0 counted on an open incident, 2 timeline events",
    ]
    assert said[-1].startswith("error: 1 failed trace refused; the first: trace " + "f" * 32)


def test_more_spans_than_an_import_holds_is_refused_as_it_is_read_not_after(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300,000 spans (120 MB) took 1.1 GB and 12 s before anything was said: every line was decoded first, then
    every span built. Now the lines are read one at a time and the import stops at the limit, saying what to do."""
    from agent_postmortem.ingest import otlp

    monkeypatch.setattr(otlp, "MAX_SPANS", 50)
    batch = json.loads(FIXTURE.read_text().splitlines()[0])  # 5 spans
    many = tmp_path / "many.jsonl"
    many.write_text("\n".join([json.dumps(batch)] * 11) + "\n{not json\n")  # the bad last line is never reached
    result = runner.invoke(app, ["import-traces", str(many), "--dry-run"])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "many.jsonl line 11: more than 50 spans in one import; split the file" in result.stderr
    monkeypatch.setattr(otlp, "MAX_SPANS", 55)
    assert "line 12: not JSON" in runner.invoke(app, ["import-traces", str(many), "--dry-run"]).stderr


@pytest.mark.parametrize(
    "body",
    [
        '{"data": [{"traceID": "4bf92f3577b34da6", "spans": [{"spanID": "00f067aa0ba902b7"}]}]}',  # Jaeger's JSON
        '[{"traceId": "4bf92f3577b34da6", "id": "00f067aa0ba902b7", "name": "get"}]',  # Zipkin v2
        '{"foo": 1}\n{"bar": 2}\n',
    ],
)
def test_a_file_in_another_trace_format_is_refused_not_read_as_no_traces(tmp_path: Path, body: str) -> None:
    other = tmp_path / "traces.json"
    other.write_text(body, encoding="utf-8")
    done = cli(tmp_path / "home", "import-traces", str(other), "--dry-run")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: traces.json: no resourceSpans in any request; OTLP/JSON trace data")


def test_traces_piped_on_stdin_are_imported(tmp_path: Path) -> None:
    done = subprocess.run(
        [CLI, "import-traces", "-", "--json"],
        input=FIXTURE.read_bytes(),
        env=env(tmp_path / "home"),
        capture_output=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] == 2


def test_a_gzipped_trace_file_is_read_and_a_binary_one_is_named_for_what_it_probably_is(tmp_path: Path) -> None:
    packed = tmp_path / "traces.jsonl.gz"
    packed.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    read = cli(tmp_path / "home", "import-traces", str(packed), "--dry-run", "--json")
    assert read.returncode == 0 and json.loads(read.stdout)["failed_traces"] == 2, read.stderr
    proto = tmp_path / "traces.pb"
    proto.write_bytes(b"\n\x8f\x01\n\x12\xff\xfe")  # what the Collector's file exporter writes with format: proto
    refused = cli(tmp_path / "home", "import-traces", str(proto), "--dry-run")
    assert refused.returncode == 2 and "export with `format: json`" in refused.stderr


def test_export_to_a_file_never_replaces_a_backup_with_less_than_a_whole_snapshot(tmp_path: Path) -> None:
    """A mistyped POSTMORTEM_HOME reads as an empty home: its export emptied the backup it was pointed at."""
    backup = tmp_path / "backup.jsonl"
    backup.write_text('{"kept": true}\n', encoding="utf-8")
    refused = cli(tmp_path / "typo", "export", "-o", str(backup))
    assert refused.returncode == 2 and "left as it was" in refused.stderr
    assert backup.read_text(encoding="utf-8") == '{"kept": true}\n'
    fresh = tmp_path / "fresh.jsonl"
    assert cli(tmp_path / "typo", "export", "-o", str(fresh)).returncode == 0 and fresh.read_text() == ""
    assert fresh.stat().st_mode & 0o077 == 0 and not list(tmp_path.glob(".*.tmp"))


def test_export_to_a_file_writes_what_export_to_stdout_writes(runner: CliRunner, tmp_path: Path) -> None:
    make_service(tmp_path / "home", clock=lambda: FIXED_NOW).import_incidents(read_incidents(SEED))
    to_stdout = runner.invoke(app, ["export"])
    backup_file = tmp_path / "backup.jsonl"
    to_file = runner.invoke(app, ["export", "-o", str(backup_file)])
    assert to_stdout.exit_code == to_file.exit_code == 0 and to_file.stdout == ""
    assert backup_file.read_text(encoding="utf-8") == to_stdout.stdout and to_stdout.stdout.count("\n") > 40
    assert f"exported {to_stdout.stdout.count(chr(10))} incidents to {backup_file}" in to_file.stderr


def test_an_export_that_fails_part_way_leaves_the_backup_as_it_was_and_nothing_beside_it(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_service(tmp_path / "home", clock=lambda: FIXED_NOW).import_incidents(read_incidents(SEED))
    backup_file = tmp_path / "out" / "backup.jsonl"
    backup_file.parent.mkdir()
    backup_file.write_text('{"kept": true}\n', encoding="utf-8")
    whole = backup.export_lines

    def failing(*args: Any) -> Iterator[str]:
        yield from itertools.islice(whole(*args), 5)
        raise OSError(errno.EIO, "Input/output error", "postmortem.db")

    monkeypatch.setattr(backup, "export_lines", failing)
    failed = runner.invoke(app, ["export", "-o", str(backup_file)])
    assert failed.exit_code == 1 and "Input/output error" in failed.stderr, failed.stderr
    assert backup_file.read_text(encoding="utf-8") == '{"kept": true}\n'
    assert [p.name for p in backup_file.parent.iterdir()] == ["backup.jsonl"]


def test_an_export_to_a_file_is_written_as_it_is_read_never_held_whole(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`export -o` joined every line in memory before its write (3,000 incidents of 10 kB: 60 MB at its peak, the
    lines and their join); the lines now go to the temporary file as they are read."""
    line = json.dumps({"format": backup.EXPORT_FORMAT, "incident": {"title": "x" * 10_000}})
    monkeypatch.setattr(backup, "export_lines", lambda *args: (line for _ in range(3_000)))
    backup_file = tmp_path / "backup.jsonl"
    tracemalloc.start()
    try:
        done = runner.invoke(app, ["export", "-o", str(backup_file)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert done.exit_code == 0 and backup_file.stat().st_size == 3_000 * (len(line) + 1), done.stderr
    assert peak < 10_000_000, peak


def test_the_dry_run_of_a_restore_refuses_a_home_that_holds_incidents_as_the_restore_does(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`import backup.jsonl --dry-run` on a home with incidents said "would restore 2 incidents into an empty home"
    (exit 0), and the import it vouched for then refused (exit 2); `--report` wrote nothing for a backup."""
    assert runner.invoke(app, ["import-traces", str(FIXTURE)]).exit_code == 0
    backup_file = tmp_path / "backup.jsonl"
    assert runner.invoke(app, ["export", "-o", str(backup_file)]).exit_code == 0
    dry = runner.invoke(app, ["import", str(backup_file), "--dry-run"])
    real = runner.invoke(app, ["import", str(backup_file)])
    assert (dry.exit_code, real.exit_code) == (2, 2), (dry.stdout, real.stdout)
    assert "empty home" in dry.stderr and dry.stderr == real.stderr and dry.stdout == ""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "new"))
    report = tmp_path / "report.json"  # asked for, it was not written for a backup
    fresh = runner.invoke(app, ["import", str(backup_file), "--dry-run", "--json", "--report", str(report)])
    assert fresh.exit_code == 0 and json.loads(fresh.stdout) == {"would_restore": 2, "dry_run": True}
    assert json.loads(report.read_text()) == {"would_restore": 2, "dry_run": True}
    assert not (tmp_path / "new").exists()  # the dry run created no home
    assert runner.invoke(app, ["import", str(backup_file), "--report", str(report)]).exit_code == 0
    assert json.loads(report.read_text()) == {"restored": 2}


def test_a_backup_restores_into_a_new_database_named_by_its_url(tmp_path: Path) -> None:
    """A restore as the first command on a new `sqlite:///` POSTMORTEM_DATABASE_URL failed with "could not complete
    this (no such table: incidents) ... If the disk is full": the check that it is empty read tables not made yet."""
    assert cli(tmp_path / "live", "import-traces", str(FIXTURE)).returncode == 0
    backup_file = tmp_path / "backup.jsonl"
    assert cli(tmp_path / "live", "export", "-o", str(backup_file)).returncode == 0
    extra = {"POSTMORTEM_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    restored = cli(tmp_path / "new", "import", str(backup_file), extra=extra)
    assert restored.returncode == 0 and "restored 2 incidents" in restored.stdout, restored.stderr
    again = cli(tmp_path / "new", "import", str(backup_file), "--dry-run", extra=extra)
    assert again.returncode == 2 and "holds incidents" in again.stderr, again.stderr


def test_a_backup_carries_texts_longer_than_new_input_takes_whole_and_restores_them(tmp_path: Path) -> None:
    """A store made by an older version holds a timeline event past 2,000 characters without placeholders (a long
    reopen note) and an item title past 300: the export trimmed them with only a log line, and the restore of such a
    backup stopped whole at "String should have at most 2000 characters". Now both go through whole, the restore
    names each on stderr, and the restored home exports the same backup."""
    seed = tmp_path / "seed.jsonl"
    row = {"title": "Planner looped on the calendar tool", "timeline": [{"description": "Paged the on-call"}]}
    seed.write_text(json.dumps({**row, "action_items": [{"title": "Bound the planner loop"}]}) + "\n")
    assert cli(tmp_path / "old", "import", str(seed)).returncode == 0
    note, title = "Reopened: " + "the loop came back " * 300, "Bound the planner loop " * 20
    with sqlite3.connect(tmp_path / "old" / "postmortem.db") as conn:  # as an older version stored them
        conn.execute("UPDATE timeline_events SET description = ? WHERE description = 'Paged the on-call'", (note,))
        conn.execute("UPDATE action_items SET title = ?", (title,))
    first = tmp_path / "first.jsonl"
    exported = cli(tmp_path / "old", "export", "-o", str(first))
    assert exported.returncode == 0 and "repaired" not in exported.stderr, exported.stderr
    assert note in first.read_text(encoding="utf-8") and title in first.read_text(encoding="utf-8")

    restored = cli(tmp_path / "new", "import", str(first))
    assert restored.returncode == 0 and "restored 1 incident" in restored.stdout, restored.stderr
    said = f"holds {len(note):,} characters, more than new input takes (2,000): restored whole"
    assert f"note: line 1 (INC-1): incident.timeline.0.description {said}" in restored.stderr
    assert f"incident.action_items.0.title holds {len(title):,} characters" in restored.stderr
    again = tmp_path / "again.jsonl"
    assert cli(tmp_path / "new", "export", "-o", str(again)).returncode == 0
    assert again.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")


def test_export_to_a_directory_or_a_missing_folder_names_the_path_given(tmp_path: Path) -> None:
    """The error named the temporary file beside it ("Is a directory: .out.28150.tmp"), a name the user never gave."""
    folder = tmp_path / "out"
    folder.mkdir()
    for given, said in ((folder, "Is a directory"), (tmp_path / "missing" / "b.jsonl", "No such file or directory")):
        done = cli(tmp_path / "home", "export", "-o", str(given))
        assert done.returncode == 2 and done.stderr.endswith(f"\nerror: {said}: {given}\n"), done.stderr
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.postgresql
def test_a_dry_run_on_postgresql_reads_the_chosen_teams_records_not_the_default_teams(
    tmp_path: Path, postgres_server: Any
) -> None:
    """`POSTMORTEM_TEAM=alpha postmortem import backup.jsonl --dry-run` read the default team's schema (`public`): an
    empty team was refused as "not an empty home" while the restore itself worked, and a team holding incidents was
    told the restore would go ahead."""
    from agent_postmortem.http.teams import add_token

    home, tokens = tmp_path / "home", tmp_path / "tokens.toml"
    add_token(tokens, "alpha")
    add_token(tokens, "beta")
    extra = {"POSTMORTEM_DATABASE_URL": postgres_server.create(), "POSTMORTEM_TOKENS_FILE": str(tokens)}
    taken = cli(home, "capture", "--title", "Agent timed out calling the CRM", extra=extra)  # the default team
    assert taken.returncode == 0, taken.stderr
    backup = tmp_path / "backup.jsonl"
    assert cli(home, "export", "-o", str(backup), extra=extra).returncode == 0
    beta = extra | {"POSTMORTEM_TEAM": "beta"}
    assert cli(home, "capture", "--title", "Refund agent paid twice", extra=beta).returncode == 0
    for team, code in (("alpha", 0), ("beta", 2)):
        dry = cli(home, "import", str(backup), "--dry-run", extra=extra | {"POSTMORTEM_TEAM": team})
        real = cli(home, "import", str(backup), extra=extra | {"POSTMORTEM_TEAM": team})
        assert (dry.returncode, real.returncode) == (code, code), (team, dry.stderr, real.stderr)
    # where to restore instead: a new POSTMORTEM_HOME changes nothing when the records are in the database
    assert dry.stderr == real.stderr and "POSTMORTEM_HOME" not in real.stderr, real.stderr
    assert "team beta's knowledge base holds incidents" in real.stderr and "POSTMORTEM_DATABASE_URL" in real.stderr
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"title": "Refund agent paid twice"}) + "\n", encoding="utf-8")
    for team, duplicates in (("default", 0), ("beta", 1), ("gamma-new", 0)):
        if team == "gamma-new":
            add_token(tokens, team)  # a team whose schema no command has made yet
        checked = cli(home, "import", str(rows), "--dry-run", "--json", extra=extra | {"POSTMORTEM_TEAM": team})
        assert checked.returncode == 0 and json.loads(checked.stdout)["duplicates"] == duplicates, checked.stderr
