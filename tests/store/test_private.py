"""The data directory is private from its first byte: the home and every directory in it 0700, the database (with
its -wal and -shm files), lock files and the tokens file 0600, created so by the CLI and the server themselves."""

import errno
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_postmortem.store.private import write_output

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


def test_files_written_with_incident_text_are_private_as_an_export_is(tmp_path: Path) -> None:
    """`report -o`, `runbook -o` and `learn --out` wrote 0644 files (readable by every user of the machine) while an
    export of the same text was 0600. They are now written as an export is: 0600 (directories they make 0700),
    replacing an existing file whole, through a symbolic link to the file it names, and into a path that is no
    file (/proc/self/fd/1, as /dev/stdout) rather than over it."""
    from agent_postmortem.cli.demo import SEED

    home, out = tmp_path / "home", tmp_path / "out"
    out.mkdir()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [CLI, *args], env=env(home), capture_output=True, text=True, timeout=600, preexec_fn=lambda: os.umask(0o022)
        )
        assert done.returncode == 0, (args, done.stderr)
        return done

    cli("import", str(SEED))
    cli("report", "INC-3", "-o", str(out / "new.md"))
    (out / "old.md").write_text("an older report\n", encoding="utf-8")
    (out / "old.md").chmod(0o644)
    cli("report", "INC-3", "-o", str(out / "old.md"))
    (out / "link.md").symlink_to(out / "new.md")
    cli("runbook", "rate_limit", "-o", str(out / "link.md"))
    cli("learn", "INC-3", "--out", str(out / "learned"))
    cli("export", "-o", str(out / "backup.jsonl"))
    assert (out / "old.md").read_text(encoding="utf-8").startswith("# ") and (out / "link.md").is_symlink()
    assert (out / "new.md").read_text(encoding="utf-8").startswith("# Runbook: rate limit")
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and not p.is_symlink())
    assert written == [
        "backup.jsonl",
        "learned/evals/.learned.json",  # the digest of each case file as written: an edited one is kept
        "learned/evals/regress-INC-3.json",
        "learned/evals/regressions.jsonl",
        "learned/runbooks/PAT-1.md",  # INC-1 to INC-3 (one failure told three times) form PAT-1
        "new.md",
        "old.md",
    ]
    assert {p: oct(mode(out / p)) for p in written} == dict.fromkeys(written, oct(0o600))
    assert mode(out / "learned") == mode(out / "learned" / "evals") == 0o700
    for args in (["report", "INC-3"], ["export"]):  # written into what /dev/stdout names, not replaced
        assert cli(*args, "-o", "/proc/self/fd/1").stdout.strip(), args
    assert not list(out.glob(".*.tmp"))


def test_an_output_path_that_names_a_pipe_or_a_link_is_written_through_not_replaced(tmp_path: Path) -> None:
    """`export -o /dev/stdout` replaced the /dev/stdout link with a file (as root: every later write to /dev/stdout
    on the machine went to that file; as anyone else: permission denied); a link to a backup became a file."""
    read, write = os.pipe()
    try:
        write_output(Path(f"/proc/self/fd/{write}"), "through the pipe\n")
        assert os.read(read, 100) == b"through the pipe\n"
    finally:
        os.close(read)
        os.close(write)
    (tmp_path / "backup.jsonl").write_text("older\n", encoding="utf-8")
    (tmp_path / "latest.jsonl").symlink_to(tmp_path / "backup.jsonl")
    write_output(tmp_path / "latest.jsonl", "newer\n")
    assert (tmp_path / "latest.jsonl").is_symlink() and (tmp_path / "backup.jsonl").read_text() == "newer\n"
    assert mode(tmp_path / "backup.jsonl") == 0o600


def test_an_own_file_in_a_directory_that_refuses_new_files_is_rewritten_in_place_and_made_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No file can be made beside it (the atomic write's temporary), but the file itself is its owner's to rewrite.
    The directory's refusal is played by refusing the temporary file (root, who runs CI, is never refused)."""
    report = tmp_path / "r.md"
    report.write_text("old text, longer than the new one", encoding="utf-8")
    os.chmod(report, 0o644)
    real_open = os.open

    def refusing(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        if Path(path).name.endswith(".tmp"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", refusing)
    write_output(report, "the post-mortem")
    assert report.read_text(encoding="utf-8") == "the post-mortem"
    assert stat.S_IMODE(report.stat().st_mode) == 0o600

    def failing() -> Iterator[str]:  # an export's lines, its read failing part way
        yield "a first line\n"
        raise OSError(errno.EIO, "Input/output error")

    write_output(report, iter(["the ", "runbook"]))  # in pieces, as an export writes
    assert report.read_text(encoding="utf-8") == "the runbook"
    with pytest.raises(OSError, match="Input/output error"):
        write_output(report, failing())
    assert report.read_text(encoding="utf-8") == "the runbook"  # made whole before the file is touched
    with pytest.raises(PermissionError):  # a new file in such a directory is refused, as before
        write_output(tmp_path / "new.md", "text")
