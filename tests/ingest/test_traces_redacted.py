"""A secret named in one span of a trace and repeated bare in another span, or in the incident, is redacted
everywhere: each span's event was redacted alone, so only where it was named was it found."""

from typing import Any

from agent_postmortem.ingest.otlp import group_traces, parse_request
from agent_postmortem.ingest.traces import import_traces
from agent_postmortem.service.facade import PostmortemService

PASSWORD = "Tr0ub4dor-x9q7Lm"
TRACE = "5cf92f3577b34da6a3ce929d0e0e4737"


def _span(span_id: str, tool: str, start: int, arguments: str, failure: str | None = None) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": f"execute_tool {tool}",
        "startTimeUnixNano": str(1790000000000000000 + start * 10**9),
        "endTimeUnixNano": str(1790000000000000000 + (start + 1) * 10**9),
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}},
            {"key": "gen_ai.tool.name", "value": {"stringValue": tool}},
            {"key": "gen_ai.tool.call.arguments", "value": {"stringValue": arguments}},
        ],
    }
    if failure is not None:
        span["status"] = {"code": 2, "message": failure}
        span["attributes"].append({"key": "error.type", "value": {"stringValue": "LoginRejected"}})
    return span


def test_a_password_named_in_one_span_and_bare_in_another_and_in_the_incident_is_redacted_everywhere(
    service: PostmortemService,
) -> None:
    spans = [
        _span("00f067aa0ba902b1", "shell.run", 1, f'{{"cmd": "export DB_PASSWORD={PASSWORD}"}}'),
        _span("00f067aa0ba902b2", "db.login", 2, f'{{"user": "app", "secret_hint": "{PASSWORD[:4]}"}}', PASSWORD),
    ]
    request = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": spans}]}]}
    result = import_traces(service, group_traces(parse_request(request)))
    stored = service.get_incident(result.incident_ids[0])
    steps = [e.description for e in stored.timeline]
    assert any("db.login" in step and "FAILED" in step for step in steps), steps
    assert PASSWORD not in stored.model_dump_json(), (stored.error_message, steps)
    assert stored.error_message is not None and "[REDACTED:" in stored.error_message


def test_a_later_batch_without_a_failure_is_redacted_as_one_too(service: PostmortemService) -> None:
    """The failed batch first; a later batch of the same trace with no failed span joins the incident's timeline, and
    its spans were redacted one at a time: a password one of them named stayed in clear in the next."""
    failed = [_span("00f067aa0ba902c1", "db.login", 1, '{"user": "app"}', "login rejected")]
    later = [
        _span("00f067aa0ba902c2", "shell.run", 3, f'{{"cmd": "export DB_PASSWORD={PASSWORD}"}}'),
        _span("00f067aa0ba902c3", "db.retry", 4, f'{{"user": "app", "tried": "{PASSWORD}"}}'),
    ]
    for spans in (failed, later):
        request = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": spans}]}]}
        result = import_traces(service, group_traces(parse_request(request)))
    assert result.timeline_events == 2, result
    stored = service.get_incident("INC-1")
    steps = [e.description for e in stored.timeline]
    assert any("db.retry" in step for step in steps), steps
    assert PASSWORD not in stored.model_dump_json(), steps
