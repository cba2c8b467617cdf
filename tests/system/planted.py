"""The planted secrets: a fresh secret for every field, in turn of every kind the redactor claims, and the payloads
of every way in (a capture, an analysis, an OTLP request, a JSONL seed row, a step run, an export line) with a
secret in every text."""

import itertools
import json
import random
from typing import Any

from agent_postmortem.evals.redaction import leaked
from agent_postmortem.evals.redaction_corpus import KINDS
from agent_postmortem.ingest.backup import EXPORT_FORMAT
from agent_postmortem.store.redact import redact
from tests.factories import FIXED_NOW

SHORT_CARRIERS = {  # for a value known by the word before it: the shortest such text (else its first carrier)
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY={v}",
    "connection_string_password": "postgresql://agent:{v}@db.internal:5432/orders",
    "url_password": "https://bot:{v}@registry.example.org/v2/",
    "bearer_token": "Authorization: Bearer {v}",
    "authorization_token": "Authorization: Token {v}",
    "basic_auth_header": "Authorization: Basic {v}",
    "api_key_header": "x-api-key: {v}",
    "password_pair": "password={v}",
    "password_prose": "the password is {v}",
    "password_non_english": "Passwort: {v}",
    "cli_password": "mysqldump --password={v} orders",
    "azure_storage_key": "AccountKey={v}",
    "azure_storage_key_truncated": "AccountName=logs;AccountKey={v}",
}


class Planted:
    """Hands out a fresh secret for every field, in turn of every kind the redactor claims (evals/redaction_corpus),
    and remembers where each went and what of it must not be stored."""

    def __init__(self, seed: int = 15) -> None:
        self.rng = random.Random(seed)
        self.kinds = itertools.cycle(KINDS)
        self.values: list[tuple[str, str, list[str]]] = []  # (where it went in, kind, the parts that must vanish)

    def __call__(self, where: str, template: str = "{}", *, long: bool = False, limit: int = 200) -> str:
        """A secret in `template`, at most `limit` characters unless `long` (kinds that do not fit are skipped)."""
        while True:
            name = next(self.kinds)
            kind = KINDS[name]
            value = kind.make(self.rng)
            carrier = SHORT_CARRIERS.get(name, kind.carriers[0]) if kind.keyed else "{v}"
            text = template.format(carrier.format(v=value))
            if long or len(text) <= limit:
                break
        parts = kind.parts(value)
        assert not leaked(redact(text), parts), f"the redactor itself misses this {name} ({where}): not a storage bug"
        self.values.append((where, name, parts))
        return text

    def text(self, where: str, n: int = 3) -> str:
        return "\n".join(self(where, "seen: {} (retry 2)", long=True) for _ in range(n))


def analysis(p: Planted, where: str) -> dict[str, Any]:
    """A draft within AnalysisDraft's bounds, a secret in every text."""
    return {
        "whys": [{"question": p(where, "Why {}?", limit=160), "answer": p(where, "Because {}.")} for _ in range(3)],
        "root_cause": p(where, "The root cause: {}"),
        "contributing_factors": [{"factor": p(where, "factor {}", limit=160), "effect": p(where, limit=160)}],
        "action_items": [
            {
                "title": p(where, "Rotate the key {}", limit=160),
                "owner_role": p(where, limit=60),
                "priority": "P1",
                "due_in_days": 7,
                "addresses": p(where, "addresses {}", limit=120),
            }
        ],
        "model_behavior": p(where, "The model echoed {}"),
        "determinism": "deterministic",
        "runs_to_verify": None,
        "responsible": p(where, limit=120),
        "decisive_step": 2,
    }


def capture(p: Planted, where: str) -> dict[str, Any]:
    return {
        "title": p(where, "Agent failed: {}"),
        "description": p.text(where),
        "error_type": p(where),
        "error_message": p.text(where),
        "stack_trace": p.text(where),
        "agent": p(where),
        "tool": p(where),
        "tool_args": p(where, "args: {}"),  # not JSON: the SDK pre-parses JSON-looking text arguments
        "model": p(where),
        "prompt_excerpt": p.text(where),
        "environment": p(where),
        "impact": p.text(where),
        "idempotency_key": p(where, "retry {}"),
    }


def otlp_request(p: Planted, where: str, trace_id: str) -> dict[str, Any]:
    def attrs(**values: str) -> list[dict[str, Any]]:
        return [{"key": k.replace("_", "."), "value": {"stringValue": v}} for k, v in values.items()]

    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": p(where, "ask: {}")}]}])
    root = {
        "traceId": trace_id,
        "spanId": "00f067aa0ba90001",
        "name": "invoke_agent",
        "startTimeUnixNano": "1790000000000000000",
        "endTimeUnixNano": "1790000031900000000",
        "attributes": attrs(gen_ai_operation_name="invoke_agent", gen_ai_agent_name=p(where)),
        "status": {"code": 2, "message": p(where)},
    }
    tool_span = {
        "traceId": trace_id,
        "spanId": "00f067aa0ba90002",
        "parentSpanId": "00f067aa0ba90001",
        "name": "execute_tool",
        "startTimeUnixNano": "1790000001500000000",
        "endTimeUnixNano": "1790000031600000000",
        "attributes": [
            *attrs(gen_ai_operation_name="execute_tool", gen_ai_tool_name=p(where), gen_ai_request_model=p(where)),
            {"key": "gen_ai.tool.call.arguments", "value": {"stringValue": json.dumps({"key": p(where)})}},
            {"key": "gen_ai.input.messages", "value": {"stringValue": messages}},
        ],
        "status": {"code": 2, "message": p(where)},
        "events": [
            {
                "name": "exception",
                "timeUnixNano": "1790000031600000000",
                "attributes": [
                    {"key": "exception.type", "value": {"stringValue": p(where)}},
                    {"key": "exception.message", "value": {"stringValue": p.text(where)}},
                    {"key": "exception.stacktrace", "value": {"stringValue": p.text(where)}},
                ],
            }
        ],
    }
    resource = {"attributes": attrs(service_name=p(where), deployment_environment_name=p(where))}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [root, tool_span]}]}]}


def seed_row(p: Planted, where: str, n: int) -> dict[str, Any]:
    row = {k: v for k, v in capture(p, where).items() if k != "idempotency_key"}
    row["title"] = p(where, f"Row {n} failed: {{}}")  # rows the same once redacted would be one incident
    plain = analysis(p, where)
    return {
        **row,
        "source_id": p(where),
        "timeline": [{"description": p.text(where), "kind": "investigating"}],
        "analysis": {k: plain[k] for k in ("whys", "root_cause", "contributing_factors", "model_behavior")},
        "action_items": [{"title": p(where, "Fix {}"), "owner": p(where), "priority": "P0"}],
    }


def step_run(p: Planted, where: str) -> dict[str, Any]:
    steps = [{"agent": p(where), "content": p.text(where)} for _ in range(3)]
    return {"id": p(where), "title": p(where, "run {}"), "task": p.text(where), "steps": steps, "failed": True}


def export_line(p: Planted) -> str:
    where = "restore of an export"
    seeded = capture(p, where)
    record = {
        **{k: v for k, v in seeded.items() if k != "idempotency_key"},
        "id": "INC-7",
        "category": "tool_failure",
        "severity": "SEV3",
        "triage": "full",
        "created_at": FIXED_NOW.isoformat(),
        "timeline": [{"at": FIXED_NOW.isoformat(), "kind": "note", "description": p.text(where)}],
        "action_items": [
            {"id": "AI-3", "incident_id": "INC-7", "title": p(where, "Fix {}"), "owner": p(where),
             "created_at": FIXED_NOW.isoformat()}
        ],
    }  # fmt: skip
    return json.dumps({"format": EXPORT_FORMAT, "incident": record})
