"""The MCP Inspector CLI itself, when it is installed: a client on the TypeScript SDK that starts the server for each
call, and the invalid-params errors it reads for a prompt asked for wrongly."""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.store.search.embedding import Embedder
from tests.factories import ROOT
from tests.mcp.clients import RARE, seeded_home, stdio

pytestmark = pytest.mark.anyio


def inspector() -> str | None:
    """The MCP Inspector CLI (npm @modelcontextprotocol/inspector), installed by `make test`
    (tests/install-tools.sh) like the conformance suite; MCP_INSPECTOR names another copy."""
    found = os.environ.get("MCP_INSPECTOR") or ROOT / ".conformance" / "node_modules" / ".bin" / "mcp-inspector"
    return str(found) if Path(found).exists() and shutil.which("node") else None


def inspect(home: Path, *args: str) -> dict[str, Any]:
    params = stdio(home)
    command = [str(inspector()), "--cli", params.command, *params.args, *args]
    done = subprocess.run(command, env=params.env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.mark.slow
@pytest.mark.skipif(
    inspector() is None, reason="the MCP Inspector CLI is not installed (make test installs it with Node 20+)"
)
def test_the_mcp_inspector_cli_one_process_per_call(tmp_path: Path, embedder: Embedder) -> None:
    """A client on the TypeScript SDK, as people try a server by hand: it converts `k=v` by the input schema's
    type, validates structured content against any output schema, and starts the server for each call."""
    rare = seeded_home(tmp_path, embedder)
    listed = inspect(tmp_path, "--method", "tools/list")
    assert len(listed["tools"]) >= 20
    captured = inspect(
        tmp_path, "--method", "tools/call", "--tool-name", "capture_incident",
        "--tool-arg", "title=Refund agent hit the fares API rate limit",
        "--tool-arg", 'tool_args={"order": "A-1001"}', "--tool-arg", 'error_message={"error":{"code":429}}',
    )  # fmt: skip
    assert not captured["isError"], captured
    shown = inspect(
        tmp_path, "--method", "tools/call", "--tool-name", "get_incident",
        "--tool-arg", f"incident_id={captured['structuredContent']['id']}",
    )  # fmt: skip
    assert shown["structuredContent"]["tool_args"] == '{"order": "A-1001"}'
    for _ in range(2):
        found = inspect(
            tmp_path, "--method", "tools/call", "--tool-name", "search_incidents",
            "--tool-arg", f"query={RARE}", "--tool-arg", "limit=3",
        )  # fmt: skip
        assert found["structuredContent"]["hits"][0]["id"] == rare


@pytest.mark.skipif(
    inspector() is None, reason="the MCP Inspector CLI is not installed (make test installs it with Node 20+)"
)
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--prompt-name", "no_such_prompt"], "no such prompt; the prompts are: five_whys, postmortem"),
        (["--prompt-name", "five_whys"], "the five_whys prompt needs the argument incident_id"),
    ],
    ids=["unknown-prompt", "missing-argument"],
)
def test_a_prompt_asked_for_wrongly_is_invalid_params_through_the_inspector(
    tmp_path: Path, args: list[str], said: str
) -> None:
    """As found with the Inspector CLI: an unknown prompt or a missing required argument was "MCP error 0" (the
    specification asks for -32602, invalid params)."""
    params = stdio(tmp_path)
    command = [str(inspector()), "--cli", params.command, *params.args, "--method", "prompts/get", *args]
    done = subprocess.run(command, env=params.env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 1 and f"MCP error -32602: {said}" in done.stderr + done.stdout, done.stderr[-500:]
    assert "no_such_prompt" not in (done.stderr + done.stdout).split("-32602")[-1]


@pytest.mark.slow
@pytest.mark.skipif(
    inspector() is None, reason="the MCP Inspector CLI is not installed (make test installs it with Node 20+)"
)
def test_a_number_or_flag_typed_in_quotes_through_the_inspector_is_read_not_dropped(
    tmp_path: Path, embedder: Embedder
) -> None:
    """The Inspector converts `k=v` by the schema's top-level type: `limit="2"` became Number('"2"'), NaN, sent as
    null, and null for an optional argument is its absence, so the list had its default length, 20, without a word;
    `user_facing=yes` became false. Optional numbers and flags are published nullable (null is absent, as before), so
    the value reaches the server as typed and is read or refused."""
    seeded_home(tmp_path, embedder)
    quoted = inspect(tmp_path, "--method", "tools/call", "--tool-name", "list_incidents", "--tool-arg", 'limit="2"')
    assert len(quoted["structuredContent"]["incidents"]) == 2, quoted
    wrong = inspect(tmp_path, "--method", "tools/call", "--tool-name", "list_incidents", "--tool-arg", "limit=two")
    assert wrong["isError"] and "limit must be an integer between 1 and 50" in wrong["content"][0]["text"], wrong
    flagged = inspect(
        tmp_path, "--method", "tools/call", "--tool-name", "capture_incident",
        "--tool-arg", "title=Checkout agent showed customers a blank page", "--tool-arg", "user_facing=yes",
    )  # fmt: skip
    shown = inspect(
        tmp_path, "--method", "tools/call", "--tool-name", "get_incident",
        "--tool-arg", f"incident_id={flagged['structuredContent']['id']}",
    )  # fmt: skip
    assert shown["structuredContent"]["user_facing"] is True, shown
