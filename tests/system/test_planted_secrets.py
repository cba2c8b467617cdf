"""Planted secrets: distinct secrets and personal data of every format the redactor claims, sent in every field of
every way in (each MCP tool that writes, over HTTP; the CLI; JSONL import and restore; OTLP over HTTP and from a
file; multi-agent step runs; the SDK as its own process, locally and to the server), are found raw nowhere after:
not in any column of any table (walked from sqlite_master, so a new table cannot be forgotten), nor in any file of
the home (the database and its WAL, the chromadb directory, caches). Change authors (`by`) were stored raw, and
idempotency keys were stored as redacted text; both went unnoticed until every column was looked at."""

import itertools
import json
import random
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CreateMessageRequestParams, CreateMessageResult, TextContent

from agent_postmortem.evals.redaction import leaked
from agent_postmortem.evals.redaction_corpus import KINDS
from agent_postmortem.ingest.backup import EXPORT_FORMAT
from agent_postmortem.store.redact import redact
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import FIXED_NOW, ROOT, make_service
from tests.http_server import serving
from tests.processes import cli, env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

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


class Sampler:
    """The client's model: writes a draft full of planted secrets, and names itself with one."""

    def __init__(self, p: Planted) -> None:
        self.draft = json.dumps(analysis(p, "sampling draft"))
        self.model = p("sampling model name")

    async def __call__(self, context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        return CreateMessageResult(
            role="assistant", model=self.model, content=TextContent(type="text", text=self.draft)
        )


async def call(client: Client, tool: str, /, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, result.content)
    assert result.structured_content is not None
    return result.structured_content


async def plant_through_every_tool(client: Client, p: Planted) -> None:
    first = (await call(client, "capture_incident", **capture(p, "capture_incident")))["id"]
    second = (await call(client, "capture_incident", **capture(p, "capture_incident")))["id"]
    await call(client, "add_timeline_event", incident_id=first, description=p.text("add_timeline_event"))
    await call(client, "resolve_incident", incident_id=second, status="mitigated", note=p.text("resolve_incident"))
    where = "add_action_item"
    item = await call(
        client, "add_action_item", incident_id=first, title=p(where, "Fix {}"), owner=p(where), by=p(where)
    )
    where = "update_action_item"
    changed = {"title": p(where, "Fix {}"), "owner": p(where), "by": p(where), "status": "in_progress"}
    await call(client, "update_action_item", action_id=item["id"], **changed)
    draft = json.dumps(analysis(p, "record_analysis"))
    await call(client, "record_analysis", incident_id=first, analysis_json=draft)
    await call(client, "draft_analysis", incident_id=second)  # the client's model writes it (sampling)
    await call(client, "search_incidents", query=p("search_incidents query"))  # not stored: nor cached
    await call(client, "check_blameless", text=p.text("check_blameless"))


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


SDK_SCRIPT = """
import json, sys
from agent_postmortem import Recorder
values = json.loads(open(sys.argv[1], encoding="utf-8").read())
recorder = Recorder(agent=values["agent"], model=values["model"], url=sys.argv[2] if len(sys.argv) > 2 else None)
try:
    raise RuntimeError(values["message"])
except RuntimeError as error:
    recorder.capture(error, tool=values["tool"], tool_args=values["tool_args"], prompt=values["prompt"],
                     impact=values["impact"], session=values["session"], idempotency_key=values["key"])
assert recorder.flush(120) and recorder.failed == 0 and recorder.dropped == 0, (recorder.failed, recorder.dropped)
"""


def run_sdk(p: Planted, tmp_path: Path, home: Path, url: str | None) -> None:
    where = "SDK to the server" if url else "SDK, local store"
    values = {k: p(where) for k in ("agent", "model", "tool", "tool_args", "session")}
    values |= {"message": p.text(where), "prompt": p.text(where), "impact": p.text(where), "key": p(where, "sdk {}")}
    (tmp_path / "sdk.json").write_text(json.dumps(values), encoding="utf-8")
    (tmp_path / "sdk.py").write_text(SDK_SCRIPT, encoding="utf-8")
    args = [sys.executable, str(tmp_path / "sdk.py"), str(tmp_path / "sdk.json"), *([url] if url else [])]
    done = subprocess.run(args, env=env(home), cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def plant_through_the_cli(p: Planted, tmp_path: Path, home: Path) -> None:
    def run(*args: str) -> str:
        done = cli(home, *args)
        assert done.returncode == 0, (args[0], done.stderr[-2000:])
        return done.stdout

    (tmp_path / "capture.json").write_text(json.dumps(capture(p, "postmortem capture --file")), encoding="utf-8")
    incident = json.loads(run("capture", "--file", str(tmp_path / "capture.json"), "--json"))["id"]
    where = "postmortem capture"
    options = ["--title", p(where, "Agent failed: {}"), "--description", p.text(where), "--agent", p(where)]
    options += ["--tool", p(where), "--model", p(where), "--error-type", p(where), "--impact", p.text(where)]
    run("capture", *options, "--error-message", p.text(where), "--idempotency-key", p(where, "cli {}"), "--json")
    where = "postmortem actions --add"
    added = run(
        "actions", "--incident", incident, "--add", p(where, "Fix {}"), "--owner", p(where), "--by", p(where), "--json"
    )
    where = "postmortem actions --item"
    changes = ["--title", p(where, "Fix {}"), "--owner", p(where), "--by", p(where), "--set-status", "completed"]
    run("actions", "--item", json.loads(added)["id"], *changes)
    rows = [json.dumps(seed_row(p, "postmortem import (JSONL)", n)) for n in range(2)]
    (tmp_path / "seed.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    run("import", str(tmp_path / "seed.jsonl"))
    trace = otlp_request(p, "postmortem import-traces", "5bf92f3577b34da6a3ce929d0e0e4736")
    (tmp_path / "traces.jsonl").write_text(json.dumps(trace) + "\n", encoding="utf-8")
    run("import-traces", str(tmp_path / "traces.jsonl"))
    (tmp_path / "runs.jsonl").write_text(json.dumps(step_run(p, "postmortem import-steps")) + "\n", encoding="utf-8")
    run("import-steps", str(tmp_path / "runs.jsonl"))


# --- where to look ---------------------------------------------------------------------------------


def stored_texts(database: Path) -> Iterator[tuple[str, str]]:
    """(table.column, text) for every value of every column of every table, and every string inside JSON."""
    with sqlite3.connect(database) as conn:
        tables = [name for (name,) in conn.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            cursor = conn.execute(f'select * from "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    for text in _texts(value):
                        yield f"{table}.{column}", text


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, bytes):
        yield value.decode("latin-1")
    elif isinstance(value, str):
        yield value
        try:
            parsed = json.loads(value)
        except ValueError:
            return
        yield from _strings(parsed)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def raw_in_columns(p: Planted, database: Path) -> list[str]:
    texts = list(stored_texts(database))
    return sorted(
        {
            f"{where} ({kind}) -> {column}"
            for where, kind, parts in p.values
            for column, t in texts
            for v in parts
            if v in t
        }
    )


def raw_in_files(p: Planted, home: Path) -> list[str]:
    found = set()
    for path in (f for f in home.rglob("*") if f.is_file()):
        data = path.read_bytes()
        for where, kind, parts in p.values:
            forms = {f for v in parts for f in (v, json.dumps(v)[1:-1], json.dumps(v, ensure_ascii=False)[1:-1])}
            if any(form.encode("utf-8") in data for form in forms):
                found.add(f"{where} ({kind}) -> {path.relative_to(home)}")
    return sorted(found)


# --- the test --------------------------------------------------------------------------------------


async def test_secrets_planted_through_every_way_in_are_found_raw_nowhere(tmp_path: Path, embedder: Embedder) -> None:
    home, p = tmp_path / "home", Planted()
    service = make_service(home, embedder=embedder)
    try:
        with serving(service, token=None) as url:
            async with Client(f"{url}/mcp", sampling_callback=Sampler(p)) as client:
                await plant_through_every_tool(client, p)
            import httpx

            trace = otlp_request(p, "OTLP/HTTP", "6bf92f3577b34da6a3ce929d0e0e4736")
            posted = httpx.post(f"{url}/v1/traces", json=trace, timeout=120)
            assert posted.status_code == 200 and posted.json() == {"partialSuccess": {}}, posted.text
            run_sdk(p, tmp_path, home, f"{url}/mcp")
            run_sdk(p, tmp_path, home, None)
            plant_through_the_cli(p, tmp_path, home)
    finally:
        service.knowledge.release_index()
        service.store.engine.dispose()
    (tmp_path / "backup.jsonl").write_text(export_line(p) + "\n", encoding="utf-8")
    restored = cli(tmp_path / "restored", "import", str(tmp_path / "backup.jsonl"))
    assert restored.returncode == 0, restored.stderr

    counts = {t: n for t, n in _counts(home / "postmortem.db").items() if n}
    assert counts["incidents"] >= 11 and counts["action_item_changes"] >= 5 and counts["idempotency_keys"] >= 5
    assert counts["analyses"] >= 4 and len(p.values) > 300
    assert raw_in_columns(p, home / "postmortem.db") == []
    assert raw_in_columns(p, tmp_path / "restored" / "postmortem.db") == []
    assert raw_in_files(p, home) == [] and raw_in_files(p, tmp_path / "restored") == []


def _counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as conn:
        tables = [name for (name,) in conn.execute("select name from sqlite_master where type = 'table'")]
        return {t: int(conn.execute(f'select count(*) from "{t}"').fetchone()[0]) for t in tables}
