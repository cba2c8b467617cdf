"""`postmortem serve` starts like a bare MCP server: nothing heavy is imported on its way to answering the handshake,
and the knowledge base (SQLAlchemy, numpy, the ONNX runtime, chromadb) loads in the background once `initialize` has
been answered, so that it never takes the CPU from the handshake (issue #21). Nothing heavy is ever imported on the
thread that serves MCP (a tool call that arrives before the model is loaded may load it in its own worker thread).

The server runs as its own process over stdio, with an audit hook that reports on stderr the first import of each
heavy package (and of typer: started as MCP clients start it, the server needs no CLI framework) and the thread that
imported it."""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest

from tests.processes import server_env

HEAVY = ("openai", "numpy", "sqlalchemy", "chromadb", "onnxruntime", "torch")
CLI = ("typer",)  # stdio `serve` needs no CLI framework (server/cli/quick.py); rich and click come with the SDK
BACKGROUND = {"postmortem-warmup", "postmortem-index"}  # the threads that load the knowledge base
SERVE = f"""
import sys, threading

seen = set()


def report(event, args):
    if event == "import" and (top := args[0].partition(".")[0]) in {HEAVY + CLI!r} and top not in seen:
        seen.add(top)
        sys.stderr.write(f"HEAVY-IMPORT {{top}} {{threading.current_thread().name}}\\n")
        sys.stderr.flush()


sys.addaudithook(report)
sys.argv = ["postmortem", "serve"]
from agent_postmortem.cli import main

main()
"""


def _send(proc: subprocess.Popen[bytes], *messages: dict[str, Any]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(b"".join((json.dumps({"jsonrpc": "2.0", **m}) + "\n").encode() for m in messages))
    proc.stdin.flush()


def _answer(out: IO[bytes], id_: int) -> dict[str, Any]:
    while line := out.readline():
        if line.strip() and (message := json.loads(line)).get("id") == id_:
            return dict(message)
    raise AssertionError(f"the server exited before answering request {id_}")


def _heavy(log: Path) -> list[tuple[str, str]]:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [(p[1], " ".join(p[2:])) for line in lines if (p := line.split())[:1] == ["HEAVY-IMPORT"]]


@pytest.mark.slow
def test_nothing_heavy_is_imported_before_the_handshake_nor_on_the_thread_serving_mcp(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}
    with (
        log.open("wb") as errors,
        subprocess.Popen(
            [sys.executable, "-c", SERVE],
            env=server_env(tmp_path / "home"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        ) as proc,
    ):
        assert proc.stdout is not None and proc.stdin is not None
        try:
            _send(proc, {"id": 1, "method": "initialize", "params": hello})
            assert "result" in _answer(proc.stdout, 1)
            time.sleep(1.5)  # a knowledge base loading already would be importing by now
            assert _heavy(log) == [], "imported on the way to the handshake, or loading before it was answered"
            _send(proc, {"method": "notifications/initialized"}, {"id": 2, "method": "tools/list"})
            tools = _answer(proc.stdout, 2)["result"]["tools"]
            assert "search_incidents" in {t["name"] for t in tools}
            call = {"name": "search_incidents", "arguments": {"query": "the payments API timed out", "limit": 3}}
            _send(proc, {"id": 3, "method": "tools/call", "params": call})
            assert not _answer(proc.stdout, 3)["result"].get("isError")
        finally:
            proc.stdin.close()
            proc.wait(timeout=60)
    loaded = _heavy(log)
    assert {"numpy", "sqlalchemy", "onnxruntime"} <= {name for name, _ in loaded}  # the search did load them
    assert {thread for _, thread in loaded} & BACKGROUND, loaded  # the knowledge base loaded in the background
    assert all(thread != "MainThread" for _, thread in loaded), loaded  # never on the thread serving MCP
