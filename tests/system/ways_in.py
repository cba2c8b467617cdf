"""Planting secrets through every way in: each MCP tool that writes (with the client's model drafting), the SDK as
its own process (locally and to the server), and the CLI (capture, actions, JSONL import, OTLP and step files)."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CreateMessageRequestParams, CreateMessageResult, TextContent

from tests.factories import ROOT
from tests.processes import cli, env
from tests.system.planted import Planted, analysis, capture, otlp_request, seed_row, step_run


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
