"""Processes as a user starts them, for tests that drive the product from outside: the installed `postmortem`
command as a shell runs it (its exact bytes, exit code and files; no LLM; Rich sees a pipe 250 columns wide unless
`env` says otherwise), `postmortem serve` over stdio for an MCP client, a server's environment, and an agent script
using the SDK. They share the test session's exported embedding model."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from mcp import StdioServerParameters

from tests.factories import ROOT

POSTMORTEM = Path(sys.executable).parent / "postmortem"
CLI = str(POSTMORTEM)


def environment(home: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    chosen = {**os.environ, "POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none", "COLUMNS": "250"}
    for key in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "POSTMORTEM_DATABASE_URL", "POSTMORTEM_TEAM"):
        chosen.pop(key, None)
    return {**chosen, **(env or {})}


def postmortem(
    *args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(POSTMORTEM), *args], env=environment(home, env), capture_output=True, timeout=timeout, check=False
    )


def server_env(home: Path) -> dict[str, str]:
    return {
        "POSTMORTEM_HOME": str(home),
        "POSTMORTEM_LLM": "none",
        "HF_HUB_OFFLINE": "1",
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        # a checkout run with PYTHONPATH (e.g. a second work tree sharing one venv) must test its own code
        **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ},
    }


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)


CRASHING_AGENT = """
from agent_postmortem import Recorder

recorder = Recorder(agent="refund-bot")


@recorder.watch(tool="payments.refund")
def refund(order: str) -> None:
    raise RuntimeError(f"payments.refund returned 502 Bad Gateway for order {order}")


refund("A-1001")
"""


def run_agent_script(
    tmp_path: Path, source: str, *, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """`source` as an agent's own process (tmp_path/agent.py), with the SDK as installed: no path into the checkout.
    Past `timeout` the test fails with the Python stacks of the agent and every process it forked (a hang seen
    only on a loaded CI machine said nothing but "timed out")."""
    script = tmp_path / "agent.py"
    script.write_text(STACKS_ON_SIGUSR1 + source, encoding="utf-8")
    chosen = {**os.environ, "POSTMORTEM_LLM": "none", **env}
    agent = subprocess.Popen(
        [sys.executable, str(script)],
        env=chosen,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the forked children get the signals too
    )
    try:
        stdout, stderr = agent.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(agent.pid, signal.SIGUSR1)
        time.sleep(3)
        os.killpg(agent.pid, signal.SIGKILL)
        stdout, stderr = agent.communicate()
        raise AssertionError(f"the agent did not end within {timeout:.0f} s; its stacks:\n{stderr[-12_000:]}") from None
    return subprocess.CompletedProcess(agent.args, agent.returncode, stdout, stderr)


# one line before the agent's own (its line numbers shift by one): SIGUSR1 prints every thread's stack, in the
# agent and in each process it forks (the handler is inherited; no watchdog thread, which a fork would lose)
STACKS_ON_SIGUSR1 = "import faulthandler, signal; faulthandler.register(signal.SIGUSR1, all_threads=True)\n"


def run_crashing_agent(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The agent above as its own process: its watched function raises and nothing catches it."""
    return run_agent_script(tmp_path, CRASHING_AGENT, **env)


def env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a product process on `home` (no LLM, offline), plus `extra` (e.g. a database URL)."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "POSTMORTEM_HOME": str(home),
        "POSTMORTEM_LLM": "none",
        "POSTMORTEM_MODEL_CACHE": os.environ["POSTMORTEM_MODEL_CACHE"],
        "HF_HUB_OFFLINE": "1",
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "PYTHONPATH": str(ROOT),
        **(extra or {}),
    }


def stdio_server(home: Path, extra: dict[str, str] | None = None) -> StdioServerParameters:
    """`postmortem serve` over stdio on `home`, for `mcp.Client(...)`."""
    return StdioServerParameters(command=CLI, args=["serve"], env=env(home, extra), cwd=str(home))


def cli(
    home: Path, *args: str, extra: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """`postmortem ARGS` on `home`, as a subprocess; stdout and stderr captured as text."""
    return subprocess.run(
        [CLI, *args], env=env(home, extra), cwd=str(home), capture_output=True, text=True, timeout=timeout, check=False
    )
