"""Capture under concurrency: a burst of one failure from many clients at once is one incident with as many
occurrences, driven as it was found, by concurrent MCP clients over real HTTP."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from agent_postmortem.store.models import MAX_CAPTURE_BYTES, ActionItemCreate, IncidentCreate
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import HomeDatabases, make_service
from tests.http_server import TOKEN, serving

BURST = {
    "title": "Ledger sync timed out",
    "error_type": "TimeoutError",
    "error_message": "ledger.sync timed out after 30 s",
    "agent": "ledger-bot",
    "tool": "ledger.sync",
}


async def _capture(url: str, ids: list[str]) -> None:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx2.Timeout(60))
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        result = await client.call_tool("capture_incident", BURST)
        ids.append(result.structured_content["id"])  # type: ignore[index]


def test_a_burst_of_one_failure_from_concurrent_clients_is_one_incident(tmp_path: Path, embedder: Embedder) -> None:
    service = make_service(tmp_path, embedder=embedder)
    ids: list[str] = []

    async def burst(url: str) -> None:
        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(_capture, url, ids)

    with serving(service) as base:
        anyio.run(burst, f"{base}/mcp")
    assert len(ids) == 6 and len(set(ids)) == 1
    assert service.get_incident(ids[0]).occurrences == 6


def test_a_burst_of_different_failures_at_once_never_starves_the_connection_pool(
    tmp_path: Path, embedder: Embedder, database: HomeDatabases
) -> None:
    """Each capture holds its signature's lock while it works: on PostgreSQL an advisory lock on a connection, which
    must not come from the pool the capture's own queries need (20 different failures at once held all 15 and each
    waited for a 16th until the pool timed out)."""
    service = make_service(tmp_path, embedder=embedder)
    failures = [IncidentCreate(title=f"Worker {n} failed", agent=f"agent-{n}", error_type="E") for n in range(20)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(service.capture_incident, failures))
    assert len({c.id for c in ids}) == 20 and time.monotonic() - started < 25


def test_a_repeat_after_its_items_were_completed_is_triaged_full_as_a_fix_that_did_not_hold(tmp_path: Path) -> None:
    """The repeat kept its first capture's lightweight triage while saying `recurred_after_fix`: the policy makes a
    fix that did not hold a full post-mortem."""
    (tmp_path / "triage.toml").write_text("full_when_novel = false\n", encoding="utf-8")
    service = make_service(tmp_path)
    first = service.capture_incident(IncidentCreate.model_validate(BURST))
    assert (first.triage, first.novel) == ("lightweight", True)
    item = service.add_action_item(first.id, ActionItemCreate(title="Raise the ledger.sync deadline"))
    service.update_action_item(item.id, status="completed")
    repeat = service.capture_incident(IncidentCreate.model_validate({**BURST, "title": "Ledger sync timed out again"}))
    assert repeat.deduplicated and repeat.recurred_after_fix and not repeat.novel
    assert repeat.triage == "full" and repeat.triage_reasons[-1].endswith("the fix did not hold")
    assert repeat.triage_reasons[0] == f"occurrence 2 of {first.id}, an open incident with the same failure signature"
    stored = service.get_incident(first.id)  # the record escalated too, not only the answer
    assert (stored.triage, stored.recurred_after_fix) == ("full", True)


def test_a_capture_whose_placeholders_take_it_past_its_total_size_is_stored_trimmed(tmp_path: Path) -> None:
    """As found: 32,000 characters of addresses (a description, an error message and a stack trace, each within its
    limit and the whole within 40 KiB) grew past 40 KiB as each address became its placeholder, and the capture was
    refused with "trim the stack trace or description", though nothing the sender gave was too long: the SDK lost
    the failure. The description is trimmed first, the stack trace keeps its end (where the error is)."""
    service = make_service(tmp_path)
    addresses = ("10.1.2.3 " * 2300)[:20000]
    trace = ("10.1.2.3 " * 1200)[:9900] + "ValueError: boom"
    incident = service.get_incident(
        service.capture_incident(
            IncidentCreate(
                title="Agent failed on every host",
                description=addresses,
                error_message=addresses[:2000],
                stack_trace=trace,
            )
        ).id
    )
    texts = [incident.title, incident.description, incident.error_message or "", incident.stack_trace or ""]
    assert sum(len(t.encode("utf-8")) for t in texts) <= MAX_CAPTURE_BYTES
    assert "10.1.2.3" not in " ".join(texts) and "[REDACTED:" in incident.description
    assert (incident.stack_trace or "").endswith("ValueError: boom")


def test_a_repeat_reports_what_was_redacted_from_it_and_never_stores_or_echoes_its_secret(tmp_path: Path) -> None:
    """A repeat of an open incident answered with its first capture's redaction counts: a repeat that carried a token
    was told "nothing redacted" (`redacted: {}`), or a clean one was told of its first's secrets, so its sender could
    not tell the token was caught. It now reports what was redacted from the repeat itself; the token is in no answer
    and nowhere in the store."""
    service = make_service(tmp_path)
    first = service.capture_incident(IncidentCreate.model_validate({**BURST, "description": "paged ana@example.com"}))
    assert first.redacted == {"email": 1}
    secret = "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
    sent = {**BURST, "title": f"Ledger sync timed out with {secret}", "description": f"ran as {secret}"}
    repeat = service.capture_incident(IncidentCreate.model_validate(sent))
    assert repeat.deduplicated and repeat.id == first.id
    assert sum(repeat.redacted.values()) == 2 and set(repeat.redacted) == {"github_token"}
    assert secret not in repeat.model_dump_json() and secret not in service.get_incident(first.id).model_dump_json()
    again = service.capture_incident(IncidentCreate.model_validate(BURST))  # a repeat with nothing to redact
    assert again.deduplicated and again.redacted == {}
    service.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert secret.encode() not in stored
