"""The SDK while the database is down for a moment (a PostgreSQL restart or failover): a team server answers but
cannot store the capture, or the agent's own store cannot reach its database; the recorder tries it again, as after a
refused connection to a team server."""

import sqlite3

import psycopg
import pytest
from sqlalchemy.exc import DatabaseError, OperationalError

from agent_postmortem.errors import shown_on, storage_failure
from agent_postmortem.sdk.recorder import Recorder
from agent_postmortem.sdk.remote import RemoteService
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.results import CaptureResult
from agent_postmortem.storage_failure import database_away, passes
from agent_postmortem.store.models import IncidentCreate
from tests.http_server import TOKEN


def test_a_capture_the_team_server_could_not_store_while_its_database_was_down_is_sent_again(
    team: PostmortemService, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team server whose PostgreSQL restarted answered 'The incident store is unreachable ... try again later' and
    the recorder dropped the capture at once, as if the capture itself were refused. It is sent again, with the same
    idempotency key, as after a refused connection, and stored once the database is back."""
    stored = team.capture_incident
    down = OperationalError(None, None, Exception('connection failed: connection to server at "db", port 5432 failed'))
    attempts: list[str | None] = []

    def database_down_once(data: IncidentCreate) -> CaptureResult:
        attempts.append(data.idempotency_key)
        if len(attempts) == 1:
            raise down
        return stored(data)

    monkeypatch.setattr(team, "capture_incident", database_down_once)
    sleeps: list[float] = []
    remote = RemoteService(url, token=TOKEN, sleep=sleeps.append)
    recorder = Recorder(agent="billing-bot", service=lambda: remote, wait_on_error=0)
    recorder.capture(ValueError("invoice total does not match its lines"), tool="invoices.create")
    assert recorder.flush(timeout=60)
    assert recorder.failed == 0 and len(recorder.captured_ids) == 1
    assert len(attempts) == 2 and attempts[0] == attempts[1] and sleeps == [remote.retry_delays[0]]
    assert team.knowledge_stats().incidents == 1


@pytest.mark.parametrize(
    ("reason", "passing"),
    [
        ('connection failed: connection to server at "db", port 5432 failed: Connection refused', True),
        ("FATAL: sorry, too many clients already", True),
        ("database is locked", True),
        ("database disk image is malformed", False),
    ],
)
def test_what_a_team_server_says_of_its_database_tells_the_sdk_whether_to_send_again(
    reason: str, passing: bool
) -> None:
    """The recorder sends a capture again on the words of the server's answer: each failure that passes by itself is
    said with them to a client with a token, a damaged database is not (no retry mends it)."""
    error = (DatabaseError if "malformed" in reason else OperationalError)(None, None, Exception(reason))
    with shown_on("mcp", remote=True):
        said = storage_failure(error)
    assert passes(said) is passing


def test_a_local_capture_made_while_postgresql_restarts_is_stored_once_it_is_back(
    team: PostmortemService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent capturing straight into a team's PostgreSQL (POSTMORTEM_DATABASE_URL, no team server) logged "a
    capture was not stored: The incident store could not connect to its database" during a database restart, and the
    capture was lost. It is tried again with one idempotency key, as a team server's capture is."""
    stored = team.capture_incident
    attempts: list[str | None] = []

    def database_restarting(data: IncidentCreate) -> CaptureResult:
        attempts.append(data.idempotency_key)
        if len(attempts) < 3:  # the server refused, then was still starting up
            raise OperationalError(None, None, psycopg.OperationalError("connection failed: Connection refused"))
        return stored(data)

    monkeypatch.setattr(team, "capture_incident", database_restarting)
    recorder = Recorder(agent="billing-bot", service=lambda: team, wait_on_error=0)
    recorder.capture(ValueError("invoice total does not match its lines"), tool="invoices.create")
    assert recorder.flush(timeout=60)
    assert recorder.failed == 0 and len(recorder.captured_ids) == 1
    assert len(attempts) == 3 and attempts[0] is not None and len(set(attempts)) == 1
    assert team.knowledge_stats().incidents == 1


@pytest.mark.parametrize(
    ("error", "away"),
    [
        (OperationalError(None, None, psycopg.OperationalError("server closed the connection unexpectedly")), True),
        (OperationalError(None, None, sqlite3.OperationalError("unable to open database file")), False),
        (OperationalError(None, None, sqlite3.OperationalError("database is locked")), False),
        (ValueError("not the database"), False),
    ],
)
def test_only_a_database_server_that_may_come_back_is_waited_for(error: Exception, away: bool) -> None:
    """SQLite's failures do not pass by waiting (a file that cannot be opened) or were waited for already (a lock)."""
    assert database_away(error) is away
