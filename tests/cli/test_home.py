"""A new home starts somewhere useful: `postmortem init` creates it private and loads the seed only when asked,
and a server on an empty knowledge base says once, in its log, how to fill it."""

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "postmortem")
SEED_SIZE = 45


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none", "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([CLI, *args], env=full, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)


def test_init_without_a_flag_in_a_script_loads_nothing_and_says_how_to_fill_the_knowledge_base(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = run(home, "init")
    assert done.returncode == 0, done.stderr
    assert "0 incidents stored" in done.stdout and "postmortem import FILE.jsonl" in done.stdout
    assert "postmortem init --seed" in done.stdout
    assert stat.S_IMODE(home.stat().st_mode) == 0o700 and (home / "postmortem.db").is_file()


@pytest.mark.slow
def test_init_seed_loads_the_seed_once_and_no_seed_leaves_a_stored_base_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = json.loads(run(home, "init", "--seed", "--json").stdout)
    assert first["seeded"] == SEED_SIZE and first["incidents"] == SEED_SIZE and first["database"] == "sqlite"
    again = json.loads(run(home, "init", "--seed", "--json").stdout)
    assert again["seeded"] == 0 and again["incidents"] == SEED_SIZE  # duplicates skipped
    said = run(home, "init", "--seed").stdout  # it said "loading the seed knowledge base", then nothing of it
    assert "the seed knowledge base is loaded already: nothing was added" in said, said
    listed = run(home, "search", "assistant promised a refund the policy does not allow", "--json")
    assert json.loads(listed.stdout)["hits"], listed.stderr  # the first capture has something to find


def test_init_makes_an_existing_home_readable_by_others_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    result = json.loads(run(home, "init", "--no-seed", "--json").stdout)
    assert result["made_private"] and stat.S_IMODE(home.stat().st_mode) == 0o700


INITIALIZE = (
    b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", '
    b'"capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}\n'
    b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n'
)


@pytest.mark.slow
def test_a_server_on_an_empty_knowledge_base_says_so_once_and_on_a_stored_one_not_at_all(tmp_path: Path) -> None:
    def server_log(home: Path) -> str:
        log = tmp_path / f"{home.name}.log"
        env = {**os.environ, "POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none", "HF_HUB_OFFLINE": "1"}
        with log.open("w") as handle:
            proc = subprocess.Popen(
                [CLI, "serve"], env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=handle
            )
        try:
            assert proc.stdin is not None  # the store opens in the background once a client has said hello
            proc.stdin.write(INITIALIZE)
            proc.stdin.flush()
            deadline = time.monotonic() + 120
            while "knowledge base" not in log.read_text() and time.monotonic() < deadline:
                if (home / "chroma").is_dir():  # opened and warmed: whatever it would say, it has said
                    break
                time.sleep(0.2)
            time.sleep(1)
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=60)
        return log.read_text()

    empty = server_log(tmp_path / "empty")
    assert empty.count("the knowledge base is empty") == 1 and "postmortem init --seed" in empty
    assert run(tmp_path / "seeded", "init", "--seed").returncode == 0
    assert "the knowledge base is empty" not in server_log(tmp_path / "seeded")


def test_a_home_that_is_a_file_is_named_as_such_by_every_command(tmp_path: Path) -> None:
    """POSTMORTEM_HOME at a file: `capture` and `init` said "error: NotADirectoryError: " and nothing else, and the
    read-only commands answered empty, saying the home "was not created". Then `capture` and `init` said "error: Not
    a directory: /dev/null" without the setting that chose it: they name it and what to set it to."""
    home = tmp_path / "incident.json"
    home.write_text("{}")
    for where in (home, Path("/dev/null"), home / "below"):
        for args in (("init",), ("capture", "--title", "Fares API returned 429")):
            done = run(where, *args)
            said = (
                f"error: POSTMORTEM_HOME is {where}, which cannot hold the knowledge base (Not a directory: {where}); "
                "set POSTMORTEM_HOME to a directory this process can create and write (a new or an existing one, "
                "not a file), or unset it for the default data directory\n"
            )
            assert (done.returncode, done.stdout, done.stderr) == (2, "", said), (where, args)
    for args in (("list",), ("show", "INC-1"), ("stats",), ("search", "fares"), ("check",)):
        done = run(home, *args)
        said = f"error: the data directory {home} is a file: point POSTMORTEM_HOME at a directory\n"
        assert (done.returncode, done.stdout, done.stderr) == (2, "", said), args
    assert home.read_text() == "{}"


def test_a_demo_home_given_by_flag_that_cannot_hold_the_knowledge_base_names_the_flag(tmp_path: Path) -> None:
    """`demo --home /dev/null` said "Not a directory: /dev/null"; naming POSTMORTEM_HOME instead of the flag that gave
    the path would send the user to a setting they never set."""
    done = run(tmp_path / "unused", "demo", "--home", "/dev/null")
    said = (
        "error: --home is /dev/null, which cannot hold the knowledge base (Not a directory: /dev/null); give --home a "
        "directory this process can create and write (a new or an existing one, not a file)\n"
    )
    assert done.returncode == 2 and done.stderr.endswith(said), done.stderr
    assert "POSTMORTEM_HOME" not in done.stderr and "Traceback" not in done.stderr


def test_a_home_folder_without_a_database_is_not_said_to_be_missing(tmp_path: Path) -> None:
    """A data directory holding only its triage.toml (as docs/loop.md has a team write it) was said "not created"."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "triage.toml").write_text('full_severities = ["SEV1", "SEV2", "SEV3"]\n')
    done = run(home, "list")
    assert done.returncode == 0 and f"{home} holds no incidents (no database in it yet)" in done.stderr, done.stderr
    assert "(it was not created)" in run(tmp_path / "none", "list").stderr
