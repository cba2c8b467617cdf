"""`postmortem bench perf`, the parts about starting: `postmortem serve` over stdio (process start -> `initialize`
answered -> tools listed -> first search answered) against a bare `MCPServer` with one tool started the same way in
the same run (the MCP SDK's own cost: pydantic, starlette, anyio), and the CLI's quick commands (`--help`, `list`,
`show`) as processes on a knowledge base, against `python -c pass`.

Runs of the product and of the reference alternate, so that other load on a shared machine falls on both alike; each
figure is the median of its runs, and the ratio is taken between the medians."""

import json
import os
import selectors
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent_postmortem.config import Settings

CLI = Path(sys.executable).parent / "postmortem"
PROTOCOL = "2025-11-25"
MB = 1024  # VmHWM is in KiB
Progress = Callable[[str, int, int], None]

BARE_SERVER = """
from mcp.server.mcpserver import MCPServer

mcp = MCPServer("bare", log_level="WARNING")


@mcp.tool()
def echo(text: str) -> str:
    \"\"\"Say the text back.\"\"\"
    return text


mcp.run()
"""


def _message(id_: int | None, method: str, params: dict[str, Any] | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if id_ is not None:
        message["id"] = id_
    if params is not None:
        message["params"] = params
    return (json.dumps(message) + "\n").encode()


class JsonLines:
    """Newline-delimited JSON-RPC from a subprocess's stdout, read with a deadline."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.fd = proc.stdout.fileno()
        self.buffer = b""
        self.selector = selectors.DefaultSelector()
        self.selector.register(proc.stdout, selectors.EVENT_READ)

    def answer(self, id_: int, deadline: float) -> dict[str, Any]:
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                if line.strip() and (message := json.loads(line)).get("id") == id_:
                    return dict(message)
            remaining = deadline - time.perf_counter()
            if remaining <= 0 or not self.selector.select(remaining):
                raise TimeoutError(f"no answer to request {id_}")
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise RuntimeError(f"the server closed stdout before answering request {id_}")
            self.buffer += chunk

    def close(self) -> None:
        self.selector.close()


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def model_env(settings: Settings) -> dict[str, str]:
    """The embedder settings a subprocess needs: the same model, and the model cache where its ONNX export is."""
    return {
        "POSTMORTEM_EMBEDDER": settings.embedder,
        "POSTMORTEM_MODEL_CACHE": str(settings.model_cache),
        "HF_HUB_OFFLINE": "1",
        "POSTMORTEM_LLM": "none",
    }


def _env(settings: Settings, home: Path) -> dict[str, str]:
    env = {**model_env(settings), "POSTMORTEM_HOME": str(home), "PATH": os.environ.get("PATH", ""), "HOME": str(home)}
    return env | ({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {})  # a checkout's code


def handshake(
    command: Sequence[str], env: dict[str, str], log: Path, search: str | None = None, timeout: float = 300
) -> dict[str, float]:
    """Start an MCP server over stdio; time start -> `initialize` answered -> tools listed (-> first search
    answered, when `search` is given)."""
    with log.open("wb") as errors:
        started = time.perf_counter()
        with subprocess.Popen(
            list(command), env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors
        ) as proc:
            lines = JsonLines(proc)
            try:
                return _talk(proc, lines, started, search, started + timeout)
            finally:
                lines.close()
                _stop(proc)


def _talk(
    proc: subprocess.Popen[bytes], lines: JsonLines, started: float, search: str | None, deadline: float
) -> dict[str, float]:
    assert proc.stdin is not None
    hello = {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench-perf", "version": "0"}}
    proc.stdin.write(_message(1, "initialize", hello))
    proc.stdin.flush()
    lines.answer(1, deadline)
    figures = {"initialize_ms": (time.perf_counter() - started) * 1000}
    proc.stdin.write(_message(None, "notifications/initialized") + _message(2, "tools/list"))
    proc.stdin.flush()
    lines.answer(2, deadline)
    figures["tools_listed_ms"] = (time.perf_counter() - started) * 1000
    if search is not None:
        call = {"name": "search_incidents", "arguments": {"query": search[:2000], "limit": 5}}
        proc.stdin.write(_message(3, "tools/call", call))
        proc.stdin.flush()
        answer = lines.answer(3, deadline)
        if "error" in answer or answer.get("result", {}).get("isError"):
            raise RuntimeError(f"the first search failed: {json.dumps(answer)[:500]}")
        figures["first_search_ms"] = (time.perf_counter() - started) * 1000
    figures["peak_rss_mb"] = status_kb(proc.pid, "VmHWM") / MB  # read before the server exits
    return figures


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Close stdin (the server exits at end of input); kill it if it does not."""
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _timed(command: Sequence[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(list(command), env=env, check=True, capture_output=True, timeout=300)
    return (time.perf_counter() - t) * 1000


def _median(runs: list[dict[str, float]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 1)


def cold_start(settings: Settings, root: Path, query: str, repeats: int, progress: Progress) -> dict[str, Any]:
    """`postmortem serve` on a fresh home against a bare `MCPServer` with one tool, alternating, `repeats` each."""
    product: list[dict[str, float]] = []
    bare: list[dict[str, float]] = []
    for i in range(repeats):
        progress("cold start", i, repeats)
        home = root / f"cold-{i}"
        home.mkdir(parents=True, exist_ok=True)
        env = _env(settings, home)
        bare.append(handshake([sys.executable, "-c", BARE_SERVER], env, home / "bare.log"))
        product.append(handshake([str(CLI), "serve"], env, home / "serve.log", search=query))
    progress("cold start", repeats, repeats)
    reference = [_timed([sys.executable, "-c", "pass"]) for _ in range(repeats)]
    initialize, bare_initialize = _median(product, "initialize_ms"), _median(bare, "initialize_ms")
    return {
        "repeats": repeats,
        "initialize_ms": initialize,
        "tools_listed_ms": _median(product, "tools_listed_ms"),
        "first_search_ms": _median(product, "first_search_ms"),
        "initialize_ms_runs": [round(r["initialize_ms"], 1) for r in product],
        "first_search_ms_runs": [round(r["first_search_ms"], 1) for r in product],
        "reference_bare_mcpserver_initialize_ms": bare_initialize,
        "reference_bare_mcpserver_tools_listed_ms": _median(bare, "tools_listed_ms"),
        "reference_bare_mcpserver_initialize_ms_runs": [round(r["initialize_ms"], 1) for r in bare],
        "initialize_vs_bare_mcpserver": round(initialize / bare_initialize, 2),
        "reference_python_pass_ms": round(statistics.median(reference), 1),
        "server_peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in product)),
    }


def cli_reads(settings: Settings, home: Path, incidents: int, repeats: int, progress: Progress) -> dict[str, Any]:
    """`postmortem --help`, `list` and `show` as processes on a knowledge base of `incidents`, each `repeats` times
    (alternating), with `python -c pass` as the reference."""
    from agent_postmortem.store.ids import to_incident_id

    env = {**os.environ, **_env(settings, home)}
    commands = {
        "help": [str(CLI), "--help"],
        "list": [str(CLI), "list"],
        "show": [str(CLI), "show", to_incident_id(max(1, incidents // 2))],
        "reference_python_pass": [sys.executable, "-c", "pass"],
    }
    _timed(commands["list"], env)  # a migration or a first open is not what a read costs
    runs: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(repeats):
        progress("cli reads", i, repeats)
        for name, command in commands.items():
            runs[name].append(_timed(command, env))
    progress("cli reads", repeats, repeats)
    return {
        "incidents": incidents,
        "repeats": repeats,
        **{f"{name}_ms": round(statistics.median(values), 1) for name, values in runs.items()},
        **{f"{name}_ms_runs": [round(v, 1) for v in values] for name, values in runs.items()},
    }
