"""Failure signatures and masked error text: HTTP statuses of every class stay, so a runbook entry shows the
404 or the 301 that was seen, while counts, durations and ids are masked."""

import json
from pathlib import Path

import pytest

from agent_postmortem.cli.demo import SEED
from agent_postmortem.store.signature import mask_volatile
from tests.processes import postmortem


@pytest.mark.parametrize(
    ("message", "masked"),
    [
        ("HTTP/1.1 404 Not Found", "HTTP/1.1 404 Not Found"),
        ("HTTP 301 Moved Permanently", "HTTP 301 Moved Permanently"),
        ("upstream answered HTTP/2 302 for /v2/items/4471", "upstream answered HTTP/2 302 for /v2/items/N"),
        ("status_code=404 after 3 retries", "status_code=404 after N retries"),
        ("statusCode: 503", "statusCode: 503"),
        ("the server responded with a status of 404 ()", "the server responded with a status of 404 ()"),
        ("HTTP status 100 Continue", "HTTP status 100 Continue"),
        ("code 302", "code 302"),
        ("fetch failed: 404", "fetch failed: 404"),
        ("429", "429"),
        ("404 Not Found", "404 Not Found"),
    ],
)
def test_an_http_status_of_any_class_is_kept(message: str, masked: str) -> None:
    assert mask_volatile(message) == masked


@pytest.mark.parametrize(
    ("message", "masked"),
    [
        ("returned 200 rows", "returned N rows"),
        ("200 rows deleted", "N rows deleted"),
        ("rate limit of 500 RPM", "rate limit of N RPM"),
        ("timed out after 500 ms", "timed out after N ms"),
        ("retry 301 of 400", "retry N of N"),
    ],
)
def test_a_count_or_a_duration_shaped_like_a_status_is_still_masked(message: str, masked: str) -> None:
    assert mask_volatile(message) == masked


def test_a_runbook_entry_shows_the_statuses_seen(tmp_path: Path) -> None:
    """The whole path: an incident with an accepted analysis imported, its category's runbook through the CLI."""
    row = json.loads(SEED.read_text(encoding="utf-8").splitlines()[0])
    row |= {"error_type": "HTTPError", "error_message": "GET /v2/articles/4471 answered HTTP/1.1 301 Moved "
            "Permanently, then status_code=404 after 3 retries"}  # fmt: skip
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    assert postmortem("import", str(path), home=home).returncode == 0
    shown = postmortem("runbook", row["category"], "--json", home=home)
    assert shown.returncode == 0, shown.stderr.decode()
    assert json.loads(shown.stdout)["error_patterns"] == [
        "HTTPError: GET /v2/articles/N answered HTTP/1.1 301 Moved Permanently, then status_code=404 after N retries"
    ]


@pytest.mark.parametrize(
    ("message", "masked"),
    [
        ("export stalled at 2026-07-01T00:05:14Z", "export stalled at TIME"),
        ("deadline 2026-07-01T00:05:14.123+02:00 passed after 3 tries", "deadline TIME passed after N tries"),
        ("2026-07-01 00:05:14,123 ERROR worker lost", "TIME ERROR worker lost"),
        ("2026/07/01 00:05:14 dial tcp: i/o timeout", "TIME dial tcp: i/o timeout"),
        ("Jul 01 00:05:14 host kernel: oom-kill", "TIME host kernel: oom-kill"),
        ("Jul  1 00:05:14 host cron failed", "TIME host cron failed"),
        ("Date: Tue, 01 Jul 2026 00:05:14 GMT", "Date: TIME"),
        ('[01/Jul/2026:00:05:14 +0000] "GET /v2/items" upstream gone', '[TIME] "GET /v2/items" upstream gone'),
        ("lock held since 00:05:14.250", "lock held since TIME"),
    ],
)
def test_a_timestamp_is_masked_as_one_unit(message: str, masked: str) -> None:
    """'2026-07-01T00:05:14Z' read '2026-07-01T00:N:14Z': the date, the hour and the seconds stayed."""
    assert mask_volatile(message) == masked
    assert mask_volatile(message.lower()).count("TIME") == 1  # as signatures read it


@pytest.mark.parametrize(
    ("message", "masked"),
    [
        ("12:00:00-30 retries", "TIME-N retries"),
        ("stalled at 2026-07-01T12:00:00-31 retries later", "stalled at TIME-N retries later"),
        ("2026-07-01 00:05:14-3 attempts", "TIME-N attempts"),
        ("12:00:00-15s of backoff", "TIME-Ns of backoff"),
        ("12:00:00-05:00 gone", "TIME gone"),  # an offset from UTC stays part of the time
        ("12:00:00-0500 gone", "TIME gone"),
    ],
)
def test_a_number_after_a_timestamps_hyphen_is_masked_as_a_number(message: str, masked: str) -> None:
    """'12:00:00-30 retries' read 'TIME-30 retries': the hyphen kept the count from being masked, so the same
    failure with 31 retries signed apart."""
    assert mask_volatile(message) == masked


def test_the_seed_keeps_its_groups() -> None:
    """The seed's 45 incidents sign into 42 groups: a change of the masking rule that regroups them is a change of
    what counts as one failure, and needs saying (and a migration)."""
    from agent_postmortem.ingest.jsonl import read_incidents
    from agent_postmortem.store.signature import failure_signature

    signatures = [failure_signature(i) for i in read_incidents(SEED)]
    assert len(signatures) == 45 and None not in signatures and len(set(signatures)) == 42


@pytest.mark.parametrize(
    "message",
    [
        "api-version 2024-06-01 is not supported",  # a date alone names a version as often as a day
        "model gpt-4o-2024-08-06 not found",
        "fe80::1:22:33 unreachable",
    ],
)
def test_a_date_alone_and_an_address_are_not_a_timestamp(message: str) -> None:
    assert "TIME" not in mask_volatile(message)


def test_captures_of_one_failure_at_different_times_are_one_incident(tmp_path: Path) -> None:
    """Each capture's timestamp signed it apart: a failure that repeats with its time in the message was a new
    incident every time, not an occurrence of the open one."""
    home = tmp_path / "home"
    ids = []
    for at in ("2026-07-01T00:05:14Z", "2026-07-01T00:07:52Z"):
        captured = postmortem(
            *("capture", "--title", "Nightly export failed", "--agent", "exporter", "--tool", "s3.put"),
            *("--error-type", "ExportError", "--error-message", f"export stalled at {at}, no progress", "--json"),
            home=home,
        )
        assert captured.returncode == 0, captured.stderr.decode()
        answer = json.loads(captured.stdout)
        ids.append((answer["id"], answer["occurrences"]))
    assert ids == [("INC-1", 1), ("INC-1", 2)]


def test_a_runbook_entry_shows_a_timestamp_masked(tmp_path: Path) -> None:
    row = json.loads(SEED.read_text(encoding="utf-8").splitlines()[0])
    row |= {"error_type": "ExportError", "error_message": "export stalled at 2026-07-01T00:05:14Z after 3 tries"}
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    assert postmortem("import", str(path), home=home).returncode == 0
    shown = postmortem("runbook", row["category"], "--json", home=home)
    assert shown.returncode == 0, shown.stderr.decode()
    assert json.loads(shown.stdout)["error_patterns"] == ["ExportError: export stalled at TIME after N tries"]


def test_one_failure_in_two_releases_has_one_signature() -> None:
    """v1.2.3 and v1.2.4 of one client signed as two failures, where its runbook already showed one symptom: a failure
    that outlived a release was a new incident, not an occurrence of the open one."""
    from types import SimpleNamespace

    from agent_postmortem.store.signature import failure_signature

    def signed(message: str) -> str | None:
        return failure_signature(SimpleNamespace(agent="planner", tool="fares", error_type="E", error_message=message))

    same = ["fares-client v1.2.3 timed out", "fares-client V1.2.4 timed out", "fares-client 2.0.0-rc1 timed out"]
    assert len({signed(m) for m in same}) == 1
    assert signed("fares-client v1.2.3 timed out") != signed("fares-client timed out")
    assert signed("HTTP/1.1 429 from fares") != signed("HTTP/1.1 503 from fares")
