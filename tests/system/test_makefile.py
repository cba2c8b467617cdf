"""A newcomer's two commands: `make demo` installs only what the product needs (no Node.js, no test tools), and
`make test` installs what the tests need or says, one line per missing tool, which tests skip."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import ROOT


def dry_run(target: str, tmp_path: Path) -> str:
    """What `make TARGET` would run on a machine without the virtualenv (-n: nothing is run; -B: every step)."""
    done = subprocess.run(
        ["make", "-n", "-B", target, f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_installs_the_product_only_and_make_test_adds_the_test_tools(tmp_path: Path) -> None:
    demo = dry_run("demo", tmp_path)
    assert "postmortem demo" in demo and "-e '.[local]'" in demo
    assert "npm" not in demo and "conformance" not in demo and "dev]" not in demo and "install-tools" not in demo
    assert "torch" not in demo, "make demo installs the light product: the default embedder needs no torch"
    test = dry_run("test", tmp_path)
    assert "-e '.[local,dev,torch]'" in test and "tests/install-tools.sh" in test and "pytest" in test


def test_install_tools_without_root_node_or_fiu_says_which_tests_skip_and_succeeds(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "tests").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "install-tools.sh", checkout / "tests")
    bin_dir = tmp_path / "bin"  # the shell's basics, no node, npm, fiu-run, chromium or apt-get (root installs nothing)
    bin_dir.mkdir()
    for tool in ("bash", "grep", "id", "dirname", "env"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    env = {"PATH": str(bin_dir), "POSTMORTEM_TEST_DATABASE_URL": "postgresql://unused"}
    done = subprocess.run(
        ["bash", str(checkout / "tests" / "install-tools.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    assert "no fiu-run, so the I/O-error test skips" in lines[0]
    assert "no chromium, so the browser tests of the web view skip" in lines[1]
    assert "no MCP conformance suite (it needs Node.js 20+ with npm; found node none)" in lines[2]


def test_a_missing_tool_skips_with_its_reason_and_fails_under_ci(tmp_path: Path) -> None:
    (tmp_path / "test_uses_a_tool.py").write_text(
        "from tests.factories import missing_tool\n\n"
        "def test_needs_the_tool():\n"
        "    missing_tool('the tool is not installed (install it with make test)')\n",
        encoding="utf-8",
    )
    base = {k: v for k, v in os.environ.items() if k != "CI"} | {"PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", str(tmp_path)]
    here = subprocess.run(command, env=base, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert here.returncode == 0 and "SKIPPED [1]" in here.stdout and "the tool is not installed" in here.stdout
    ci = subprocess.run(command, env=base | {"CI": "1"}, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ci.returncode == 1 and "the tool is not installed" in ci.stdout


def test_without_postgresql_its_tests_are_left_out_with_one_line_and_fail_under_ci(tmp_path: Path) -> None:
    (tmp_path / "no_postgres.py").write_text(  # a machine where initdb and pg_ctl are nowhere
        "import agent_postmortem.evals.postgres\n\n"
        "def _binary(name):\n"
        "    raise FileNotFoundError(name + ' not found')\n\n"
        "agent_postmortem.evals.postgres._binary = _binary\n",
        encoding="utf-8",
    )
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "POSTMORTEM_TEST_DATABASE_URL")}
    env = base | {"PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no_postgres", "-p", "no:cacheprovider"]
    here = subprocess.run(
        [*command, "tests/store/index/test_advisory_lock.py"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert here.returncode == 5, here.stdout  # 5: every test of the file was left out, none failed
    notes = [line for line in here.stdout.splitlines() if "PostgreSQL is not installed" in line]
    assert len(notes) == 1 and "PostgreSQL tests left out" in notes[0] and "apt-get install postgresql" in notes[0]
    ci = subprocess.run(
        [*command, "-x", "tests/store/index/test_advisory_lock.py"],
        env=env | {"CI": "1"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ci.returncode == 1 and "PostgreSQL is not installed" in ci.stdout
