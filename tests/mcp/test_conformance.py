"""The official MCP conformance suite against the real HTTP server on loopback, with a baseline of the scenarios
that exercise fixtures of the reference server (tests/conformance/expected-failures.yaml). A new failure, or a
baseline entry that starts passing, fails the test."""

import os
import subprocess
from pathlib import Path

import pytest

from agent_postmortem.evals.replicas import free_port
from tests.factories import ROOT, TESTS, missing_tool
from tests.processes import CLI, server_env, wait_for_port

pytestmark = pytest.mark.slow
SUITE = ROOT / ".conformance" / "node_modules" / ".bin" / "conformance"
BASELINE = TESTS / "conformance" / "expected-failures.yaml"


def test_the_http_server_passes_the_conformance_suite_but_for_its_baseline(tmp_path: Path) -> None:
    if not SUITE.exists():
        missing_tool("the MCP conformance suite is not installed: make test installs it when Node.js 20+ and npm are")
    port = free_port()
    env = server_env(tmp_path) | {
        "POSTMORTEM_MODEL_CACHE": os.environ["POSTMORTEM_MODEL_CACHE"],
        "POSTMORTEM_HTTP_RATE": "100000",  # the suite fires ~150 requests in seconds from one address
    }
    with (tmp_path / "server.log").open("w", encoding="utf-8") as log:
        server = subprocess.Popen(
            [CLI, "serve", "--transport", "http", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port(port)
            run = subprocess.run(
                [str(SUITE), "server", "--url", f"http://127.0.0.1:{port}/mcp", "--expected-failures", str(BASELINE)],
                capture_output=True,
                text=True,
                timeout=600,
                env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    summary = run.stdout[run.stdout.find("=== SUMMARY ===") :]
    assert run.returncode == 0, summary + run.stderr[-2000:]
    assert "Baseline check passed" in run.stdout
    for scenario in ("server-initialize", "tools-list", "tools-call-error", "dns-rebinding-protection"):
        assert f"✓ {scenario}" in summary, scenario
