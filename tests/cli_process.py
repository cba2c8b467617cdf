"""The installed `postmortem` command run as its own process, as a shell runs it: its exact bytes, exit code and
files. No LLM; Rich sees a pipe 250 columns wide unless `env` says otherwise."""

import os
import subprocess
import sys
from pathlib import Path

POSTMORTEM = Path(sys.executable).parent / "postmortem"


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
