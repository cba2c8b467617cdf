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
