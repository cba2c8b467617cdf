"""The data directory is private from its first byte: the home and every directory in it 0700, the database (with
its -wal and -shm files), lock files and the tokens file 0600, created so by the CLI and the server themselves."""

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

CLI = str(Path(sys.executable).parent / "postmortem")
CAPTURE = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {"name": "capture_incident", "arguments": {"title": "Agent hit 429 Too Many Requests"}},
}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


def env(home: Path, **more: str) -> dict[str, str]:
    return {**os.environ, "POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none", "HF_HUB_OFFLINE": "1", **more}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def open_to_others(home: Path) -> list[str]:
    """Everything under `home` another user could reach: a path is reachable when every directory above it is."""
    found = []
    for root, dirs, files in os.walk(home):
        for name in [*dirs, *files]:
            path = Path(root) / name
            parents_open = all(mode(p) & 0o005 for p in path.parents if p.is_relative_to(home))
            if parents_open and mode(path) & 0o044:
                found.append(f"{oct(mode(path))} {path.relative_to(home)}")
    return found


def test_a_cli_capture_creates_the_home_0700_and_the_database_0600(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    done = subprocess.run(
        [CLI, "capture", "--title", "Agent hit 429 Too Many Requests", "--json"],
        env=env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert mode(home) == 0o700 and mode(home.parent) == 0o700  # the parents it had to create too
    assert mode(home / "postmortem.db") == 0o600 and mode(home / ".migrate.lock") == 0o600
    teams = subprocess.run(
        [CLI, "capture", "--title", "Agent looped on a tool call"],
        env=env(home, POSTMORTEM_TEAM="alpha"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert teams.returncode == 0, teams.stderr
    assert mode(home / "teams") == 0o700 and mode(home / "teams" / "alpha") == 0o700
    assert mode(home / "teams" / "alpha" / "postmortem.db") == 0o600
    assert open_to_others(home) == []


def test_a_running_server_keeps_the_wal_the_index_and_its_locks_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [CLI, "serve"], env=env(home), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for message in (INIT, {"jsonrpc": "2.0", "method": "notifications/initialized"}, CAPTURE):
            proc.stdin.write(json.dumps(message).encode() + b"\n")
            proc.stdin.flush()
        while json.loads(proc.stdout.readline()).get("id") != 2:
            pass
        deadline = time.monotonic() + 120  # the index is opened in the background
        expected = ["postmortem.db-wal", "postmortem.db-shm", "chroma.lock", "chroma/chroma.sqlite3"]
        while not all((home / name).exists() for name in expected) and time.monotonic() < deadline:
            time.sleep(0.2)
        for name in ["postmortem.db", "postmortem.db-wal", "postmortem.db-shm", "chroma.lock"]:
            assert mode(home / name) == 0o600, name
        assert mode(home) == 0o700 and mode(home / "chroma") == 0o700
        assert open_to_others(home) == []
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
        proc.stdout.close()
