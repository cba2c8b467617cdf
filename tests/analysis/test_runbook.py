"""Runbook entries (server/analysis/runbook.py): the symptoms read alike when only a variable part differs."""

from agent_postmortem.analysis.runbook import runbook_entry
from agent_postmortem.store.models import Category, Incident
from tests.factories import FIXED_NOW


def _timeout(n: int, message: str) -> Incident:
    return Incident(
        id=f"INC-{n}",
        title=f"Planner timed out on flights.search ({n})",
        category=Category.TIMEOUT,
        severity="SEV3",
        triage="full",
        error_type="TimeoutError",
        error_message=message,
        created_at=FIXED_NOW,
    )


def test_versions_in_error_messages_are_one_symptom() -> None:
    """Each release of a client was a symptom of its own ("flights-client v1.2.3 ...", "flights-client 1.2.4 ...",
    "flights-client 2.0.0-rc1 ..."), where request ids and counts are masked into one."""
    said = ["flights-client v1.2.3 timed out", "flights-client 1.2.4 timed out", "flights-client 2.0.0-rc1 timed out"]
    said += ["flights-client V3.1 timed out", "flights-client 1.2.3+build.7 timed out"]
    said += ["flights-client 2.0.0rc2 timed out"]
    incidents = [_timeout(n, message) for n, message in enumerate(said, start=1)]
    entry = runbook_entry("timeout", "timeout", incidents, [], Category.TIMEOUT, now=FIXED_NOW)
    assert entry.symptoms[0] == "TimeoutError: flights-client VERSION timed out (seen 6x)", entry.symptoms
    assert entry.error_patterns == ["TimeoutError: flights-client VERSION timed out"]


def test_an_address_a_decimal_and_an_http_version_are_not_read_as_versions() -> None:
    said = ["connect to 10.0.0.1:5432 failed", "waited 1.5 s", "HTTP/1.1 504 Gateway Timeout", "api-version 2024-06-01"]
    incidents = [_timeout(n, message) for n, message in enumerate(said, start=1)]
    entry = runbook_entry("timeout", "timeout", incidents, [], Category.TIMEOUT, now=FIXED_NOW)
    assert "VERSION" not in " ".join(entry.symptoms), entry.symptoms
