"""OpenLLMetry's spans (Traceloop's SDK and its opentelemetry-instrumentation-* packages: `@workflow`, `@tool`, an
`openai.chat` span per model call) become an incident of the same shape as a GenAI trace."""

import json
from typing import Any

from agent_postmortem.ingest.openllmetry import as_genai
from agent_postmortem.ingest.otlp import group_traces, parse_request
from agent_postmortem.ingest.traces import failed_traces

TRACE = "55555555555555555555555555555555"
ASKED = "Where is my order 1234?"


def _span(span_id: str, parent: str | None, name: str, attrs: dict[str, Any], error: tuple[str, str] | None) -> dict:
    span: dict[str, Any] = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": name,
        "startTimeUnixNano": str(1790000000000000000 + int(span_id[-1]) * 10**9),
        "endTimeUnixNano": str(1790000000500000000 + int(span_id[-1]) * 10**9),
        "attributes": [
            {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
            for k, v in attrs.items()
        ],
        "status": {"code": 2, "message": f"{error[0]}: {error[1]}"} if error else {"code": 0},
    }
    if error:
        exception = {"exception.type": error[0], "exception.message": error[1], "exception.escaped": "False"}
        attributes = [{"key": k, "value": {"stringValue": v}} for k, v in exception.items()]
        span["events"] = [{"name": "exception", "timeUnixNano": span["endTimeUnixNano"], "attributes": attributes}]
    return span | ({"parentSpanId": parent} if parent else {})


def _trace(*spans: dict) -> dict:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "support-app"}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": list(spans)}]}]}


WORKFLOW = {
    "traceloop.span.kind": "workflow",
    "traceloop.entity.name": "support_agent",
    "traceloop.entity.input": json.dumps({"args": [ASKED], "kwargs": {}}),
}
CHAT = {
    "llm.request.type": "chat",
    "gen_ai.system": "OpenAI",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.prompt.0.role": "system",
    "gen_ai.prompt.0.content": "You are a support agent.",
    "gen_ai.prompt.1.role": "user",
    "gen_ai.prompt.1.content": ASKED,
    "gen_ai.completion.0.role": "assistant",
    "gen_ai.completion.0.content": "Looking the order up.",
    "gen_ai.completion.0.finish_reason": "tool_calls",
    "gen_ai.usage.prompt_tokens": 120,
    "gen_ai.usage.completion_tokens": 20,
}
TOOL = {
    "traceloop.span.kind": "tool",
    "traceloop.entity.name": "get_order",
    "traceloop.entity.input": json.dumps({"args": [], "kwargs": {"order_id": "1234"}}),
}


def test_a_failed_tool_names_the_tool_its_arguments_the_agent_and_the_prompt() -> None:
    """It was "KeyError in support-app": no tool, no arguments, no prompt, "Tool calls: 0. Model calls: 0"."""
    failed = ("KeyError", "'shipping_address'")
    request = _trace(
        _span("c000000000000001", None, "support_agent.workflow", WORKFLOW, failed),
        _span("c000000000000002", "c000000000000001", "openai.chat", CHAT, None),
        _span("c000000000000003", "c000000000000001", "get_order.tool", TOOL, failed),
    )
    [found] = failed_traces(group_traces(parse_request(request)))
    incident = found.incident
    assert incident.title == "KeyError in get_order"
    assert (incident.agent, incident.tool, incident.tool_args) == ("support_agent", "get_order", '{"order_id": "1234"}')
    assert (incident.model, incident.prompt_excerpt) == ("gpt-4o-mini", ASKED)
    assert "Tool calls: 1 (1 failed). Model calls: 1 (120 input / 20 output tokens)." in incident.description
    assert "Last model output: Looking the order up." in incident.description


def test_a_failed_model_call_has_the_prompt_it_was_sent() -> None:
    limited = ("openai.RateLimitError", "Error code: 429 - rate_limit_exceeded")
    chat = {k: v for k, v in CHAT.items() if not k.startswith(("gen_ai.completion", "gen_ai.usage"))}
    request = _trace(
        _span("c000000000000001", None, "support_agent.workflow", WORKFLOW, limited),
        _span("c000000000000002", "c000000000000001", "openai.chat", chat, limited),
    )
    [found] = failed_traces(group_traces(parse_request(request)))
    assert (found.incident.agent, found.incident.prompt_excerpt) == ("support_agent", ASKED)
    assert found.incident.title == "openai.RateLimitError in gpt-4o-mini (support_agent)"


def test_positional_arguments_are_kept_and_a_genai_attribute_wins() -> None:
    tool = TOOL | {"traceloop.entity.input": json.dumps({"args": ["1234"], "kwargs": {"verbose": True}})}
    assert json.loads(as_genai(tool, "get_order.tool")["gen_ai.tool.call.arguments"]) == {
        "args": ["1234"],
        "kwargs": {"verbose": True},
    }
    given = as_genai(TOOL | {"gen_ai.tool.name": "orders.get"}, "get_order.tool")
    assert given["gen_ai.tool.name"] == "orders.get"
    assert (
        as_genai({"traceloop.span.kind": "tool", "traceloop.entity.input": "[" * 50_000}, "x.tool")["gen_ai.tool.name"]
        == "x"
    )
    assert as_genai({"http.method": "GET"}, "GET /orders") == {"http.method": "GET"}
