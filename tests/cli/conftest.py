"""Fixtures shared by the command-line tests."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object) -> CliRunner:
    """A runner on a new home below tmp_path, with no LLM configured."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    return CliRunner()


@pytest.fixture
def run(runner: CliRunner):  # type: ignore[no-untyped-def]
    """`run("capture", ...)`: the command's result, an exception raised rather than kept in it."""

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke
