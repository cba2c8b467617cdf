"""OpenInference spans (Arize Phoenix's instrumentations) read as their OpenTelemetry GenAI equivalents."""

from typing import Any

from agent_postmortem.ingest.otlp import group_traces, parse_request
from agent_postmortem.ingest.traces import failed_traces

TRACE = "5b8efff798038103d269b633813fc60c"


def _attribute(key: str, value: str | int) -> dict[str, Any]:
    return {"key": key, "value": {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}}


def _span(span_id: str, parent: str | None, name: str, start: int, attrs: dict[str, Any], **status: Any) -> dict:
    span = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": name,
        "startTimeUnixNano": str(1_790_000_000_000_000_000 + start),
        "endTimeUnixNano": str(1_790_000_000_000_000_000 + start + 1_000_000_000),
        "attributes": [_attribute(k, v) for k, v in attrs.items()],
        "status": status or {"code": 1},
    }
    return span | ({"parentSpanId": parent} if parent else {})


def test_messages_whose_content_is_a_list_of_parts_give_the_prompt_and_the_last_output() -> None:
    """The OpenAI Agents SDK's OpenInference processor writes a Responses API message's text as
    `message.contents.<j>.message_content.text` (the model's output always, the user's input when given as parts):
    the incident had no prompt and no model output."""
    contents = "message.contents.0.message_content"
    model_call = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4.1-2025-04-14",
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "You plan trips.",
        "llm.input_messages.1.message.role": "user",
        f"llm.input_messages.1.{contents}.type": "text",
        f"llm.input_messages.1.{contents}.text": "Book me the cheapest flight to Lisbon on Friday",
        "llm.input_messages.1.message.contents.1.message_content.type": "image",
        "llm.input_messages.1.message.contents.1.message_content.image.image.url": "https://example.com/a.png",
        "llm.input_messages.1.message.contents.2.message_content.type": "text",
        "llm.input_messages.1.message.contents.2.message_content.text": "Aisle seat.",
        "llm.output_messages.0.message.role": "assistant",
        f"llm.output_messages.0.{contents}.type": "text",
        f"llm.output_messages.0.{contents}.text": "Let me search flights for Friday.",
        "llm.output_messages.1.message.role": "assistant",
        "llm.output_messages.1.message.tool_calls.0.tool_call.function.name": "search_flights",
    }
    tool = {"openinference.span.kind": "TOOL", "tool.name": "search_flights", "input.value": '{"to": "LIS"}'}
    spans = [
        _span("a000000000000001", None, "Trip planner", 0, {"openinference.span.kind": "AGENT"}),
        _span("a000000000000002", "a000000000000001", "response", 1_000, model_call),
        _span("a000000000000003", "a000000000000001", "search_flights", 2 * 10**9, tool, code=2, message="timed out"),
    ]
    request = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    [found] = failed_traces(group_traces(parse_request(request)))
    assert found.incident.prompt_excerpt == "Book me the cheapest flight to Lisbon on Friday\nAisle seat."
    assert "Last model output: Let me search flights for Friday." in found.incident.description
    assert found.incident.model == "gpt-4.1-2025-04-14"


def _sdk_tool_failure(status: str) -> Any:
    tool = {"openinference.span.kind": "TOOL", "tool.name": "search_flights", "input.value": '{"to": "LIS"}'}
    spans = [
        _span("b000000000000001", None, "Trip planner", 0, {"openinference.span.kind": "AGENT"}),
        _span("b000000000000002", "b000000000000001", "search_flights", 10**9, tool, code=2, message=status),
    ]
    [found] = failed_traces(group_traces(parse_request({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})))
    return found.incident


def test_a_tool_error_of_the_openai_agents_sdk_is_read_from_its_status() -> None:
    """The SDK records a failed tool as `SpanError(message="Error running tool", data={"tool_name": ..., "error":
    str(e)})`, and OpenInference's processor writes it as the status `f"{message}: {data}"`, with no exception
    event: the incident's message was that whole dict, and an error text that names its type was not read."""
    data = {"tool_name": "search_flights", "error": "TimeoutError: the fares API took 30 s"}
    named = _sdk_tool_failure(f"Error running tool: {data}")
    assert (named.title, named.error_type) == ("TimeoutError in search_flights", "TimeoutError")
    assert named.error_message == "the fares API took 30 s"
    unreachable = {**data, "error": "can't reach fares.example"}  # printed in double quotes: it holds a quote
    handled = _sdk_tool_failure(f"Error running tool (non-fatal): {unreachable}")
    assert (handled.title, handled.error_type) == ("Error in search_flights", None)  # str(e) alone: no type to read
    assert handled.error_message == "can't reach fares.example"
    other = _sdk_tool_failure("Error running tool: not the SDK's dict")
    assert other.error_message == "Error running tool: not the SDK's dict"
