"""The migrations that sign stored incidents again (0006, 0009, 0010, 0013; store/records/resign.py): each leaves
every stored signature as the current rule computes it, so a failure captured after the upgrade groups with its past
occurrences."""

import json
from pathlib import Path

from sqlalchemy import text

from agent_postmortem.store.models import Incident
from agent_postmortem.store.records import db
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.signature import failure_signature
from tests.factories import HomeDatabases


def signed_again(
    tmp_path: Path, database: HomeDatabases, before: str, messages: list[str | None], *, error_type: str
) -> list[Incident]:
    """Incidents stored at schema `before` with an old rule's signature (none without an error), upgraded: their
    signatures as the upgrade left them, checked against the current rule."""
    engine = database.engine(tmp_path, migrated=False)
    db.upgrade(engine, lock_dir=tmp_path, revision=before)
    with engine.begin() as conn:
        for n, message in enumerate(messages):
            body = {"error_type": error_type if message else None, "error_message": message, "triage": "full"}
            conn.execute(
                text(
                    "insert into incidents (title, category, severity, status, agent, tool, created_at, "
                    "postmortem_completed, content_hash, signature, body) values ('Old failure', 'tool_failure', "
                    "'SEV4', 'open', 'bot', 'fares', '2026-01-02 03:04:05.000000', false, :hash, :signature, :body)"
                ),
                {"hash": f"h{n}", "signature": f"{before}-rule-{n}" if message else None, "body": json.dumps(body)},
            )
    db.upgrade(engine, lock_dir=tmp_path)
    stored = [IncidentStore(engine).get_or_raise(f"INC-{n}") for n in range(1, len(messages) + 1)]
    assert [i.signature for i in stored] == [failure_signature(i) for i in stored]
    return stored


def test_stored_incidents_are_signed_again_with_the_current_rule(tmp_path: Path, database: HomeDatabases) -> None:
    """0006: the old rule masked every digit, so a 503 was an occurrence of a 429 and ORA-00942 of ORA-01017."""
    messages: list[str | None] = [
        "HTTP 429 from fares (request 8812)",
        "HTTP 503 from fares (request 8813)",
        "ORA-00942 on load",
    ]
    stored = signed_again(tmp_path, database, "0005", messages, error_type="HTTPError")
    assert len({i.signature for i in stored}) == 3


def test_stored_incidents_are_signed_again_keeping_every_status(tmp_path: Path, database: HomeDatabases) -> None:
    """0009: the rule of 0006 masked a 301 and a 302 alike, and `status_code=404` like `status_code=500`."""
    messages = ["HTTP 301 Moved Permanently", "HTTP 302 Found", "status_code=404", "status_code=500", None]
    stored = signed_again(tmp_path, database, "0008", messages, error_type="HTTPError")
    assert len({i.signature for i in stored[:4]}) == 4 and stored[4].signature is None


def test_stored_incidents_are_signed_again_masking_timestamps(tmp_path: Path, database: HomeDatabases) -> None:
    """0010: the rule of 0009 kept a timestamp's date, hour and seconds, so one failure seen at two times signed as
    two."""
    messages = [
        "export stalled at 2026-07-01T00:05:14Z",
        "export stalled at 2026-07-02T03:41:09Z",
        "export stalled at 2026-07-01T00:05:14Z for api-version 2024-06-01",
        "export stalled at 2026-07-01T00:05:14Z for api-version 2024-10-21",
        None,
    ]
    signatures = [i.signature for i in signed_again(tmp_path, database, "0009", messages, error_type="ExportError")]
    assert signatures[0] == signatures[1] and len(set(signatures[1:4])) == 3 and signatures[4] is None


def test_stored_incidents_are_signed_again_masking_a_number_after_a_time(
    tmp_path: Path, database: HomeDatabases
) -> None:
    """0013: the rule of 0010 kept the number after a timestamp's hyphen ("TIME-30 retries"), so one failure with
    another count signed as two."""
    messages: list[str | None] = [
        "backoff 12:00:00-30 retries",
        "backoff 12:00:00-31 retries",
        "backoff 12:00:00-05:00 retries",
    ]
    stored = signed_again(tmp_path, database, "0012", messages, error_type="ExportError")
    assert stored[0].signature == stored[1].signature != stored[2].signature


def test_stored_incidents_are_signed_again_masking_releases(tmp_path: Path, database: HomeDatabases) -> None:
    """0016: the rules up to 0015 kept a release in the message, so one failure seen in v1.2.3 and v1.2.4 signed as
    two (a new incident per release, not an occurrence), while runbooks already read them as one symptom. Stored at
    0015's schema with 0015's signatures, upgraded: one signature for the releases, names with digits and HTTP's
    version kept."""
    messages: list[str | None] = [
        "flights-client v1.2.3 timed out",
        "flights-client v1.2.4 timed out",
        "flights-client 2.0.0-rc1 timed out",
        "flights2-client v1.2.3 timed out",
        "HTTP/1.1 503 from flights",
        "HTTP/2 503 from flights",
        None,
    ]
    stored = signed_again(tmp_path, database, "0015", messages, error_type="ClientError")
    signatures = [i.signature for i in stored]
    assert signatures[0] == signatures[1] == signatures[2] != signatures[3]
    assert len(set(signatures[3:6])) == 3 and signatures[6] is None
