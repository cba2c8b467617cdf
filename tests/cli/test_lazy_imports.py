"""What a command loads, driven as a shell runs `postmortem`: `--help`, `--version` and the quick reads (`list`,
`show`) load no heavy module, and the plugin commands are looked up only when asked for."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import FIXTURES
from tests.processes import environment, postmortem

HEAVY = ("openai", "chromadb", "onnxruntime", "torch", "mcp", "alembic", "numpy", "sqlalchemy", "pydantic")
PROBE = """
import sys
from agent_postmortem.cli.app import app
try:
    app(sys.argv[1:], prog_name="postmortem")
except SystemExit:
    pass
print("LOADED:", *(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["--help"], set()),
        (["--version"], set()),
        (["list", "--help"], {"pydantic"}),  # typer checks a command's parameters with pydantic
        (["list"], {"pydantic"}),  # the records by sqlite3 (tests/cli/test_quick_reads.py): no SQLAlchemy, no numpy
        (["list", "--json"], {"pydantic"}),
        (["show", "INC-1"], {"pydantic"}),
        (["show", "INC-1", "--json"], {"pydantic"}),
    ],
)
def test_help_and_the_quick_reads_load_no_heavy_module(tmp_path: Path, args: list[str], allowed: set[str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "postmortem.db").write_bytes((FIXTURES / "postmortem-0003.db").read_bytes())
    postmortem("list", home=home)  # migrated once, as the first command after an upgrade does
    code = PROBE.format(heavy=HEAVY)
    probe = subprocess.run(
        [sys.executable, "-c", code, *args], env=environment(home), capture_output=True, timeout=120, check=False
    )
    marker = [line for line in probe.stdout.decode().splitlines() if line.startswith("LOADED:")]
    assert marker, probe.stderr.decode()[-500:]
    loaded = set(marker[0].split()[1:])
    assert loaded <= allowed, (args, loaded - allowed, probe.stderr.decode()[-500:])


PLUGIN_PROBE = """
import sys
from agent_postmortem.cli.app import app
try:
    app(sys.argv[1:], prog_name="postmortem")
except SystemExit:
    pass
print("PLUGINS:", "agent_postmortem.evals.cli" in sys.modules)
"""


@pytest.mark.parametrize(
    ("args", "loaded"),
    [(["list"], False), (["show", "INC-1"], False), (["--help"], True), (["bench", "--help"], True)],
)
def test_plugin_commands_are_looked_up_only_when_asked_for(tmp_path: Path, args: list[str], loaded: bool) -> None:
    """Finding the plugins (the benchmarks' `bench` and `eval`) reads every installed package's metadata, 20-100 ms
    that the product's own commands need not pay; `--help` lists them and their own commands still run."""
    probe = subprocess.run(
        [sys.executable, "-c", PLUGIN_PROBE, *args], env=environment(tmp_path), capture_output=True, timeout=120
    )
    marker = [line for line in probe.stdout.decode().splitlines() if line.startswith("PLUGINS:")]
    assert marker == [f"PLUGINS: {loaded}"], probe.stderr.decode()[-500:]
    if args == ["--help"]:
        assert "bench" in probe.stdout.decode()
