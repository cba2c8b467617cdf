"""The product as its users run it, for tests that drive it from outside: `postmortem serve` over stdio for an MCP
client, and `postmortem ...` commands as subprocesses. Both import this worktree's code (PYTHONPATH) and share the
test session's exported embedding model."""

import os
import subprocess
import sys
from pathlib import Path

from mcp import StdioServerParameters

CLI = str(Path(sys.executable).parent / "postmortem")
ROOT = Path(__file__).resolve().parent.parent


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
