"""Disk full and I/O errors while capturing, on the real stdio server: the capture answers with a clear error, no
partial incident is stored, reads keep working, and once the fault clears the database is intact and captures
work again. Disk full is a file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored so writes fail with EFBIG); I/O
errors come from libfiu (`fiu-run`, Debian's fiu-utils), which makes the server's pwrite calls fail with EIO."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from agent_postmortem.store.search.embedding import Embedder
from tests.factories import missing_tool
from tests.processes import CLI, server_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
LIMITED = """
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # kept across exec: a write past the limit fails instead of killing
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
os.execv(sys.argv[2], sys.argv[2:])
"""
WRITE_FAILPOINTS = ("posix/io/rw/pwrite", "posix/io/rw/pwrite64")
PARAGRAPH = "The {n} agent retried the {word} tool after a partial response and then wrote a stale {word} record. "
WORDS = ["ledger", "invoice", "planner", "browser", "refund", "pricing", "calendar", "ticket"]


def env(home: Path) -> dict[str, str]:
    return {**server_env(home), "POSTMORTEM_MODEL_CACHE": os.environ["POSTMORTEM_MODEL_CACHE"]}


def incident(n: int) -> dict[str, Any]:
    word = WORDS[n % len(WORDS)]
    text = "".join(PARAGRAPH.format(n=f"{word}-{k}", word=word) for k in range(40))
    return {"title": f"The {word} agent {n} wrote a stale {word} record", "description": text, "agent": f"agent-{n}"}


def database(home: Path) -> tuple[str, int]:
    with sqlite3.connect(home / "postmortem.db") as conn:
        return conn.execute("pragma integrity_check").fetchone()[0], conn.execute(
            "select count(*) from incidents"
        ).fetchone()[0]


async def prepare(home: Path) -> list[str]:
    async with Client(StdioServerParameters(command=CLI, args=["serve"], env=env(home))) as client:
        return [(await client.call_tool("capture_incident", incident(n))).structured_content["id"] for n in range(3)]  # type: ignore[index]


async def capture_until_refused(client: Client, first: int) -> tuple[list[str], str]:
    stored: list[str] = []
    for n in range(first, first + 200):
        result = await client.call_tool("capture_incident", incident(n))
        if result.is_error:
            return stored, result.content[0].text  # type: ignore[union-attr]
        stored.append(result.structured_content["id"])  # type: ignore[index]
    pytest.fail("the fault never reached a capture")


async def reads_still_work(client: Client, ids: list[str]) -> None:
    got = await client.call_tool("get_incident", {"incident_id": ids[0]})
    assert not got.is_error and got.structured_content["id"] == ids[0]  # type: ignore[index]
    found = await client.call_tool("search_incidents", {"query": "agent wrote a stale ledger record"})
    assert not found.is_error and found.structured_content["hits"]  # type: ignore[index]


def refused_clearly(message: str) -> None:
    assert "could not complete" in message and "nothing partial" in message, message
    assert "Traceback" not in message and "INSERT" not in message.upper() and "stale" not in message


async def test_a_full_disk_refuses_the_capture_and_keeps_serving_reads(tmp_path: Path, embedder: Embedder) -> None:
    before = await prepare(tmp_path)
    files = [tmp_path / "postmortem.db", tmp_path / "postmortem.db-wal"]
    limit = max(f.stat().st_size for f in files if f.exists()) + 512 * 1024  # room for a few captures
    params = StdioServerParameters(
        command=sys.executable, args=["-c", LIMITED, str(limit), CLI, "serve"], env=env(tmp_path)
    )
    async with Client(params) as client:
        stored, message = await capture_until_refused(client, 3)
        refused_clearly(message)
        assert stored, "the limit left no room for a first capture: the test would not test a capture filling it"
        await reads_still_work(client, before)
        assert (await client.call_tool("capture_incident", incident(999))).is_error  # still full: still refused
    integrity, count = database(tmp_path)
    assert integrity == "ok" and count == len(before) + len(stored)  # every stored capture, and nothing else

    async with Client(StdioServerParameters(command=CLI, args=["serve"], env=env(tmp_path))) as client:
        after = await client.call_tool("capture_incident", incident(1000))  # space again: captures work
        assert not after.is_error
    assert database(tmp_path) == ("ok", len(before) + len(stored) + 1)


def fiu_ctrl(command: str, pid: int) -> None:
    for name in WRITE_FAILPOINTS:
        subprocess.run(
            ["fiu-ctrl", "-c", f"{command} name={name}" + (",failinfo=5" if command == "enable" else ""), str(pid)],
            check=True,
        )


async def test_io_errors_refuse_the_capture_and_keep_serving_reads(tmp_path: Path, embedder: Embedder) -> None:
    if shutil.which("fiu-run") is None:
        missing_tool("fiu-run is not installed (Debian: apt-get install fiu-utils; make test does it as root)")
    before = await prepare(tmp_path)
    params = StdioServerParameters(command="fiu-run", args=["-x", CLI, "serve"], env=env(tmp_path))
    async with Client(params) as client:
        ok = await client.call_tool("capture_incident", incident(3))  # the server is up and writing
        assert not ok.is_error
        pid = await _owner_pid(tmp_path)  # the server takes the index in the background; fiu-run execs it
        fiu_ctrl("enable", pid)  # every pwrite now fails with EIO (5)
        failed = await client.call_tool("capture_incident", incident(4))
        assert failed.is_error
        refused_clearly(failed.content[0].text)  # type: ignore[union-attr]
        await reads_still_work(client, before)
        fiu_ctrl("disable", pid)  # the fault clears
        again = await client.call_tool("capture_incident", incident(5))
        assert not again.is_error, again.content
    assert database(tmp_path) == ("ok", len(before) + 2)


async def _owner_pid(home: Path, seconds: float = 60) -> int:
    lock = home / "chroma.lock"
    for _ in range(int(seconds * 10)):
        text = lock.read_text().strip() if lock.exists() else ""
        if text.isdigit():
            return int(text)
        await anyio.sleep(0.1)
    pytest.fail("the server never took the index")


# --- a damaged database file ------------------------------------------------------------------------------------------

DAMAGES = {
    "not a database": lambda data: b"\xab" * 100 + data[100:],  # the header SQLite checks first
    "malformed": lambda data: data[:4096] + b"\xab" * (len(data) - 4096),  # every b-tree page but the schema's
}


def damage(home: Path, how: str) -> None:
    path = home / "postmortem.db"
    with sqlite3.connect(path) as conn:  # everything in the database file itself, where the damage goes
        conn.execute("pragma wal_checkpoint(truncate)")
    path.write_bytes(DAMAGES[how](path.read_bytes()))


def said_damaged(message: str) -> None:
    assert "database is damaged" in message and "postmortem check" in message, message
    assert "unexpected" not in message and "Traceback" not in message and "stale" not in message, message


@pytest.mark.parametrize("how", DAMAGES)
async def test_a_damaged_database_is_named_with_what_to_do_by_every_command_and_tool(
    tmp_path: Path, embedder: Embedder, how: str
) -> None:
    """Every command and tool answered "error: unexpected DatabaseError" or the SDK's bare "Error executing tool X",
    and `postmortem check`, the command meant to find it, crashed the same way."""
    await prepare(tmp_path)
    damage(tmp_path, how)
    commands = [["list"], ["show", "INC-1"], ["search", "stale ledger record"], ["capture", "--title", "Agent looped"]]
    for args in commands:
        done = subprocess.run([CLI, *args], env=env(tmp_path), capture_output=True, text=True, timeout=240)
        assert done.returncode == 1, (args, done.stderr)
        said_damaged(done.stderr)
    checked = subprocess.run([CLI, "check", "--json"], env=env(tmp_path), capture_output=True, text=True, timeout=240)
    assert checked.returncode == 1 and checked.stderr == "", checked.stderr
    report = json.loads(checked.stdout)
    assert report["database_integrity"].startswith("damaged: ") and report["records"] is None
    async with Client(StdioServerParameters(command=CLI, args=["serve"], env=env(tmp_path))) as client:
        for tool, arguments in [("list_incidents", {}), ("knowledge_stats", {}), ("capture_incident", incident(9))]:
            result = await client.call_tool(tool, arguments)
            assert result.is_error
            said_damaged(result.content[0].text)  # type: ignore[union-attr]
