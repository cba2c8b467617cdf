"""Fixtures shared by the command-line tests."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke
