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
