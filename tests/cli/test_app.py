"""The `postmortem` command line, in process, on a real data directory with the bundled embedding model."""

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from tests.processes import environment, postmortem

pytestmark = pytest.mark.slow


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


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
    assert "waiting to be indexed 1 (a running server indexes them, or `postmortem reindex`)" in shown


def test_classify_is_a_dry_run(run) -> None:  # type: ignore[no-untyped-def]
    result = run("classify", "CRM sync corrupted 3,000 contact records", "--json")
    assert json.loads(result.stdout)["severity"] == "SEV1"
    assert json.loads(run("stats", "--json").stdout)["incidents"] == 0


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
    assert run("learn", "INC-3", "--out", str(out)).exit_code == 0  # learning one again keeps the others
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


# Ctrl-C landing between a thread pool starting a worker and registering it (CPython's ThreadPoolExecutor): the worker
# is never told to stop, and the interpreter's exit waits for it. The pools' workers are the search's BM25 ranking.
UNLUCKY_CTRL_C = """
import sys, threading
from agent_postmortem.cli import main
started = threading.Thread.start
def start(thread):
    started(thread)
    if thread.name.startswith("bm25"):
        raise KeyboardInterrupt
threading.Thread.start = start
sys.argv = ["postmortem", *sys.argv[1:]]
main()
"""


def test_ctrl_c_while_a_search_starts_its_ranking_thread_ends_the_command(tmp_path: Path) -> None:
    """It said "interrupted" and then hung for ever at exit (1 in 40 of `postmortem search` runs sent SIGINT at
    random moments); now it exits 130 at once."""
    home = tmp_path / "home"
    assert postmortem("capture", "--title", "Fares API returned 429 Too Many Requests", home=home).returncode == 0
    command = [sys.executable, "-c", UNLUCKY_CTRL_C, "search", "rate limited by the fares provider"]
    interrupted = subprocess.run(command, env=environment(home), capture_output=True, timeout=60, check=False)
    assert interrupted.returncode == 130 and interrupted.stderr.decode().strip() == "interrupted"


# A Ctrl-C that a library turns into another exception on its way up (an ImportError from an interrupted import, or
# pydantic-core's PanicException, a BaseException), or one that lands while the CLI is still importing itself.
CTRL_C_AT = """
import builtins, signal, sys
from agent_postmortem.cli import main
from agent_postmortem.store.search.knowledge import KnowledgeBase
where = sys.argv.pop(1)
class PanicException(BaseException): ...
def search(*args, **kwargs):
    try:
        signal.raise_signal(signal.SIGINT)
    except KeyboardInterrupt as e:
        raise (ImportError("interrupted import") if where == "converted" else PanicException("unwrap on an Err")) from e
KnowledgeBase.search = search
importing = builtins.__import__
def imports(name, *args, **kwargs):
    if where == "import" and name == "agent_postmortem.cli.app":
        signal.raise_signal(signal.SIGINT)
    return importing(name, *args, **kwargs)
builtins.__import__ = imports
sys.argv = ["postmortem", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("where", ["converted", "panic", "import"])
def test_ctrl_c_is_said_as_interrupted_whatever_a_library_turned_it_into(tmp_path: Path, where: str) -> None:
    """It said "error: unexpected ImportError" (1 in 40 interrupted searches), printed a Rust panic and a traceback,
    or a KeyboardInterrupt traceback while the CLI was still importing."""
    home = tmp_path / "home"
    assert postmortem("capture", "--title", "Fares API returned 429 Too Many Requests", home=home).returncode == 0
    command = [sys.executable, "-c", CTRL_C_AT, where, "search", "rate limited by the fares provider"]
    interrupted = subprocess.run(command, env=environment(home), capture_output=True, timeout=60, check=False)
    assert interrupted.returncode == 130 and interrupted.stderr.decode().strip() == "interrupted", interrupted.stderr


def test_a_root_cause_too_long_for_the_search_table_is_cut_at_a_word_and_marked(tmp_path: Path) -> None:
    """It was cut at 90 characters in the middle of a word with no mark ("email.send had no pa"), so a reader took
    the stub for the whole root cause."""
    from agent_postmortem.cli.demo import SEED

    home = tmp_path / "home"
    assert postmortem("import", str(SEED), home=home).returncode == 0
    shown = postmortem("search", "rate limited by the email provider", home=home, env={"COLUMNS": "400"})
    cells = re.findall(r"^│ \d+ +│ INC-\d+ .*│ (.+?) +│$", shown.stdout.decode(), flags=re.MULTILINE)
    assert len(cells) == 5, shown.stdout.decode()
    assert all(cell.endswith((".", "…")) for cell in cells), cells
    assert any(cell.endswith("…") and not cell.endswith(" …") for cell in cells), cells


def test_an_unknown_log_level_is_one_line_naming_the_levels_and_the_command_runs(tmp_path: Path) -> None:
    """POSTMORTEM_LOG_LEVEL=verbose crashed every command, `serve` included, with logging's traceback."""
    for args in (["list"], ["--version"]):
        done = postmortem(*args, home=tmp_path / "home", env={"POSTMORTEM_LOG_LEVEL": "verbose"})
        said = done.stderr.decode()
        assert done.returncode == 0 and "Traceback" not in said, said
        assert said.count("POSTMORTEM_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR") == 1, said
        assert "verbose" not in said


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://agent:sk-live-CANARY@127.0.0.1:9/postmortem",  # port 9 (discard): nothing listens
        # libpq's Unix-socket forms: they were refused as "must be a URL that starts with sqlite:// or postgresql://",
        # and a socket that was not there was "could not complete this ... If the disk is full"
        "postgresql+psycopg://agent:sk-live-CANARY@/postmortem?host=/nonexistent-socket-dir&port=5432",
        "postgresql:///postmortem?host=/nonexistent-socket-dir&password=sk-live-CANARY",
    ],
    ids=["tcp", "socket-query", "socket-default-host"],
)
def test_a_database_server_that_cannot_be_reached_is_said_so_with_what_to_check(tmp_path: Path, url: str) -> None:
    """`list` on an unreachable PostgreSQL said the change was rolled back and the disk might be full."""
    done = postmortem("list", home=tmp_path / "home", env={"POSTMORTEM_DATABASE_URL": url})
    said = done.stderr.decode()
    assert done.returncode == 1 and said.count("\n") == 1, said
    assert "could not connect" in said and "POSTMORTEM_DATABASE_URL" in said, said
    assert "disk" not in said and "rolled back" not in said and "CANARY" not in said, said


@pytest.mark.postgresql
def test_a_database_server_at_its_connection_limit_is_said_so_not_told_to_check_the_url(
    tmp_path: Path, postgres_server: Any
) -> None:
    """Several teams and replicas on one database open connections per team: past the server's max_connections every
    call failed with "check POSTMORTEM_DATABASE_URL and that the database server is up", and both were fine."""
    from sqlalchemy.engine import make_url

    url = make_url(postgres_server.create())
    role = f"pm_full_{os.getpid()}"
    postgres_server._admin("CREATE ROLE {0} LOGIN CONNECTION LIMIT 0", role)
    try:
        full = url.set(username=role, password=None).render_as_string(hide_password=False)
        done = postmortem("list", home=tmp_path / "home", env={"POSTMORTEM_DATABASE_URL": full})
    finally:
        postgres_server._admin("DROP ROLE {0}", role)
    said = done.stderr.decode()
    assert done.returncode == 1 and said.count("\n") == 1, said
    assert "too many connections" in said and "max_connections" in said and "CONNECTION LIMIT" in said, said
    assert "Check POSTMORTEM_DATABASE_URL" not in said and "disk" not in said, said


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("POSTMORTEM_DATABASE_URL", "db-host:5432/pm?password=CANARY", "must be a URL that starts with sqlite://"),
        ("POSTMORTEM_DATABASE_URL", "mysql://agent:CANARY@db-host/pm", "must be a URL that starts with sqlite://"),
        ("POSTMORTEM_DATABASE_URL", "postgresql://agent:p@db-host:CANARY/pm", "must be a URL that starts with"),
        ("POSTMORTEM_CHROMA_URL", "CANARY-host:8000", "must be a URL that starts with http:// or https://"),
        ("OPENAI_BASE_URL", "CANARY-host:11434/v1", "must be a URL that starts with http:// or https://"),
        ("POSTMORTEM_DEDUPE_HOURS", "CANARY", "must be a number of hours from 0"),
        ("POSTMORTEM_DEDUPE_HOURS", "-3", "must be a number of hours from 0"),
        ("POSTMORTEM_LLM_TIMEOUT", "-1", "must be a number of seconds above 0"),
        ("POSTMORTEM_LOCAL_THREADS", "CANARY", "must be a whole number of at least 1"),
        # taken as given, they matched no Host or Origin header: the server started and answered every request 421
        ("POSTMORTEM_ALLOWED_HOSTS", "http://CANARY.internal:8000/", "must list the host:port names clients use"),
        ("POSTMORTEM_ALLOWED_HOSTS", "pm.internal:8000, CANARY.internal:*", "must list the host:port names"),
        ("POSTMORTEM_ALLOWED_HOSTS", "CANARY internal:8000", "must list the host:port names clients use"),
        ("POSTMORTEM_ALLOWED_ORIGINS", "https://CANARY.example.com/", "must list origins as a browser sends them"),
        ("POSTMORTEM_ALLOWED_ORIGINS", "CANARY.example.com:8000", "must list origins as a browser sends them"),
    ],
    ids=["db-no-scheme", "db-mysql", "db-port", "chroma-no-scheme", "openai-no-scheme", "hours-word", "hours-negative",
         "llm-timeout", "threads", "hosts-url", "hosts-wildcard", "hosts-space", "origins-slash", "origins-no-scheme"],
)  # fmt: skip
def test_a_setting_no_client_could_use_is_one_line_naming_it_without_its_value(
    tmp_path: Path, name: str, value: str, said: str
) -> None:
    """As found: a database URL without its scheme was "unexpected ArgumentError", mysql:// "unexpected
    ModuleNotFoundError", POSTMORTEM_DEDUPE_HOURS=abc "could not convert string to float: 'abc'", and a negative
    window or timeout was taken."""
    done = postmortem("stats", home=tmp_path / "home", env={name: value})
    err = done.stderr.decode()
    assert done.returncode != 0 and err.count("\n") == 1 and f"{name} {said}" in err, err
    assert "CANARY" not in err and "unexpected" not in err and "Traceback" not in err, err


def test_an_item_due_today_is_not_overdue_until_the_day_ends(tmp_path: Path) -> None:
    home = tmp_path / "home"
    captured = postmortem("capture", "--title", "Agent timed out calling the CRM", "--json", home=home)
    incident_id = json.loads(captured.stdout)["id"]
    today = datetime.now(UTC).date().isoformat()
    added = postmortem(
        "actions", "--incident", incident_id, "--add", "Set a deadline", "--due", today, "--json", home=home
    )
    item = json.loads(added.stdout)
    assert (item["overdue"], item["due_at"]) == (False, f"{today}T23:59:59Z")
    assert json.loads(postmortem("actions", "--overdue", "--json", home=home).stdout)["items"] == []
    timed = postmortem("actions", "--item", item["id"], "--due", f"{today}T00:00:00+00:00", "--json", home=home)
    assert json.loads(timed.stdout)["overdue"] is True  # a time given is kept as given


def test_dates_are_iso_8601_and_a_day_given_as_the_end_of_a_range_includes_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    captured = postmortem("capture", "--title", "Agent timed out calling the CRM", "--json", home=home)
    incident_id = json.loads(captured.stdout)["id"]
    today = datetime.now(UTC).date()

    def hits(*dates: str) -> list[str]:
        done = postmortem("search", "CRM timed out", *dates, "--json", home=home)
        assert done.returncode == 0, done.stderr
        return [h["id"] for h in json.loads(done.stdout)["hits"]]

    assert hits("--until", today.isoformat()) == [incident_id]  # was midnight: today's incidents were left out
    assert hits("--since", "29990101") == []  # ISO 8601's basic form, not Unix seconds (August 1970)
    assert hits("--until", today.strftime("%Y%m%d")) == [incident_id]
    number = postmortem("search", "CRM timed out", "--since", "1765000000", home=home)
    assert number.returncode == 2 and b"not a number" in number.stderr and b"1765000000" not in number.stderr
    added = postmortem(
        "actions", "--incident", incident_id, "--add", "Set a deadline", "--due", "20261215", "--json", home=home
    )
    assert json.loads(added.stdout)["due_at"] == "2026-12-15T23:59:59Z"


def test_search_bounds_by_a_month_or_a_year_take_the_whole_of_it(tmp_path: Path) -> None:
    """`search --until 2026-12` was refused ("input is too short"): a month or a year bounds the whole period."""
    home = tmp_path / "home"
    captured = postmortem("capture", "--title", "Agent timed out calling the CRM", "--json", home=home)
    incident_id = json.loads(captured.stdout)["id"]
    today = datetime.now(UTC).date()
    month_before = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")

    def hits(*bounds: str) -> list[str]:
        done = postmortem("search", "CRM timed out", *bounds, "--json", home=home)
        assert done.returncode == 0, done.stderr
        return [h["id"] for h in json.loads(done.stdout)["hits"]]

    assert hits("--until", f"{today:%Y-%m}") == [incident_id] == hits("--since", f"{today:%Y-%m}")
    assert hits("--since", f"{today:%Y}", "--until", f"{today:%Y}") == [incident_id]
    assert hits("--until", month_before) == [] == hits("--since", str(today.year + 1))
    junk = postmortem("search", "CRM timed out", "--until", "2026-13", home=home)
    said = junk.stderr.decode()
    assert junk.returncode == 2 and said.count("\n") == 1 and "Traceback" not in said
    assert "until: no such month: a month is 01 to 12" in said


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
    assert "more incidents: --limit shows more" in run("list").stderr


@pytest.mark.parametrize("command", ["patterns", "effectiveness"])
def test_a_pattern_size_out_of_range_is_refused_not_clamped(run, command: str) -> None:  # type: ignore[no-untyped-def]
    for size in ("1", "101"):
        refused = run(command, "--min-size", size)
        assert refused.exit_code == 2 and "between 2 and 100" in refused.stderr
