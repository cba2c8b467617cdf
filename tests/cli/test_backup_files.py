"""`postmortem export` and `import` of a backup, in process and as a subprocess, on a real data directory."""

import errno
import itertools
import json
import sqlite3
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
from tests.processes import cli

FIXTURE = FIXTURES / "otlp" / "genai_traces.jsonl"


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
