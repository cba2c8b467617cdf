"""A Chroma server for the benchmarks (`chroma run` on loopback, its data in a folder of the run) and the resident
memory of a process read from /proc."""

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from agent_postmortem.evals.perf_timing import MB
from agent_postmortem.evals.replicas import free_port


@contextlib.contextmanager
def chroma_server(path: Path) -> Iterator[tuple[str, int]]:
    """A Chroma server (`chroma run`, beside this Python) on a free loopback port, its data in `path`; its URL and pid.
    Stopped, and `path` removed, at the end."""
    binary = Path(sys.executable).parent / "chroma"
    port, log = free_port(), path.with_suffix(".log")
    path.mkdir(parents=True)
    command = [str(binary), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w", encoding="utf-8") as out:
        server = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not answers(url + "/api/v2/heartbeat"):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Chroma server did not start: {log.read_text(encoding='utf-8')[-2000:]}")
            time.sleep(0.2)
        yield url, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(path, ignore_errors=True)


def answers(url: str) -> bool:
    """Whether `url` answers 200 within a second."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def rss(pid: int) -> dict[str, int]:
    """Peak and current resident memory of a process, in MB (VmHWM, VmRSS)."""
    fields = dict(x.split(":", 1) for x in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in x)
    return {"peak_rss_mb": int(fields["VmHWM"].split()[0]) // MB, "rss_mb": int(fields["VmRSS"].split()[0]) // MB}
