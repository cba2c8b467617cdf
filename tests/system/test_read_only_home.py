"""A data directory this process cannot write (a team's knowledge base mounted read-only, a backup opened to look,
another user's): reading commands and the MCP read tools work on it as they are, writing nothing there; writing
commands, and a schema that would need migrating, fail with one line naming the directory. Root writes whatever the
mode says, so as root the commands run as `nobody` (setpriv) on a home `nobody` owns with no write bits."""

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from agent_postmortem.store.records import db
from tests.factories import ROOT
from tests.processes import CLI

pytestmark = pytest.mark.slow
NOBODY = 65534
SETPRIV = shutil.which("setpriv")
ROOT_USER = os.geteuid() == 0


def _drop() -> list[str]:
    """The prefix that runs a command without the right to write what the mode forbids."""
    if not ROOT_USER:
        return []
    if SETPRIV is None:
        pytest.skip("running as root without setpriv: no way to read a home without the right to write it")
    return [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _freeze(path: Path) -> None:
    """Take every write bit off `path` and below (owned by `nobody` when running as root)."""
    for item in [path, *path.rglob("*")]:
        if ROOT_USER:
            os.chown(item, NOBODY, NOBODY)
        item.chmod(stat.S_IMODE(item.stat().st_mode) & ~0o222 | (0o500 if item.is_dir() else 0o400))


def _thaw(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        item.chmod(stat.S_IMODE(item.stat().st_mode) | 0o200)


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder `nobody` can reach (pytest's own tmp folders are private to their user), with a writable HOME."""
    folder = Path(tempfile.mkdtemp(prefix="postmortem-ro-"))
    folder.chmod(0o755)
    (folder / "user").mkdir(mode=0o777)
    (folder / "user").chmod(0o777)
    try:
        yield folder
    finally:
        _thaw(folder)
        shutil.rmtree(folder)


def _env(home: Path) -> dict[str, str]:
    return {
        "POSTMORTEM_HOME": str(home),
        "POSTMORTEM_LLM": "none",
        "POSTMORTEM_MODEL_CACHE": str(home.parent / "user" / "models"),
        "HF_HUB_OFFLINE": "1",
        "PATH": os.environ["PATH"],
        "HOME": str(home.parent / "user"),
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "250",
    }


def run(home: Path, *args: str, drop: bool = True) -> subprocess.CompletedProcess[str]:
    command = [*(_drop() if drop else []), CLI, *args]
    return subprocess.run(command, env=_env(home), capture_output=True, text=True, timeout=240, check=False)


def files(home: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime_ns) for p in home.rglob("*")}


def one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr, result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and all(word in error[0] for word in words), result.stderr


@pytest.fixture
def seeded(place: Path) -> Path:
    home = place / "home"
    made = run(home, "init", "--seed", drop=False)
    assert made.returncode == 0, made.stderr
    _freeze(home)
    return home


def test_reading_commands_work_on_a_read_only_home_and_write_nothing(seeded: Path) -> None:
    before = files(seeded)
    listed = run(seeded, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert '"INC-45"' in listed.stdout
    shown = run(seeded, "show", "INC-1", "--json")
    assert shown.returncode == 0 and '"INC-1"' in shown.stdout, shown.stderr
    found = run(seeded, "search", "rate limit", "--json")
    assert found.returncode == 0 and '"hits"' in found.stdout, found.stderr
    assert "Traceback" not in found.stderr and "could not" not in found.stderr, found.stderr
    assert files(seeded) == before


def test_writing_commands_name_the_read_only_directory(seeded: Path) -> None:
    before = files(seeded)
    captured = run(seeded, "capture", "--title", "The tool timed out", "--description", "it waited 30 s")
    one_clear_line(captured, str(seeded), "read-only")
    one_clear_line(run(seeded, "init", "--seed"), str(seeded), "read-only")
    assert files(seeded) == before


def test_a_schema_that_needs_migrating_says_so(place: Path) -> None:
    home = place / "home"
    home.mkdir()
    engine = db.make_engine(db.sqlite_url(home))
    db.upgrade(engine, lock_dir=home, revision="0005")
    engine.dispose()
    _freeze(home)
    one_clear_line(run(home, "list"), str(home), "read-only", "migrated")


@pytest.mark.anyio
async def test_the_mcp_read_tools_work_on_a_read_only_home(seeded: Path, anyio_backend: str) -> None:
    prefix = [*_drop(), CLI, "serve"]
    server = StdioServerParameters(command=prefix[0], args=prefix[1:], env=_env(seeded))
    async with Client(server) as client:
        listed = await client.call_tool("list_incidents", {"limit": 5})
        assert not listed.is_error, listed.content
        got = await client.call_tool("get_incident", {"incident_id": "INC-1"})
        assert not got.is_error, got.content
        found = await client.call_tool("search_incidents", {"query": "rate limit", "limit": 3})
        assert not found.is_error, found.content
        hits: Any = found.structured_content
        assert hits["hits"]
        refused = await client.call_tool("capture_incident", {"title": "The tool timed out", "description": "waited"})
        assert refused.is_error and "read-only" in str(refused.content), refused.content
