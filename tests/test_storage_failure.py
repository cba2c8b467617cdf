"""What a database failure is said as (server/storage_failure.py): a database another process holds locked, through
the MCP layer and the CLI, on a real SQLite file held by a real second process."""

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from mcp import Client
from sqlalchemy.exc import DatabaseError, OperationalError

from agent_postmortem.errors import shown_on, storage_failure
from agent_postmortem.mcp.server import create_server
from agent_postmortem.store.records import db
from tests.factories import CAPTURE, make_service
from tests.processes import postmortem

HOLD = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("SELECT 1")
print("held", flush=True)
sys.stdin.read()
"""


@contextmanager
def held(database: Path) -> Iterator[None]:
    """`database` held in an exclusive transaction by another process until the block ends."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(database)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "held"
            yield
        finally:
            holder.stdin.close()
            holder.wait(30)


def said_locked(text: str, database: Path) -> None:
    assert f"Another process holds the knowledge base's database ({database}) locked" in text
    assert "nothing was stored" in text and "Try again when that process is done" in text
    assert "disk is full" not in text


@pytest.mark.anyio
async def test_a_capture_over_mcp_while_another_process_holds_the_database_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said "(database is locked) ... If the disk is full or failing, free space or fix it"."""
    monkeypatch.setattr(db, "BUSY_SECONDS", 0.5)
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        with held(tmp_path / "postmortem.db"):
            result = await client.call_tool("capture_incident", CAPTURE)
    assert result.is_error
    said_locked(result.content[0].text, tmp_path / "postmortem.db")  # type: ignore[union-attr]
    assert service.store.count() == 0


def test_a_capture_on_the_command_line_while_another_process_holds_the_database_says_so(tmp_path: Path) -> None:
    """The same through `postmortem capture`, after SQLite's 30 s wait: exit 1, one line, no traceback."""
    assert postmortem("capture", "Booking agent got 429", "--error-message", "quota", home=tmp_path).returncode == 0
    with held(tmp_path / "postmortem.db"):
        run = postmortem("capture", "Refund agent got 502", "--error-message", "bad gateway", home=tmp_path)
    said_locked(run.stderr.decode(), tmp_path / "postmortem.db")
    assert run.returncode == 1 and "Traceback" not in run.stderr.decode()


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (DatabaseError(None, None, Exception("database disk image is malformed")), "damaged"),
        (
            OperationalError(
                None,
                None,
                Exception(
                    'connection to server at "db.internal" (10.0.0.5), port 5432 failed: FATAL:  '
                    "sorry, too many clients already"
                ),
            ),
            "connection limit",
        ),
        (OperationalError(None, None, Exception("database is locked")), "locked"),
        (OperationalError(None, None, Exception("disk I/O error")), "rolled back"),
    ],
)
def test_a_database_failure_on_a_web_page_is_worded_for_its_reader(error: Exception, says: str) -> None:
    """A damaged database said "`postmortem check` says what is wrong" on the page, and one at its connection limit
    "Raise the server's max_connections" with the database's host and port: the page's reader runs no command and
    sets nothing. The page says what happened and that whoever runs the server should see to it."""
    with shown_on("web"):
        page = storage_failure(error)
    assert says in page and "whoever runs this server" in page.lower(), page
    assert not any(word in page for word in ("postmortem ", "max_connections", "db.internal", "10.0.0.5", "5432"))
    assert "max_connections" in storage_failure(error) or says != "connection limit"  # the command line's, unchanged
