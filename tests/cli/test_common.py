"""What every command shares (server/cli/common.py, server/cli/app.py), driven as a shell runs `postmortem`: checked
choices, exit codes a script can gate on, read-only commands that create nothing, `check-blameless` on text, stdin,
pipes and files, resolving and reopening, `--version` and completion."""

import json
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any, get_args

import pytest
import typer

from agent_postmortem.cli import common as cli_common
from agent_postmortem.store import models
from agent_postmortem.store.errors import ActionItemNotFound, IncidentNotFound
from agent_postmortem.store.vocabulary import LIST_LIMIT
from tests.factories import FIXTURES
from tests.processes import POSTMORTEM, environment, postmortem


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["list", "--status", "closed"], "open, mitigated or resolved"),
        (["search", "x", "--category", "nope"], "data_corruption, business_logic or infrastructure"),
        (["search", "x", "--severity", "SEV9"], "SEV1, SEV2, SEV3 or SEV4"),
        (["search", "x", "--mode", "fuzzy"], "hybrid, dense or lexical"),
        (["actions", "--status", "done"], "open, in_progress or completed"),
        (["actions", "--item", "AI-1", "--priority", "P7"], "P0, P1 or P2"),
        (["report", "INC-1", "--kind", "long"], "full, review or auto"),
        (["serve", "--transport", "grpc"], "stdio or http"),
    ],
)
def test_a_bad_filter_value_is_rejected_with_the_allowed_values(tmp_path: Path, args: list[str], allowed: str) -> None:
    result = postmortem(*args, home=tmp_path / "home")
    assert result.returncode == 2 and allowed in result.stderr.decode(), result.stderr.decode()
    assert args[-1].encode() not in result.stderr  # the rejected value is not echoed
    assert not (tmp_path / "home").exists()


def _mcp_limit(tool: str) -> tuple[int, int]:
    """The bounds of `limit` in an MCP tool's input schema, as tools/list gives it."""
    import asyncio

    from agent_postmortem.mcp.server import create_server

    tools = asyncio.run(create_server(lambda: None).list_tools())  # type: ignore[arg-type,return-value]
    limit = next(t for t in tools if t.name == tool).input_schema["properties"]["limit"]
    number = next(b for b in limit["anyOf"] if b["type"] == "integer")  # optional: published nullable
    return number["minimum"], number["maximum"]


@pytest.mark.parametrize(
    ("args", "tool"),
    [
        (["list", "--limit", "0"], None),
        (["list", "--limit", "-5"], None),
        (["list", "--limit", "201"], None),
        (["search", "timeout", "--limit", "0"], "search_incidents"),
        (["search", "timeout", "--limit", "1000"], "search_incidents"),
    ],
)
def test_a_limit_out_of_range_is_rejected_with_the_range_allowed(tmp_path: Path, args: list[str], tool: str) -> None:
    """`list --limit 0` or `--limit -5` listed one incident, `--limit 1000` fifty (or two hundred): silently clamped.
    A search allows what the MCP tool allows; a list in a terminal up to 200."""
    low, high = _mcp_limit(tool) if tool else LIST_LIMIT
    result = postmortem(*args, home=tmp_path / "home")
    said = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b"", said
    assert "--limit" in said and f"must be an integer between {low} and {high}" in said, said
    assert "Traceback" not in said and not (tmp_path / "home").exists()


def test_the_choices_are_the_stored_vocabularies() -> None:
    # the choices are read from store/vocabulary.py; the categories' Literal spelling must name the enum's members
    assert cli_common.CATEGORIES == tuple(category.value for category in models.Category)
    assert cli_common.SEVERITIES == get_args(models.Severity)
    assert cli_common.ACTION_STATUSES == get_args(models.ActionStatus)


READ_ONLY = [
    ["list"],
    ["list", "--json"],
    ["show", "INC-1"],
    ["stats", "--json"],
    ["search", "the fares API throttled us"],
    ["classify", "CRM sync corrupted 3,000 contact records"],
    ["report", "INC-1"],
    ["actions"],
    ["actions", "--stats"],
    ["actions", "--item", "AI-1"],
    ["patterns"],
    ["effectiveness"],
    ["learn", "--all"],
    ["runbook", "rate_limit"],
    ["check"],
    ["export"],
]


@pytest.mark.slow
def test_read_only_commands_on_a_missing_home_create_nothing(tmp_path: Path, model_cache: Path) -> None:
    home = tmp_path / "never" / "home"
    for args in READ_ONLY:
        result = postmortem(*args, home=home, env={"POSTMORTEM_MODEL_CACHE": str(model_cache)})
        assert result.returncode in (0, 2) and b"Traceback" not in result.stderr, (args, result.stderr.decode())
        assert b"nothing stored yet" in result.stderr, args
        assert not (tmp_path / "never").exists(), args
    assert json.loads(postmortem("list", "--json", home=home).stdout)["incidents"] == []


@pytest.mark.parametrize(
    "args",
    [
        ["draft", "INC-1"],
        ["actions", "--incident", "INC-1", "--add", "Retry with jittered backoff"],
        ["actions", "--item", "AI-1", "--set-status", "completed"],
        ["reindex"],
    ],
)
def test_changing_what_is_stored_in_a_missing_home_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    result = postmortem(*args, home=tmp_path / "home")
    assert result.returncode == 2 and b"nothing stored yet" in result.stderr, result.stderr.decode()
    assert not (tmp_path / "home").exists()


def test_the_quick_reads_migrate_an_older_home_first(tmp_path: Path) -> None:
    """`list` and `show` read the records alone when the schema is current; an older one is upgraded as by any
    command (tests/fixtures/postmortem-0003.db was written at revision 0003)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "postmortem.db").write_bytes((FIXTURES / "postmortem-0003.db").read_bytes())
    listed = postmortem("list", "--json", home=home)
    assert listed.returncode == 0, listed.stderr.decode()
    first = json.loads(listed.stdout)["incidents"][-1]["id"]
    shown = postmortem("show", first, "--json", home=home)
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == first


def test_check_blameless_exits_1_when_it_finds_blame(tmp_path: Path) -> None:
    blame = postmortem("check-blameless", "The on-call engineer forgot to add a timeout.", home=tmp_path)
    assert blame.returncode == 1 and b"forgot" in blame.stdout
    assert b"1 blaming phrase " in blame.stdout and b"phrase(s)" not in blame.stdout  # counted as a person would
    clean = postmortem("check-blameless", "The retry loop had no backoff.", "--json", home=tmp_path)
    assert clean.returncode == 0 and json.loads(clean.stdout)["blameless"] is True


def test_check_blameless_reads_a_draft_piped_on_stdin_and_refuses_no_text(tmp_path: Path) -> None:
    piped = subprocess.run(
        [str(POSTMORTEM), "check-blameless", "-", "--json"], input=b"The deploy failed.\nBob broke prod.\n",
        env=environment(tmp_path), capture_output=True, timeout=600, check=False,
    )  # fmt: skip
    assert piped.returncode == 1 and [f["text"] for f in json.loads(piped.stdout)["findings"]] == ["Bob broke"]
    for args, given in ((["  "], None), (["-"], b"")):  # an empty variable or file must not pass a blameless gate
        blank = subprocess.run([str(POSTMORTEM), "check-blameless", *args], input=given, env=environment(tmp_path),
                               capture_output=True, timeout=600, check=False)  # fmt: skip
        assert blank.returncode == 2 and b"give the text to check" in blank.stderr and not blank.stdout


def test_check_blameless_reads_a_pipe_the_shell_names_as_a_file(tmp_path: Path) -> None:
    """`check-blameless <(git show HEAD:postmortem.md)` said 'no such file to check: /dev/fd/63' (exit 2): only
    regular files were read, and a pipe or /dev/null that exists was reported as missing."""
    shell = f"{POSTMORTEM} check-blameless <(printf 'The deploy failed.\\nBob broke prod.\\n') --json"
    piped = subprocess.run(["bash", "-c", shell], env=environment(tmp_path), capture_output=True, timeout=600,
                           check=False)  # fmt: skip
    assert piped.returncode == 1, piped.stderr
    assert [f["text"] for f in json.loads(piped.stdout)["findings"]] == ["Bob broke"]
    empty = postmortem("check-blameless", "/dev/null", home=tmp_path)
    assert empty.returncode == 2 and b"give the text to check" in empty.stderr and b"no such file" not in empty.stderr


def test_check_blameless_reads_a_file_it_is_given_and_refuses_one_that_is_not_there(tmp_path: Path) -> None:
    """`check-blameless postmortem.md` checked the words "postmortem.md" and passed green: a CI gate never failed."""
    draft = tmp_path / "postmortem.md"
    draft.write_text("# Outage\n\nThe deploy failed.\nBob broke prod.\n", encoding="utf-8")
    checked = postmortem("check-blameless", str(draft), "--json", home=tmp_path)
    assert checked.returncode == 1 and [f["text"] for f in json.loads(checked.stdout)["findings"]] == ["Bob broke"]
    for missing in ("missing.md", str(tmp_path / "drafts" / "x")):
        refused = postmortem("check-blameless", missing, home=tmp_path)
        assert refused.returncode == 2 and b"no such file to check" in refused.stderr and not refused.stdout
    folder = postmortem("check-blameless", str(tmp_path), home=tmp_path)
    assert folder.returncode == 2 and b"a directory" in folder.stderr
    word = postmortem("check-blameless", "Bob", home=tmp_path)  # a word that names no file is still text
    assert word.returncode == 0
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7\x00\x01Bob broke prod")  # the wrong file, or a log, is refused
    binary = postmortem("check-blameless", str(tmp_path / "report.pdf"), home=tmp_path)
    assert binary.returncode == 2 and b"not text" in binary.stderr
    huge = subprocess.run([str(POSTMORTEM), "check-blameless", "-"], input=b"The cache filled up. " * 50_000,
                          env=environment(tmp_path), capture_output=True, timeout=600, check=False)  # fmt: skip
    assert huge.returncode == 2 and b"over 1,000,000 bytes" in huge.stderr and not huge.stdout


def test_an_incident_is_resolved_and_reopened_from_the_terminal(tmp_path: Path) -> None:
    """Only an MCP client could change an incident's status; the terminal had no way to resolve or reopen one."""
    captured = postmortem("capture", "--json", "--title", "Refund agent timed out", home=tmp_path)
    assert captured.returncode == 0, captured.stderr.decode()
    incident = json.loads(captured.stdout)["id"]
    steps = [("resolve", "--mitigated"), ("resolve", "--note", "retry budget shipped"), ("reopen", "--note", "back")]
    states = [json.loads(postmortem(*step[:1], incident, *step[1:], "--json", home=tmp_path).stdout) for step in steps]
    assert [s["status"] for s in states] == ["mitigated", "resolved", "open"] and states[-1]["resolved_at"] is None
    assert [(e["kind"], e["description"]) for e in states[-1]["timeline"][-3:]] == [
        ("mitigated", "Marked mitigated."), ("resolved", "retry budget shipped"), ("note", "Reopened: back")
    ]  # fmt: skip
    unknown = postmortem("reopen", "INC-999", home=tmp_path)
    assert unknown.returncode == 2 and b"no incident" in unknown.stderr


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    shown = postmortem("--version", home=tmp_path)
    assert shown.returncode == 0 and shown.stdout.decode() == f"postmortem {version('agent-postmortem')}\n"


def test_the_shell_completes_commands_and_choices(tmp_path: Path) -> None:
    # `--show-completion` detects the user's shell from the process tree (shellingham), which a test run under xdist or
    # nohup may not have; typer's own switch makes it take the shell as its value instead.
    named = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    script = postmortem("--show-completion", "bash", home=tmp_path, env=named)
    assert script.returncode == 0 and b"_POSTMORTEM_COMPLETE=complete_bash" in script.stdout

    def complete(words: str, index: int) -> list[str]:
        env = {"_POSTMORTEM_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(index)}
        return postmortem(home=tmp_path, env=env).stdout.decode().split()

    assert complete("postmortem li", 1) == ["list"]
    assert complete("postmortem list --status m", 3) == ["mitigated"]


def test_resolve_and_reopen_bound_the_note_and_name_it(tmp_path: Path) -> None:
    """A --note over 2,000 characters failed with 'invalid input: description: String should have at most 2000
    characters', a field the user never gave; reopening with one failed the same way although the service meant to
    shorten it."""
    incident = json.loads(postmortem("capture", "--json", "--title", "Refund agent timed out", home=tmp_path).stdout)
    for command, limit in (("resolve", 2_000), ("reopen", 1_990)):  # a reopen's note is kept after "Reopened: "
        long = postmortem(command, incident["id"], "--note", "y" * (limit + 1), home=tmp_path)
        said = long.stderr.decode()
        assert long.returncode == 2 and "'--note'" in said and f"at most {limit} characters" in said, said
        assert "description" not in said and "y" * 50 not in said  # the value is never echoed
    kept = postmortem("resolve", incident["id"], "--note", "y" * 2_000, home=tmp_path)
    assert kept.returncode == 0, kept.stderr


@pytest.mark.postgresql
def test_a_read_only_command_for_a_team_no_command_stored_into_creates_no_schema(
    tmp_path: Path, postgres_server: Any
) -> None:
    """`POSTMORTEM_TEAM=typo2 postmortem stats` (or `list`) on PostgreSQL created and migrated the schema team_typo2,
    then said "0 incidents", where SQLite said the team's directory was not created. Now it creates nothing and says
    so; the first command that stores makes the team's schema."""
    from agent_postmortem.store.records import db

    url = postgres_server.create()
    typo = {"POSTMORTEM_DATABASE_URL": url, "POSTMORTEM_TEAM": "typo2"}
    for args in (("stats",), ("list",)):
        done = postmortem(*args, home=tmp_path / "home", env=typo)
        said = "team typo2's knowledge base holds no incidents (it was not created; is POSTMORTEM_TEAM right?)"
        assert done.returncode == 0 and said in done.stderr.decode(), (args, done.stderr)
    assert not db.has_schema(db.team_url(url, "typo2"))
    stored = postmortem("capture", "--title", "Agent timed out calling the CRM", home=tmp_path / "home", env=typo)
    assert stored.returncode == 0 and db.has_schema(db.team_url(url, "typo2")), stored.stderr


@pytest.mark.parametrize(
    ("missing", "command", "not_said"),
    [
        (ActionItemNotFound("AI-999"), "`postmortem actions`", "`postmortem list`"),
        (IncidentNotFound("INC-999"), "`postmortem list`", "`postmortem actions`"),
    ],
)
def test_an_unknown_id_names_the_one_command_that_lists_its_kind(
    capsys: pytest.CaptureFixture[str], missing: Exception, command: str, not_said: str
) -> None:
    """`actions --item AI-999` said "List them with `postmortem list` or `postmortem actions`": `list` lists
    incidents, and no item is found there."""
    with pytest.raises(typer.Exit) as done, cli_common.user_errors():
        raise missing
    said = capsys.readouterr().err
    assert done.value.exit_code == 2 and command in said and not_said not in said, said
