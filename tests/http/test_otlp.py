"""The live OTLP/HTTP receiver, over real HTTP: `POST /v1/traces` guarded like `/mcp`, answering per OTLP/HTTP."""

import gzip
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import FIXTURES, make_service
from tests.http_server import TOKEN, serving

FIXTURE = FIXTURES / "otlp" / "genai_traces.jsonl"
TRIP, SUPPORT_CHILD, _ = FIXTURE.read_bytes().splitlines()
JSON = {"Content-Type": "application/json"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[httpx.Client, PostmortemService]]:
    service = make_service(tmp_path_factory.mktemp("receiver"), embedder=embedder)
    with serving(service) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client, service


def test_traces_without_the_right_token_get_401_and_nothing_is_stored(
    live: tuple[httpx.Client, PostmortemService],
) -> None:
    client, service = live
    before = service.knowledge_stats().incidents
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"}):
        refused = client.post("/v1/traces", content=TRIP, headers=JSON | headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    assert service.knowledge_stats().incidents == before


def test_a_failed_trace_posted_with_the_token_is_stored_and_found_by_search(
    live: tuple[httpx.Client, PostmortemService],
) -> None:
    client, service = live
    accepted = client.post("/v1/traces", content=TRIP, headers=JSON | AUTH)
    assert accepted.status_code == 200 and accepted.json() == {"partialSuccess": {}}
    hits = service.search_incidents(query="the flight search tool timed out", limit=3).hits
    assert hits and hits[0].title == "TimeoutError in flights.search"
    stored = service.get_incident(hits[0].id)
    assert any(e.description.startswith("Tool flights.search called") for e in stored.timeline)
    resent = client.post(  # exporters retry: the same trace again, gzip-compressed this time
        "/v1/traces", content=gzip.compress(TRIP), headers=JSON | AUTH | {"Content-Encoding": "gzip"}
    )
    assert resent.status_code == 200
    assert len(service.search_incidents(query="flights.search timed out", limit=10).hits) == 1


def _dated(line: bytes, trace_id: str, *, start_ns: int) -> dict[str, Any]:
    """The request on `line` as another trace whose first span starts at `start_ns` (the others keep their offsets)."""
    request = json.loads(line)
    spans = [s for rs in request["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    shift = start_ns - min(int(s["startTimeUnixNano"]) for s in spans)
    for span in spans:
        span["traceId"] = trace_id
        for key in ("startTimeUnixNano", "endTimeUnixNano"):
            span[key] = str(int(span[key]) + shift)
        for event in span.get("events", []):
            event["timeUnixNano"] = str(int(event["timeUnixNano"]) + shift)
    return request


def test_a_trace_dated_in_the_future_is_refused_by_partial_success_and_stores_nothing_the_rest_is_stored(
    live: tuple[httpx.Client, PostmortemService],
) -> None:
    """A host whose clock is a day fast: its trace would become an incident created tomorrow, sorting first forever;
    it was half-stored (the incident without its timeline) and answered 503, which exporters retry for ever."""
    client, service = live
    before = _seen(service)
    now = time.time_ns()
    future = _dated(TRIP, "f" * 32, start_ns=now + 86_400 * 10**9)
    recent = _dated(TRIP, "e" * 32, start_ns=now - 3_600 * 10**9)
    batch = {"resourceSpans": future["resourceSpans"] + recent["resourceSpans"]}
    answer = client.post("/v1/traces", json=batch, headers=AUTH)
    assert answer.status_code == 200, answer.text[:300]
    partial = answer.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 5
    assert "f" * 32 in partial["errorMessage"] and "clock of the host that sent it" in partial["errorMessage"]
    assert _seen(service) == before + 1  # the recent trace: a new incident, or one more occurrence of its failure
    stored = [service.get_incident(i.id) for i in service.list_incidents(limit=100).incidents]
    assert all(i.source_id != f"otel-trace:{'f' * 32}" for i in stored)
    latest = max(e.at for i in stored for e in i.timeline)
    assert latest.timestamp() < now / 1e9 + 300 and max(i.last_seen_at or i.created_at for i in stored) <= latest


def _seen(service: PostmortemService) -> int:
    """Failures stored: every incident's occurrences."""
    return sum(service.get_incident(i.id).occurrences for i in service.list_incidents(limit=100).incidents)


def test_protobuf_gets_415_and_malformed_json_gets_400_with_a_status(
    live: tuple[httpx.Client, PostmortemService],
) -> None:
    client, _ = live
    protobuf = client.post("/v1/traces", content=b"\x0a\x00", headers=AUTH | {"Content-Type": "application/x-protobuf"})
    assert protobuf.status_code == 415 and "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json" in protobuf.json()["message"]
    for body, message in [
        (b"{not json", "not JSON"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "00f067aa0ba902b7"}]}]}]}', "traceId: missing"),
        # an id sent as a number was said to be missing
        (TRIP.replace(b'"traceId": "4bf92f3577b34da6a3ce929d0e0e4736"', b'"traceId": 42'), "traceId: not a 16-byte id"),
    ]:
        bad = client.post("/v1/traces", content=body, headers=JSON | AUTH)
        assert bad.status_code == 400 and bad.json()["code"] == 3 and message in bad.json()["message"]


def test_a_compression_other_than_gzip_gets_415_saying_which_to_set_and_stores_nothing(
    live: tuple[httpx.Client, PostmortemService],
) -> None:
    """A collector set to zstd (or snappy, deflate) had its compressed bytes read as JSON: 400 "the body is not
    JSON", which sent its operator looking for a fault in the traces rather than in the exporter's compression."""
    client, service = live
    before = len(service.list_incidents(limit=50).incidents)
    for encoding in ("zstd", "snappy", "deflate", "br"):
        sent = client.post(
            "/v1/traces", content=b"(\xb5/\xfd compressed", headers=JSON | AUTH | {"Content-Encoding": encoding}
        )
        assert sent.status_code == 415 and sent.json()["code"] == 3, (encoding, sent.text)
        assert "COMPRESSION=gzip" in sent.json()["message"], sent.text
    plain = client.post(
        "/v1/traces", content=b'{"resourceSpans": []}', headers=JSON | AUTH | {"Content-Encoding": "identity"}
    )
    assert plain.status_code == 200, plain.text
    assert len(service.list_incidents(limit=50).incidents) == before


def test_the_receiver_keeps_the_host_origin_and_body_limits_of_mcp(
    live: tuple[httpx.Client, PostmortemService],
) -> None:
    client, _ = live
    assert (
        client.post("/v1/traces", content=TRIP, headers=JSON | AUTH | {"Host": "evil.example.com"}).status_code == 421
    )
    hostile = {"Origin": "http://evil.example.com"}
    assert client.post("/v1/traces", content=TRIP, headers=JSON | AUTH | hostile).status_code == 403
    too_large = client.post("/v1/traces", content=b"x" * (600 * 1024), headers=JSON | AUTH)
    assert too_large.status_code == 413  # OTLP's JSON error, as every other answer: it was plain text
    assert too_large.json()["message"].startswith("the body is larger than 512 KiB")
    bomb = gzip.compress(b'{"resourceSpans": []' + b" " * (2 * 1024 * 1024) + b"}")  # 2 KiB sent, 2 MiB inflated
    inflated = client.post("/v1/traces", content=bomb, headers=JSON | AUTH | {"Content-Encoding": "gzip"})
    assert inflated.status_code == 413
    assert client.get("/v1/traces", headers=AUTH).status_code == 405


def _malformed_bodies() -> list[tuple[str, bytes, dict[str, str]]]:
    gz = {"Content-Encoding": "gzip"}
    start = b'"startTimeUnixNano": "1790000000000000000"'
    assert start in TRIP
    return [
        ("not gzip", b"plain bytes", gz),
        ("truncated gzip", gzip.compress(TRIP)[:-20], gz),
        ("gzip cut after the header", gzip.compress(TRIP)[:12], gz),
        ("200,000-deep JSON", b"[" * 200_000 + b"]" * 200_000, {}),
        ("deep JSON, gzip-compressed", gzip.compress(b"[" * 200_000 + b"]" * 200_000), gz),
        ("an Infinity timestamp", TRIP.replace(start, b'"startTimeUnixNano": Infinity'), {}),
        ("a timestamp that overflows a float", TRIP.replace(start, b'"startTimeUnixNano": 1e999'), {}),
        ("a timestamp in the year 3,000,000", TRIP.replace(start, b'"startTimeUnixNano": "' + b"9" * 32 + b'"'), {}),
        ("a negative timestamp", TRIP.replace(start, b'"startTimeUnixNano": "-5"'), {}),
        ("a timestamp in seconds, read as 1970", TRIP.replace(start, b'"startTimeUnixNano": "1790000000"'), {}),
        ("a time in microseconds", TRIP.replace(start, b'"startTimeUnixNano": "1790000000000000"'), {}),
    ]


@pytest.mark.parametrize(("case", "body", "headers"), _malformed_bodies(), ids=[c for c, _, _ in _malformed_bodies()])
def test_a_malformed_body_gets_400_with_a_status_never_a_500_or_a_retryable_503(
    live: tuple[httpx.Client, PostmortemService], case: str, body: bytes, headers: dict[str, str]
) -> None:
    client, service = live
    before = service.knowledge_stats().incidents
    response = client.post("/v1/traces", content=body, headers=JSON | AUTH | headers)
    assert response.status_code == 400, (case, response.status_code, response.text[:300])
    status = response.json()
    assert status["code"] == 3 and status["message"] and len(status["message"]) < 300
    assert service.knowledge_stats().incidents == before


def test_a_nul_byte_in_an_error_message_is_stored_as_an_escape(live: tuple[httpx.Client, PostmortemService]) -> None:
    """It answered 400, which exporters do not retry: the failure was lost for a NUL (a tool's binary answer)."""
    client, service = live
    fresh = uuid.uuid4().hex
    body = TRIP.replace(b'"message": "TimeoutError"', b'"message": "Time\\u0000out"')
    body = body.replace(b"4bf92f3577b34da6a3ce929d0e0e4736", fresh.encode())
    body = body.replace(b"read timed out after 30 s", b"answered \\u0000\\u0089PNG")  # a new failure, not a repeat
    response = client.post("/v1/traces", content=body, headers=JSON | AUTH)
    assert response.status_code == 200, response.text[:300]
    incidents = [service.get_incident(i.id) for i in service.list_incidents(limit=100).incidents]
    [stored] = [i for i in incidents if i.source_id == f"otel-trace:{fresh}"]
    assert stored.error_message == "flights.search answered \\x00PNG"  # control characters are never kept
    assert any("FAILED: Time\\x00out" in e.description for e in stored.timeline)


def _span(span_id: str, parent: str | None, *, name: str, failed: bool, trace_id: str) -> dict[str, Any]:
    start = time.time_ns() - 60 * 10**9
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 10**9),
        "status": {"code": 2 if failed else 0, "message": f"{name} broke"},
    }
    return span | ({"parentSpanId": parent} if parent else {})


def test_cyclic_parent_ids_and_a_duplicate_span_id_neither_loop_nor_hide_the_failure(
    live: tuple[httpx.Client, PostmortemService],
) -> None:
    """Parent ids in a cycle read "Failed at: plan > act > plan > act > ..." a hundred times; a second, failed span
    under an id seen before was dropped, and the trace stored as having no failure at all."""
    client, service = live
    cyclic = [
        _span("a" * 16, "b" * 16, name="plan-cycle", failed=True, trace_id="1" * 32),
        _span("b" * 16, "a" * 16, name="act-cycle", failed=True, trace_id="1" * 32),
    ]
    duplicate = [
        _span("c" * 16, None, name="fetch-ok", failed=False, trace_id="2" * 32),
        _span("c" * 16, None, name="fetch-dup-failed", failed=True, trace_id="2" * 32),
    ]
    for spans in (cyclic, duplicate):
        body = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
        assert client.post("/v1/traces", json=body, headers=AUTH).json() == {"partialSuccess": {}}
    stored = {i.source_id: i for i in map(service.get_incident, (s.id for s in service.list_incidents().incidents))}
    looped = stored[f"otel-trace:{'1' * 32}"].description
    assert "Failed at: plan-cycle > act-cycle." in looped or "Failed at: act-cycle > plan-cycle." in looped, looped
    assert stored[f"otel-trace:{'2' * 32}"].error_message == "fetch-dup-failed broke"


def test_an_openinference_trace_is_attributed_like_a_genai_one(live: tuple[httpx.Client, PostmortemService]) -> None:
    """Phoenix's OpenInference spans (openinference.span.kind, llm.*, tool.name, input/output.value) gave an incident
    with no tool, arguments, model or prompt: "HotelsUnavailable in travel-app", 0 tool calls, 0 model calls."""
    client, service = live
    body = (FIXTURES / "otlp" / "openinference_trace.json").read_bytes()
    assert client.post("/v1/traces", content=body, headers=JSON | AUTH).json() == {"partialSuccess": {}}
    [stored] = [
        service.get_incident(i.id)
        for i in service.list_incidents(limit=100).incidents
        if i.title == "HotelsUnavailable in hotels.search"
    ]
    assert (stored.agent, stored.tool, stored.model) == ("TravelAgent", "hotels.search", "gpt-4o-2024-08-06")
    assert stored.tool_args == '{"city": "Porto", "date": "2026-12-11"}'
    assert stored.prompt_excerpt == "Book me a hotel in Porto for Friday, confirm to [REDACTED:email]"
    assert "Tool calls: 1 (1 failed). Model calls: 1 (512 input / 40 output tokens)." in stored.description
    assert any(e.description.startswith("Model call chat to gpt-4o-2024-08-06") for e in stored.timeline)


def test_a_document_of_another_format_gets_400_saying_what_to_do_not_200_and_nothing_stored(
    live: tuple[httpx.Client, PostmortemService],
) -> None:
    """A Who&When run or a LangSmith run posted here was taken for a request without spans: 200, nothing stored."""
    client, service = live
    before = service.knowledge_stats().incidents
    run = {"id": "ww-1", "trace": [{"step": 0, "role": "user", "name": "Orchestrator", "content": "Plan the trip"}]}
    langsmith = [{"id": "r1", "name": "AgentExecutor", "run_type": "chain", "error": "ToolException: 503"}]
    for body, hint in [(run, "postmortem import-steps"), (langsmith, "LANGSMITH_OTEL_ENABLED=true")]:
        answer = client.post("/v1/traces", json=body, headers=AUTH)
        assert answer.status_code == 400 and hint in answer.json()["message"], answer.text[:400]
    assert client.post("/v1/traces", json={}, headers=AUTH).json() == {"partialSuccess": {}}  # an empty request
    assert service.knowledge_stats().incidents == before


def test_a_trace_sent_in_batches_is_one_incident_with_the_spans_of_every_batch(
    live: tuple[httpx.Client, PostmortemService],
) -> None:
    """Exporters send spans as they end: a model call in a batch with no failure, the failed tool call in the next,
    a step after the handled failure in a third. Each was read alone: the first and the third were dropped, and the
    incident had no model, no prompt and none of their spans."""
    client, service = live
    trace_id = "5" * 32
    chat = _span("d" * 16, "e" * 16, name="chat batch-model", failed=False, trace_id=trace_id)
    chat["attributes"] = [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-batch"}},
        {"key": "gen_ai.input.messages", "value": {"stringValue": '[{"role": "user", "content": "refund order 42"}]'}},
    ]
    tool = _span("f" * 16, "e" * 16, name="execute_tool batch-refund", failed=True, trace_id=trace_id)
    after = _span("9" * 16, "e" * 16, name="batch-apology", failed=False, trace_id=trace_id)
    for spans in ([chat], [tool], [after]):
        body = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
        assert client.post("/v1/traces", json=body, headers=AUTH).json() == {"partialSuccess": {}}
    [found] = [i for i in service.list_incidents().incidents if i.title.endswith("batch-refund")]
    stored = service.get_incident(found.id)
    assert (stored.model, stored.prompt_excerpt, stored.occurrences) == ("gpt-batch", "refund order 42", 1)
    timeline = " ".join(e.description for e in stored.timeline)
    assert "gpt-batch" in timeline and "batch-apology" in timeline, timeline
