"""OTLP/JSON trace payloads are read into spans: ids, attribute values, files of one request per line."""

import base64
import json
from pathlib import Path

import pytest

from agent_postmortem.ingest.otlp import OtlpError, group_traces, parse_request
from agent_postmortem.ingest.otlp_file import read_file
from tests.factories import FIXTURES

FIXTURE = FIXTURES / "otlp" / "genai_traces.jsonl"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


def request(span: dict[str, object]) -> dict[str, object]:
    return {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [span]}]}]}


def test_ids_in_hex_or_base64_and_every_attribute_value_type_are_read() -> None:
    b64 = {k: base64.b64encode(bytes.fromhex(v)).decode() for k, v in {"t": TRACE_ID, "s": SPAN_ID}.items()}
    span = {
        "traceId": b64["t"],  # protobuf's own JSON mapping writes bytes as base64; OTLP/JSON says hex
        "spanId": b64["s"],
        "name": "chat",
        "startTimeUnixNano": "1790000000000000000",
        "endTimeUnixNano": 1790000001000000000,
        "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
        "attributes": [
            {"key": "s", "value": {"stringValue": "x"}},
            {"key": "i", "value": {"intValue": "812"}},
            {"key": "d", "value": {"doubleValue": 0.5}},
            {"key": "b", "value": {"boolValue": True}},
            {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}}},
            {"key": "kv", "value": {"kvlistValue": {"values": [{"key": "k", "value": {"intValue": 1}}]}}},
            {"key": "empty", "value": {}},
        ],
    }
    [parsed] = parse_request(request(span))
    assert (parsed.trace_id, parsed.span_id, parsed.parent_id) == (TRACE_ID, SPAN_ID, None)
    assert parsed.attributes == {"s": "x", "i": 812, "d": 0.5, "b": True, "a": ["stop"], "kv": {"k": 1}, "empty": None}
    assert parsed.failed and parsed.status_message == "boom"
    assert parsed.start is not None and parsed.end is not None and (parsed.end - parsed.start).total_seconds() == 1


def test_a_span_is_failed_by_error_status_or_by_error_type() -> None:
    base = {"traceId": TRACE_ID, "spanId": SPAN_ID, "name": "x"}
    ok = parse_request(request(base | {"status": {"code": 1}}))[0]
    by_type = parse_request(request(base | {"attributes": [{"key": "error.type", "value": {"stringValue": "500"}}]}))
    assert not ok.failed and by_type[0].failed


@pytest.mark.parametrize("code", [2, "2", "STATUS_CODE_ERROR"])
def test_an_error_status_code_is_read_as_a_number_a_numeric_string_or_its_name(code: object) -> None:
    """A code of "2" was read as unset: the failed span, and so the trace's incident, silently not there."""
    [span] = parse_request(request({"traceId": TRACE_ID, "spanId": SPAN_ID, "status": {"code": code}}))
    assert span.failed


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ([], "expected a JSON object"),
        ({"resourceSpans": {}}, "resourceSpans: expected a list"),
        # the place named was the one around it: `scopeSpans[0]` for its spans, the span for its events
        ({"resourceSpans": [{"scopeSpans": [{"spans": "x"}]}]}, r"scopeSpans\[0\]\.spans: expected a list"),
        ({"resourceSpans": [{"scopeSpans": ["x"]}]}, r"resourceSpans\[0\]\.scopeSpans\[0\]: expected an object"),
        (request({"traceId": TRACE_ID, "spanId": SPAN_ID, "events": {}}), r"spans\[0\]\.events: expected a list"),
        (request({"spanId": SPAN_ID}), r"spans\[0\]\.traceId: missing"),
        (request({"traceId": "sk-live-not-an-id-SECRET", "spanId": SPAN_ID}), "traceId: not a 16-byte id"),
        (request({"traceId": TRACE_ID, "spanId": SPAN_ID, "attributes": [{"value": {}}]}), "without a string key"),
        (
            request({"traceId": TRACE_ID, "spanId": SPAN_ID, "startTimeUnixNano": "SECRET-soon"}),
            "startTimeUnixNano: expected an integer",
        ),
        (
            request({"traceId": TRACE_ID, "spanId": SPAN_ID, "status": {"code": "SECRET_ERROR"}}),
            r"status\.code: expected 0, 1 or 2 or its name \(STATUS_CODE_ERROR\)",
        ),
    ],
)
def test_malformed_payloads_say_where_and_never_echo_the_value(payload: object, where: str) -> None:
    with pytest.raises(OtlpError, match=where) as raised:
        parse_request(payload)
    assert "SECRET" not in str(raised.value)


def test_a_file_of_requests_per_line_groups_each_trace_across_lines(tmp_path: Path) -> None:
    traces = group_traces(read_file(FIXTURE))
    assert len(traces) == 3
    support = traces["0af7651916cd43dd8448eb211c80319c"]  # its two spans arrived on two lines, child first
    assert [s.name for s in support] == ["invoke_agent support-bot", "chat claude-sonnet-4"]
    single = tmp_path / "one.json"
    single.write_text(json.dumps(json.loads(FIXTURE.read_text().splitlines()[0]), indent=2))  # pretty-printed
    assert len(group_traces(read_file(single))) == 2
    broken = tmp_path / "broken.jsonl"
    broken.write_text(FIXTURE.read_text() + "\n{not json\n")
    with pytest.raises(OtlpError, match="broken.jsonl line 5: not JSON"):
        read_file(broken)


def test_a_span_sent_twice_counts_once() -> None:
    span = {"traceId": TRACE_ID, "spanId": SPAN_ID, "name": "x"}
    assert len(group_traces(parse_request(request(span)) * 2)[TRACE_ID]) == 1


def test_a_null_field_is_read_as_its_default_as_protobuf_json_says() -> None:
    """Protobuf's JSON mapping takes null as a field's default value; `"resource": null` refused the whole import
    ("resource: expected an object"), and a null name or string value was stored as the word "None"."""
    span = {
        "traceId": TRACE_ID,
        "spanId": SPAN_ID,
        "parentSpanId": None,
        "name": None,
        "status": {"code": 2, "message": None},
        "attributes": [{"key": "gen_ai.tool.name", "value": {"stringValue": None}}],
    }
    [parsed] = parse_request({"resourceSpans": [{"resource": None, "scopeSpans": [{"spans": [span]}]}]})
    assert parsed.failed and parsed.name == "" and parsed.resource == {}
    assert parsed.attributes == {"gen_ai.tool.name": ""}


def test_a_trace_of_one_span_is_described_in_the_singular() -> None:
    """A failed tool call exported alone (its agent span not sampled) was described as "1 spans over 2.0 s"."""
    from agent_postmortem.ingest.traces import failed_traces

    span = {
        "traceId": TRACE_ID,
        "spanId": SPAN_ID,
        "name": "execute_tool search",
        "startTimeUnixNano": "1790000000000000000",
        "endTimeUnixNano": "1790000002000000000",
        "status": {"code": 2, "message": "boom"},
    }
    [found] = failed_traces(group_traces(parse_request(request(span))))
    assert ": 1 span over 2.0 s." in found.incident.description, found.incident.description
    child = {**span, "spanId": "00f067aa0ba902b8", "parentSpanId": SPAN_ID}
    both = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [span, child]}]}]}
    [found] = failed_traces(group_traces(parse_request(both)))
    assert ": 2 spans over 2.0 s." in found.incident.description, found.incident.description


def test_an_openai_agents_sdk_trace_export_is_refused_saying_how_to_send_its_spans(tmp_path: Path) -> None:
    """The OpenAI Agents SDK's own trace export (a processor writing each trace and span's `export()`, or the
    `{"data": [...]}` its backend exporter posts) was refused as "not another format (Jaeger, Zipkin)", with nothing
    on what to do, where a LangSmith run export was told how to send OpenTelemetry."""
    span = {
        "object": "trace.span",
        "id": "span_1",
        "trace_id": "trace_1",
        "parent_id": None,
        "span_data": {"type": "function", "name": "get_weather", "input": '{"city": "Oslo"}', "output": None},
        "error": {"message": "Error running tool", "data": {"tool_name": "get_weather", "error": "TimeoutError"}},
    }
    trace = {"object": "trace", "id": "trace_1", "workflow_name": "Agent workflow", "group_id": None}
    lines = tmp_path / "agents.jsonl"
    lines.write_text(f"{json.dumps(trace)}\n{json.dumps(span)}\n")
    posted = tmp_path / "posted.json"
    posted.write_text(json.dumps({"data": [trace, span]}))
    for path in (lines, posted):
        with pytest.raises(OtlpError, match="OpenAI Agents SDK") as refused:
            read_file(path)
        assert "openinference-instrumentation-openai-agents" in str(refused.value)
    with pytest.raises(OtlpError, match="OpenAI Agents SDK"):
        parse_request({"data": [span]})
