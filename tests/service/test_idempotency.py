"""Idempotent capture: a retry with the same key returns the first result and stores nothing new, even when two
writers race with it."""

import threading
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from sqlalchemy import text

from agent_postmortem.errors import KeyReused
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import ActionItemCreate, Incident, IncidentCreate
from agent_postmortem.store.records.idempotency import KnownKey
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import HomeDatabases, make_service
from tests.old_rows import WRITTEN_AT, rows_at
from tests.processes import stdio_server

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


def test_a_retried_repeat_answers_as_the_repeat_did_not_as_a_new_incident(tmp_path: Path) -> None:
    """The key kept only the incident, so a retry of a repeat's capture was answered as its first capture had been:
    `deduplicated: false`, `novel: true`, its first triage reasons."""
    service = make_service(tmp_path)
    first = service.capture_incident(failure("key-first-0101", 1))
    repeat = service.capture_incident(failure("key-repeat-0102", 2))
    service.capture_incident(failure("key-later-0103", 3))  # a third occurrence after it: the retry is still the 2nd
    retry = service.capture_incident(failure("key-repeat-0102", 2))
    assert first.novel and repeat.deduplicated and not repeat.novel and repeat.occurrences == 2
    assert retry.replayed and retry.model_dump(exclude={"replayed"}) == repeat.model_dump(exclude={"replayed"})
    assert retry.triage_reasons[0].startswith(f"occurrence 2 of {first.id}")
    assert service.get_incident(first.id).occurrences == 3


def test_a_repeat_after_a_completed_fix_reads_its_incident_once(tmp_path: Path) -> None:
    """It read the whole record to note the recurrence, then again for its answer."""
    service = make_service(tmp_path)
    first = service.capture_incident(failure(None, 1))
    item = service.add_action_item(first.id, ActionItemCreate(title="Retry flights.search with backoff"))
    service.update_action_item(item.id, status="completed")
    reads: list[str] = []
    real = service.store.get_or_raise

    def counted(incident_id: str) -> Incident:
        reads.append(incident_id)
        return real(incident_id)

    service.store.get_or_raise = counted  # type: ignore[method-assign]
    repeat = service.capture_incident(failure("key-after-fix-01", 2))
    assert reads == [first.id]
    assert repeat.deduplicated and repeat.recurred_after_fix and repeat.occurrences == 2 and repeat.triage == "full"
    assert repeat.fixed_action_items and repeat.fixed_action_items[0].id == item.id
    stored = service.get_incident(first.id)
    assert stored.occurrences == 2 and stored.recurred_after_fix and stored.triage == "full"
    retry = service.capture_incident(failure("key-after-fix-01", 2))
    assert retry.model_dump(exclude={"replayed"}) == repeat.model_dump(exclude={"replayed"})


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

    def stale_first(key: str) -> KnownKey | None:  # the check ran before the winner committed
        calls.append(key)
        return None if len(calls) == 1 else real(key)

    service.store.find_by_key = stale_first  # type: ignore[method-assign]
    service.resolve_incident(winner.id)  # so the retry is not folded into the open incident as a repeat
    loser = service.capture_incident(failure("lost-race-key-01", 1))
    assert len(calls) == 2 and loser.replayed and loser.id == winner.id
    assert service.knowledge_stats().incidents == 1


@pytest.mark.anyio
async def test_distinct_keys_holding_emails_or_ips_are_distinct_captures_over_stdio(
    tmp_path: Path, database: HomeDatabases, embedder: Embedder
) -> None:
    """Keys are opaque: redacting them made `retry-alice@example.com` and `retry-bob@example.com` one key, and Bob's
    capture was answered `replayed: true` and never stored. `embedder`: the model is exported once, not per server."""
    keys = ["retry-alice@example.com", "retry-bob@example.com", "run-10.0.4.12-a", "run-10.0.4.13-a"]
    async with Client(stdio_server(tmp_path, database.settings(tmp_path))) as client:
        first = [await _capture(client, f"Refund agent {n} failed on order {n}", key) for n, key in enumerate(keys)]
        again = [await _capture(client, f"Refund agent {n} failed on order {n}", key) for n, key in enumerate(keys)]
        listed = await client.call_tool("list_incidents", {"limit": 50})
    assert [r["replayed"] for r in first] == [False] * 4 and len({r["id"] for r in first}) == 4
    assert [r["replayed"] for r in again] == [True] * 4 and [r["id"] for r in again] == [r["id"] for r in first]
    assert len(listed.structured_content["incidents"]) == 4  # type: ignore[index]
    with database.engine(tmp_path).connect() as conn:
        stored = [str(k) for k in conn.execute(text('select "key" from idempotency_keys')).scalars()]
    assert len(stored) == 4 and not any(k in s or "REDACTED" in s for k in keys for s in stored)  # digests only


async def _capture(client: Client, title: str, key: str) -> dict[str, Any]:
    result = await client.call_tool("capture_incident", {"title": title, "idempotency_key": key})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def test_keys_stored_before_the_digests_are_still_recognised_and_rewritten_ones_are_dropped(
    tmp_path: Path, database: HomeDatabases
) -> None:
    """Migration 0007: a key redaction had left alone (a UUID, `sdk-<hex>`, `otel-trace:<id>`) is rewritten to its
    digest, so a retry after the upgrade is still a replay; one redaction had rewritten (`[REDACTED:email]`) could
    match another client's key: it is dropped."""
    engine = database.engine(tmp_path, migrated=False)
    incident = {
        "title": "Planner agent timed out calling flights.search",
        "severity": "SEV3",
        "status": "resolved",
        "body": '{"description": "", "triage": "full"}',
    }
    keys = [
        {"key": key, "incident_pk": 1, "created_at": WRITTEN_AT}
        for key in ("otel-trace:4bf92f3577b34da6a3ce929d0e0e4736", "[REDACTED:email]")
    ]
    rows_at(engine, tmp_path, "0005", incidents=[incident], idempotency_keys=keys)  # as the code at 0005 wrote them
    service = make_service(tmp_path)
    retried = service.capture_incident(failure("otel-trace:4bf92f3577b34da6a3ce929d0e0e4736"))
    assert retried.replayed and retried.id == "INC-1"
    fresh = service.capture_incident(failure("[REDACTED:email]", 2))
    assert not fresh.replayed and fresh.id != "INC-1"
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from idempotency_keys")).scalar() == 2


def test_keys_are_compared_exactly_as_sent_not_stripped(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    padded = service.capture_incident(failure(" run-7f3a-key ", 1))
    plain = service.capture_incident(failure("run-7f3a-key", 2))
    assert not plain.replayed and plain.deduplicated and plain.id == padded.id  # a new key: one more occurrence
    assert service.capture_incident(failure(" run-7f3a-key ", 1)).replayed


def test_a_key_sent_again_with_another_failure_is_refused_not_answered_as_a_retry(tmp_path: Path) -> None:
    """`postmortem capture --title "Other thing failed" --idempotency-key run-7f3a` with a key already used said "a
    retry with the same idempotency key: nothing new was stored" and answered the first capture: the new failure was
    dropped without a word."""
    service = make_service(tmp_path)
    first = service.capture_incident(failure("run-7f3a-attempt"))
    other = IncidentCreate(
        title="Billing agent refunded an order twice",
        agent="billing-bot",
        tool="payments.refund",
        error_type="DuplicateRefund",
        idempotency_key="run-7f3a-attempt",
    )
    with pytest.raises(KeyReused, match=f"already used for the capture of {first.id}, a different failure"):
        service.capture_incident(other)
    assert service.knowledge_stats().incidents == 1
    assert service.capture_incident(failure("run-7f3a-attempt")).replayed  # the retry itself still replays
