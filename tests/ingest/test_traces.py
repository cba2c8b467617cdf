"""OpenTelemetry GenAI traces become incidents through the normal capture path, once per trace, with the
trace's spans as the timeline."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.ingest.otlp import group_traces, parse_request
from agent_postmortem.ingest.otlp_file import read_file
from agent_postmortem.ingest.trace_reading import MAX_EVENTS, trace_incident
from agent_postmortem.ingest.traces import failed_traces, import_traces
from agent_postmortem.service.facade import PostmortemService
from tests.factories import FIXTURES
from tests.processes import postmortem

FIXTURE = FIXTURES / "otlp" / "genai_traces.jsonl"
TRIP = "4bf92f3577b34da6a3ce929d0e0e4736"
SUPPORT = "0af7651916cd43dd8448eb211c80319c"


def fixture_requests() -> list[dict[str, Any]]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines()]


def test_the_innermost_failed_span_of_a_genai_trace_becomes_the_capture() -> None:
    traces = group_traces(read_file(FIXTURE))
    found = {f.trace_id: f for f in failed_traces(traces)}
    assert set(found) == {TRIP, SUPPORT}  # the trace without a failed span is not an incident
    trip = found[TRIP].incident
    assert trip.title == "TimeoutError in flights.search"  # the tool span, not the agent span it propagated to
    assert (trip.agent, trip.tool, trip.model, trip.environment) == (
        "trip-planner",
        "flights.search",
        "gpt-4.1-mini-2025-04-14",  # the model call before the failure, its response model
        "production",
    )
    assert trip.error_message == "flights.search read timed out after 30 s"
    assert trip.tool_args == '{"to": "LIS", "date": "2026-09-25"}'
    assert trip.prompt_excerpt == "Find me a flight to Lisbon on Friday, under 300 EUR"  # the last user message
    assert trip.stack_trace is not None and "agent/tools.py" in trip.stack_trace
    assert trip.idempotency_key == f"otel-trace:{TRIP}" and trip.source_id == f"otel-trace:{TRIP}"
    assert "invoke_agent trip-planner > execute_tool flights.search" in trip.description
    support = found[SUPPORT].incident
    assert support.title == "RateLimitError in claude-sonnet-4 (support-bot)"
    assert support.error_message is not None and support.error_message.startswith("429 Too Many Requests")


def test_the_timeline_has_agent_steps_model_calls_with_tokens_and_tool_calls_in_time_order() -> None:
    [trip] = [f for f in failed_traces(group_traces(read_file(FIXTURE))) if f.trace_id == TRIP]
    lines = [e.description for e in trip.timeline]
    assert lines[0].startswith("Agent trip-planner step invoke_agent (31.90 s). FAILED")
    assert lines[1] == (
        "Model call chat to gpt-4.1-mini-2025-04-14 (1.30 s): 812 input / 41 output tokens, finish: tool_calls"
    )
    assert lines[2] == (
        'Tool flights.search called (30.10 s) with {"to": "LIS", "date": "2026-09-25"}. '
        "FAILED: TimeoutError: flights.search read timed out after 30 s"
    )
    times = [e.at for e in trip.timeline]
    assert times == sorted(times)  # type: ignore[type-var]


def test_importing_captures_each_failed_trace_once_and_reimporting_stores_nothing_new(
    service: PostmortemService,
) -> None:
    traces = group_traces(read_file(FIXTURE))
    first = import_traces(service, traces)
    assert (first.traces, first.failed_traces, first.created, first.duplicates) == (3, 2, 2, 0)
    trip = next(service.get_incident(i) for i in first.incident_ids if service.get_incident(i).tool)
    assert trip.category == "timeout"  # classified by the normal capture path
    assert [e.kind for e in trip.timeline].count("note") == 3 and len(trip.timeline) == 4  # + "Captured"
    again = import_traces(service, traces)
    assert (again.created, again.duplicates, again.timeline_events) == (0, 2, 0)
    assert service.knowledge_stats().incidents == 2
    assert len(service.get_incident(trip.id).timeline) == 4


def test_a_later_batch_of_a_trace_adds_only_its_new_spans_to_the_incident(service: PostmortemService) -> None:
    requests = fixture_requests()
    child_first = import_traces(service, group_traces(parse_request(requests[1])))  # the failed chat span alone
    [incident_id] = child_first.incident_ids
    later = import_traces(service, group_traces(parse_request(requests[2])))  # then its agent span
    assert (later.created, later.duplicates, later.timeline_events) == (0, 1, 1)
    timeline = [e.description for e in service.get_incident(incident_id).timeline]
    assert timeline[0].startswith("Agent support-bot step invoke_agent") and len(timeline) == 3


def test_a_later_batch_with_no_failure_joins_the_timeline_of_its_failed_trace(service: PostmortemService) -> None:
    """A step after a handled failure comes in a batch of its own, without a failed span: it was dropped, though a
    later batch of a trace is said to add its spans to the incident."""
    [request] = fixture_requests()[:1]
    failed = import_traces(service, group_traces(parse_request(request)))
    after = copy.deepcopy(request)
    [span] = after["resourceSpans"][0]["scopeSpans"][0]["spans"][:1]
    span |= {"spanId": "0000000000000abc", "name": "send_apology", "status": {}, "attributes": []}
    after["resourceSpans"][0]["scopeSpans"][0]["spans"] = [span]
    later = import_traces(service, group_traces(parse_request(after)))
    assert (later.failed_traces, later.created, later.timeline_events) == (0, 0, 1)
    timeline = [e.description for e in service.get_incident(failed.incident_ids[0]).timeline]
    assert any("send_apology" in line for line in timeline), timeline


def test_secrets_in_span_attributes_are_redacted_before_storage(service: PostmortemService) -> None:
    [request] = fixture_requests()[:1]
    leaked = copy.deepcopy(request)
    tool_span = leaked["resourceSpans"][0]["scopeSpans"][0]["spans"][2]
    secret = "ghp_" + "S" * 36
    tool_span["attributes"][3]["value"]["stringValue"] = json.dumps({"to": "LIS", "token": secret})
    result = import_traces(service, group_traces(parse_request(leaked)))
    stored = service.get_incident(result.incident_ids[0])
    assert secret not in stored.model_dump_json() and stored.redactions["github_token"] >= 1
    assert any("LIS" in e.description for e in stored.timeline)


def test_a_secret_where_a_long_attribute_is_cut_is_not_stored_in_part(service: PostmortemService) -> None:
    """A tool's arguments, exception message and stack trace longer than their fields were cut before redaction: a
    token that straddled the cut lost its tail, matched no rule, and its first 30 characters were stored in clear."""
    [request] = fixture_requests()[:1]
    leaked = copy.deepcopy(request)
    tool_span = leaked["resourceSpans"][0]["scopeSpans"][0]["spans"][2]
    secret = "ghp_Q7wErTy9UiOp2AsDfGhJkLzXcVbNm1234567"
    tool_span["attributes"][3]["value"]["stringValue"] = json.dumps({"note": "n" * 1_960 + " " + secret})
    exception = tool_span["events"][0]["attributes"]
    for attribute in exception:
        if attribute["key"] == "exception.message":
            attribute["value"]["stringValue"] = "m" * 1_975 + " " + secret + " and more"
        if attribute["key"] == "exception.stacktrace":
            attribute["value"]["stringValue"] = secret + "\n" + "  frame\n" * 2_499
    result = import_traces(service, group_traces(parse_request(leaked)))
    stored = service.get_incident(result.incident_ids[0]).model_dump_json()
    assert secret[:10] not in stored and secret[-10:] not in stored
    assert "n" * 1_000 in stored and "m" * 1_000 in stored  # what was around the secret is kept


def test_a_long_trace_keeps_its_failure_path_within_the_timeline_cap() -> None:
    [request] = fixture_requests()[:1]
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    chat = spans[1]
    for n in range(100):  # a busy agent: many model calls before the failing tool
        extra = copy.deepcopy(chat)
        extra["spanId"] = f"{n:016x}"
        spans.insert(2, extra)
    traces = group_traces(parse_request(request))
    item = trace_incident(TRIP, traces[TRIP])
    lines = [e.description for e in item.timeline]
    assert len(lines) == MAX_EVENTS + 1 and lines[-1] == "43 more spans of this trace are not shown"
    assert any(line.startswith("Tool flights.search") for line in lines)


def test_spans_from_the_real_opentelemetry_sdk_encoded_by_its_otlp_encoder_are_understood() -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.common")  # installed with chromadb
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("agent")
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "crm-bot"}
    tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "crm.update"}
    with pytest.raises(ValueError):  # noqa: PT012 - the spans record the exception on the way out
        with tracer.start_as_current_span("invoke_agent crm-bot", attributes=agent):
            with tracer.start_as_current_span("execute_tool crm.update", attributes=tool):
                raise ValueError("field 'email' rejected by the CRM")
    payload = MessageToDict(encode_spans(exporter.get_finished_spans()))  # protobuf JSON: base64 ids, enum names
    [found] = failed_traces(group_traces(parse_request(payload)))
    assert (found.incident.title, found.incident.agent) == ("ValueError in crm.update", "crm-bot")
    assert found.incident.error_message == "field 'email' rejected by the CRM"
    assert found.incident.stack_trace is not None and "test_traces.py" in found.incident.stack_trace


@pytest.mark.parametrize(
    ("reported", "step", "summary"),
    [
        ({"input": 55}, ": 55 input tokens, finish", "Model calls: 1 (55 input tokens)."),
        ({"output": 41}, ": 41 output tokens, finish", "Model calls: 1 (41 output tokens)."),
        ({}, " (1.30 s), finish", "Model calls: 1."),
    ],
)
def test_a_token_count_the_span_does_not_report_is_not_shown_as_zero(
    reported: dict[str, int], step: str, summary: str
) -> None:
    """A model call reporting only its input tokens read '55 input / 0 output tokens', as if it had answered nothing."""
    [request] = fixture_requests()[:1]
    chat = request["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    chat["attributes"] = [a for a in chat["attributes"] if not a["key"].startswith("gen_ai.usage.")]
    chat["attributes"] += [
        {"key": f"gen_ai.usage.{side}_tokens", "value": {"intValue": str(n)}} for side, n in reported.items()
    ]
    item = trace_incident(TRIP, group_traces(parse_request(request))[TRIP])
    model_line = item.timeline[1].description
    assert model_line.startswith("Model call chat") and step in model_line and " 0 " not in model_line
    assert summary in item.incident.description and " 0 " not in item.incident.description.split("Model calls")[1]


def test_the_trace_summary_says_when_only_some_model_calls_reported_a_token_count() -> None:
    [request] = fixture_requests()[:1]
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    silent = copy.deepcopy(spans[1])  # a second model call that reports no tokens at all
    silent["spanId"] = "00000000000000aa"
    silent["attributes"] = [a for a in silent["attributes"] if not a["key"].startswith("gen_ai.usage.")]
    spans.insert(2, silent)
    item = trace_incident(TRIP, group_traces(parse_request(request))[TRIP])
    assert "Model calls: 2 (812 input / 41 output tokens, reported by 1 of 2)." in item.incident.description


def test_a_tool_call_without_its_name_attribute_is_named_by_its_span() -> None:
    """`gen_ai.tool.name` is only recommended: a failed `execute_tool lookup` span without it was titled after the
    service, with no tool."""
    span = {
        "traceId": "22222222222222222222222222222222",
        "spanId": "2222222222222222",
        "name": "execute_tool crm.lookup",
        "startTimeUnixNano": "1790000000000000000",
        "endTimeUnixNano": "1790000001000000000",
        "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}}],
        "status": {"code": 2, "message": "customer 88 not found"},
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "support-bot"}}]}
    [found] = failed_traces(
        group_traces(parse_request({"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}))
    )
    assert (found.incident.tool, found.incident.title) == ("crm.lookup", "Error in crm.lookup")
    assert found.timeline[0].description.startswith("Tool crm.lookup called (1.00 s). FAILED: customer 88 not found")


def test_a_nul_or_a_lone_surrogate_in_a_failed_span_is_stored_as_an_escape(service: PostmortemService) -> None:
    """A tool's binary answer in its exception message (`\\u0000`, `\\udcff` in the JSON) refused the whole import,
    every other trace with it, as "invalid input: error_message: contains a NUL character"."""
    [request] = fixture_requests()[:1]
    request = copy.deepcopy(request)
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    tool = next(s for s in spans if s["name"].startswith("execute_tool"))
    tool["name"] += "\x00"
    for event in tool.get("events", []):
        for attribute in event["attributes"]:
            if attribute["key"] == "exception.message":
                attribute["value"]["stringValue"] = "bad body: \x00\x01PNG \udcff"
    result = import_traces(service, group_traces(parse_request(json.loads(json.dumps(request)))))
    [incident_id] = result.incident_ids
    stored = service.get_incident(incident_id)
    assert stored.error_message == "bad body: \\x00PNG \\udcff"  # control characters are never stored
    assert "\\x00" in stored.description and "\x00" not in stored.description


@pytest.mark.parametrize("indent", [None, 2], ids=["one-line", "pretty-printed"])
def test_a_json_array_of_requests_is_read_as_those_requests(tmp_path: Path, indent: int | None) -> None:
    """A file holding a JSON array of ExportTraceServiceRequests (`json.dump(requests, f)`) was refused as "not
    JSON" (pretty-printed) or as "no resourceSpans in any request ... not another format (Jaeger, Zipkin)"."""
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(fixture_requests(), indent=indent))
    found = {f.trace_id for f in failed_traces(group_traces(read_file(path)))}
    assert found == {TRIP, SUPPORT}
    done = postmortem("import-traces", str(path), "--dry-run", home=tmp_path / "home")
    assert done.returncode == 0, done.stderr.decode()
    assert b"would capture: TimeoutError in flights.search" in done.stdout


def test_a_file_cut_inside_its_last_line_says_how_to_import_its_whole_lines(tmp_path: Path) -> None:
    """A copy of the file the Collector's exporter is still writing ends inside a request: the import was refused
    with only "not JSON: Unterminated string", its whole lines with it. The error now says the file ends there and
    how to import the lines before it; a broken line inside the file is refused as before."""
    whole = FIXTURE.read_text()
    cut = tmp_path / "live.jsonl"
    cut.write_text(whole + whole.splitlines()[0][:200])
    done = postmortem("import-traces", str(cut), "--dry-run", home=tmp_path / "home")
    lines = len(whole.splitlines())
    assert done.returncode == 2 and f"live.jsonl line {lines + 1}: not JSON".encode() in done.stderr
    assert b"the file ends inside this line" in done.stderr and f"head -n {lines} FILE".encode() in done.stderr
    middle = tmp_path / "broken.jsonl"
    middle.write_text(whole.splitlines()[0][:200] + "\n" + whole)
    done = postmortem("import-traces", str(middle), "--dry-run", home=tmp_path / "home")
    assert done.returncode == 2 and b"broken.jsonl line 1" in done.stderr and b"ends inside" not in done.stderr


def test_a_failure_path_cut_at_its_hundred_nearest_spans_says_how_many_outer_ones_it_left_out() -> None:
    trace_id, start = "7" * 32, 1_700_000_000 * 10**9
    spans = [
        {
            "traceId": trace_id,
            "spanId": f"{n + 1:016x}",
            "name": f"step-{n}",
            "startTimeUnixNano": str(start + n),
            "endTimeUnixNano": str(start + 10**9),
            "status": {"code": 2 if n == 149 else 0, "message": "broke" if n == 149 else ""},
        }
        | ({"parentSpanId": f"{n:016x}"} if n else {})
        for n in range(150)  # step-0 > step-1 > ... > step-149, which failed
    ]
    request = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": spans}]}]}
    item = trace_incident(trace_id, group_traces(parse_request(request))[trace_id])
    failed_at = next(line for line in item.incident.description.splitlines() if line.startswith("Failed at:"))
    assert failed_at.startswith("Failed at: (49 outer spans left out) > step-49 > step-50 >")
    assert failed_at.endswith("> step-149.")


def test_a_model_call_names_the_agent_that_made_it(service: PostmortemService) -> None:
    """In a multi-agent trace every model call read "Model call chat to gpt-4o": which agent made it was left out."""
    [request] = fixture_requests()[:1]
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    other = copy.deepcopy(spans[1])
    other["spanId"] = "00000000000000ab"
    for span, agent in ((spans[1], "booking\nagent"), (other, "researcher sk-live-CANARY0123456789abcdef")):
        span["attributes"] = [a for a in span["attributes"] if a["key"] != "gen_ai.agent.name"]
        span["attributes"].append({"key": "gen_ai.agent.name", "value": {"stringValue": agent}})
    spans.insert(2, other)
    bare = copy.deepcopy(spans[1])  # a model call without the attribute reads as before
    bare["spanId"] = "00000000000000ac"
    bare["attributes"] = [a for a in bare["attributes"] if a["key"] != "gen_ai.agent.name"]
    spans.insert(3, bare)
    [incident_id] = import_traces(service, group_traces(parse_request(request))).incident_ids
    lines = [e.description for e in service.get_incident(incident_id).timeline if e.description.startswith("Model")]
    assert lines[0].startswith("Model call chat to gpt-4.1-mini-2025-04-14 by agent booking agent (1.30 s)"), lines
    assert lines[1].startswith("Model call chat to gpt-4.1-mini-2025-04-14 by agent researcher "), lines
    assert "CANARY0123456789abcdef" not in lines[1], lines  # redacted as any timeline text is
    assert lines[2].startswith("Model call chat to gpt-4.1-mini-2025-04-14 (1.30 s)"), lines
