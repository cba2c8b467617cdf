"""Idempotent capture: a retry with the same key returns the first result and stores nothing new, even when two
writers race with it."""

import threading
from pathlib import Path

import pytest

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import IncidentCreate
from tests.factories import make_service

pytestmark = pytest.mark.usefixtures("database")  # the store contract: SQLite and PostgreSQL


def failure(key: str | None, n: int = 1) -> IncidentCreate:
    return IncidentCreate(
        title="Planner agent timed out calling flights.search",
        agent="trip-planner",
        tool="flights.search",
        error_type="TimeoutError",
        error_message=f"read timed out after 30 s (request {n})",
        idempotency_key=key,
    )


def test_a_retried_capture_returns_the_first_result_and_stores_nothing(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    first = service.capture_incident(failure("run-7f3a-attempt"))
    again = service.capture_incident(failure("run-7f3a-attempt"))
    assert again.id == first.id and again.replayed and not first.replayed
    stored = service.get_incident(first.id)
    assert stored.occurrences == 1 and len(stored.timeline) == 1
    assert service.knowledge_stats().incidents == 1


def test_a_retried_repeat_is_not_counted_twice(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    first = service.capture_incident(failure("key-first-0001", 1))
    repeat = service.capture_incident(failure("key-repeat-0002", 2))
    retry = service.capture_incident(failure("key-repeat-0002", 2))
    assert repeat.deduplicated and repeat.id == first.id and retry.replayed
    assert service.get_incident(first.id).occurrences == 2
    other = service.capture_incident(failure("key-other-0003", 3))
    assert other.deduplicated and service.get_incident(first.id).occurrences == 3  # a new key is a new occurrence


def test_writers_racing_with_one_key_store_it_once(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    gate = threading.Barrier(4)
    results: list[str] = []
    errors: list[BaseException] = []

    def capture(s: PostmortemService) -> None:
        gate.wait()
        try:
            results.append(s.capture_incident(failure("race-key-abcdef", 9)).id)
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=capture, args=(service,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1 and len(results) == 4
    assert service.knowledge_stats().incidents == 1


def test_losing_the_race_on_the_key_returns_the_winners_capture(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    winner = service.capture_incident(failure("lost-race-key-01", 1))
    real = service.store.find_by_key
    calls = []

    def stale_first(key: str) -> str | None:  # the check ran before the winner committed
        calls.append(key)
        return None if len(calls) == 1 else real(key)

    service.store.find_by_key = stale_first  # type: ignore[method-assign]
    service.resolve_incident(winner.id)  # so the retry is not folded into the open incident as a repeat
    loser = service.capture_incident(failure("lost-race-key-01", 1))
    assert len(calls) == 2 and loser.replayed and loser.id == winner.id
    assert service.knowledge_stats().incidents == 1
