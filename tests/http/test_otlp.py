"""The live OTLP/HTTP receiver, over real HTTP: `POST /v1/traces` guarded like `/mcp`, answering per OTLP/HTTP."""

import gzip
from collections.abc import Iterator

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


def test_protobuf_gets_415_and_malformed_json_gets_400_with_a_status(
    live: tuple[httpx.Client, PostmortemService],
) -> None:
    client, _ = live
    protobuf = client.post("/v1/traces", content=b"\x0a\x00", headers=AUTH | {"Content-Type": "application/x-protobuf"})
    assert protobuf.status_code == 415 and "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json" in protobuf.json()["message"]
    for body, message in [
        (b"{not json", "not JSON"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "00f067aa0ba902b7"}]}]}]}', "traceId: missing"),
    ]:
        bad = client.post("/v1/traces", content=body, headers=JSON | AUTH)
        assert bad.status_code == 400 and bad.json()["code"] == 3 and message in bad.json()["message"]


def test_the_receiver_keeps_the_host_origin_and_body_limits_of_mcp(
    live: tuple[httpx.Client, PostmortemService],
) -> None:
    client, _ = live
    assert (
        client.post("/v1/traces", content=TRIP, headers=JSON | AUTH | {"Host": "evil.example.com"}).status_code == 421
    )
    hostile = {"Origin": "http://evil.example.com"}
    assert client.post("/v1/traces", content=TRIP, headers=JSON | AUTH | hostile).status_code == 403
    assert client.post("/v1/traces", content=b"x" * (600 * 1024), headers=JSON | AUTH).status_code == 413
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
        (
            "a NUL byte in the error message",
            TRIP.replace(b'"message": "TimeoutError"', b'"message": "Time\\u0000out"'),
            {},
        ),
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
