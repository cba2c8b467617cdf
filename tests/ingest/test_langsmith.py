"""LangSmith's OpenTelemetry export of a LangGraph run (LANGSMITH_OTEL_ENABLED, the route the docs give LangSmith
users) becomes an incident of the same shape as a GenAI trace."""

import json
import traceback
from typing import Any

import pytest

from agent_postmortem.ingest.langsmith import as_genai
from agent_postmortem.ingest.otlp import group_traces, parse_request
from agent_postmortem.ingest.traces import failed_traces

TRACE = "44444444444444444444444444444444"
ASKED = "Book the cheapest flight to Lisbon on Friday"


def _run_error() -> str:
    """A LangChain run's error as its tracer writes it: repr(e), then the traceback."""
    try:
        raise TimeoutError("Read timed out. (read timeout=7)")
    except TimeoutError as e:
        return (repr(e) + "\n\n".join(traceback.format_exception(e))).strip()


def _span(span_id: str, parent: str | None, name: str, kind: str, attrs: dict[str, Any], error: str = "") -> dict:
    """A span as LangSmith's OTELExporter makes it: a failed run's error recorded as `Exception(run.error)`."""
    attrs = {"langsmith.span.kind": kind, "gen_ai.system": "langchain", **attrs}
    span: dict[str, Any] = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": name,
        "startTimeUnixNano": "1790000000000000000",
        "endTimeUnixNano": "1790000009000000000",
        "attributes": [
            {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
            for k, v in attrs.items()
        ],
        "status": {"code": 2 if error else 1},
    }
    if error:
        wrapped = Exception(error)
        span["events"] = [
            {
                "name": "exception",
                "timeUnixNano": "1790000009000000000",
                "attributes": [
                    {"key": "exception.type", "value": {"stringValue": "Exception"}},
                    {"key": "exception.message", "value": {"stringValue": error}},
                    {
                        "key": "exception.stacktrace",
                        "value": {"stringValue": "".join(traceback.format_exception(wrapped))},
                    },
                    {"key": "exception.escaped", "value": {"stringValue": "False"}},
                ],
            }
        ]
    return span | ({"parentSpanId": parent} if parent else {})


def test_a_langgraph_tool_failure_names_the_tool_its_arguments_the_error_and_the_prompt() -> None:
    """It was "Exception in flight-agent": no tool, no arguments, no prompt, the whole traceback as the message."""
    error = _run_error()
    human = {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "HumanMessage"]}
    human["kwargs"] = {"content": ASKED, "type": "human"}
    chat = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.prompt": json.dumps({"messages": [[human]]}),
        "gen_ai.completion": json.dumps(
            {"generations": [[{"text": "", "message": {"kwargs": {"type": "ai", "content": "Searching flights."}}}]]}
        ),
    }
    tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.prompt": json.dumps({"input": "{'to': 'LIS'}"})}
    graph = {"gen_ai.operation.name": "chain", "gen_ai.prompt": json.dumps({"messages": [["user", ASKED]]})}
    spans = [
        _span("b000000000000001", None, "LangGraph", "chain", graph, error),
        _span("b000000000000002", "b000000000000001", "ChatOpenAI", "llm", chat),
        _span("b000000000000003", "b000000000000001", "tools", "chain", {"gen_ai.operation.name": "chain"}, error),
        _span("b000000000000004", "b000000000000003", "search_flights", "tool", tool, error),
    ]
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "flight-agent"}}]}
    request = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}
    [found] = failed_traces(group_traces(parse_request(request)))
    incident = found.incident
    assert incident.title == "TimeoutError in search_flights"
    assert (incident.error_type, incident.error_message) == ("TimeoutError", "Read timed out. (read timeout=7)")
    assert incident.stack_trace is not None and incident.stack_trace.startswith("Traceback (most recent call last):")
    assert 'raise TimeoutError("Read timed out. (read timeout=7)")' in incident.stack_trace
    assert (incident.tool, incident.tool_args, incident.model) == ("search_flights", "{'to': 'LIS'}", "gpt-4o-mini")
    assert incident.prompt_excerpt == ASKED
    assert "Last model output: Searching flights." in incident.description


def test_inputs_nested_too_deep_to_read_leave_the_rest_of_the_span_read() -> None:
    deep = '{"messages": ' + "[" * 50_000 + "]" * 50_000 + "}"
    spans = [_span("b000000000000001", None, "search_flights", "tool", {"gen_ai.prompt": deep}, _run_error())]
    [found] = failed_traces(group_traces(parse_request({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})))
    assert found.incident.title == "TimeoutError in search_flights" and found.incident.tool_args is None


@pytest.mark.parametrize("outputs", [{"generations": 5}, {"generations": [[7, None, {"message": 3}]]}, [], "text"])
def test_outputs_of_an_unexpected_shape_are_skipped(outputs: Any) -> None:
    attributes = {"langsmith.span.kind": "llm", "gen_ai.completion": json.dumps(outputs)}
    assert "gen_ai.output.messages" not in as_genai(attributes, "ChatOpenAI")
