"""A failure dated when it happened (a trace's failure time, `occurred_at`) is a repeat of an open incident of its
signature seen within the dedupe window of that time, not of the time it is imported."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent_postmortem.store.models import IncidentCreate
from tests.factories import make_service

FAILURE = {
    "title": "Ledger sync timed out",
    "error_type": "TimeoutError",
    "error_message": "ledger.sync timed out after 30 s",
    "agent": "ledger-bot",
    "tool": "ledger.sync",
}
NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def _at(when: datetime) -> IncidentCreate:
    return IncidentCreate.model_validate({**FAILURE, "occurred_at": when})


def test_runs_of_one_failure_last_week_imported_today_are_one_incident(tmp_path: Path) -> None:
    """A Collector's export of last week imported today: each failed run of one failure, minutes apart, became an
    incident of its own (the 24-hour window was counted back from the import, so an incident dated last week was
    never "seen within" it), where the same runs sent live were one incident with as many occurrences."""
    service = make_service(tmp_path, clock=lambda: NOW)
    week_ago = NOW - timedelta(days=7)
    first = service.capture_incident(_at(week_ago))
    again = service.capture_incident(_at(week_ago + timedelta(minutes=5)))
    assert again.deduplicated and again.id == first.id and again.occurrences == 2
    earlier = service.capture_incident(_at(week_ago - timedelta(hours=1)))  # an older run, exported late
    assert earlier.deduplicated and earlier.id == first.id
    # runs further apart than the window, on either side of the incident's runs, are failures of their own
    month_ago = service.capture_incident(_at(NOW - timedelta(days=30)))
    assert not month_ago.deduplicated and month_ago.id != first.id
    today = service.capture_incident(_at(NOW - timedelta(minutes=1)))
    assert not today.deduplicated and today.id not in (first.id, month_ago.id)
    live = service.capture_incident(IncidentCreate.model_validate(FAILURE))  # undated: now, as before
    assert live.deduplicated and live.id == today.id
    service.close()
