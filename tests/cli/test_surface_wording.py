"""Errors shared with the MCP server, as the CLI says them: what to run, where to set a setting; no tool names."""

from collections.abc import Callable
from typing import Any

import pytest

from agent_postmortem.errors import UnknownRunbook, shown_on


def test_an_unknown_pattern_names_the_command_that_lists_them(cli: Callable[..., Any]) -> None:
    """`postmortem runbook PAT-7` said "call recurring_patterns (CLI: `postmortem patterns`)"."""
    assert cli("capture", "--title", "Fares API returned 429 Too Many Requests").exit_code == 0
    result = cli("runbook", "PAT-7")
    assert result.exit_code == 2
    assert "`postmortem patterns` lists the current ids" in result.output
    assert "recurring_patterns" not in result.output and "CLI:" not in result.output


def test_no_model_says_to_set_it_in_your_environment(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """`postmortem draft` without a model said to set the variables "in the server's environment"."""
    monkeypatch.setenv("POSTMORTEM_LLM", "auto")  # none configured (the tests' `none` has its own sentence)
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "POSTMORTEM_LOCAL_MODEL"):
        monkeypatch.delenv(name, raising=False)
    assert cli("capture", "--title", "Fares API returned 429 Too Many Requests").exit_code == 0
    said = " ".join(cli("draft", "INC-1").output.split())
    assert "POSTMORTEM_MODEL in your environment (the shell this command runs in)" in said
    assert "server's environment" not in said and "record_analysis" not in said


def test_each_surface_gets_its_wording_and_the_sdk_both() -> None:
    error = UnknownRunbook("PAT-7")
    with shown_on("mcp"):
        assert str(error).endswith("call recurring_patterns for the current ids")
    with shown_on("cli"):
        assert str(error).endswith("`postmortem patterns` lists the current ids")
    assert "recurring_patterns (CLI: `postmortem patterns`)" in str(error)


def test_a_pattern_id_where_an_incident_id_goes_names_the_command_that_shows_its_incidents(
    cli: Callable[..., Any],
) -> None:
    """The store named the command itself, so a restore and the web view named a command too: the CLI adds it."""
    assert cli("capture", "--title", "Fares API returned 429 Too Many Requests").exit_code == 0
    result = cli("show", "PAT-3")
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert (
        "PAT-3 is a pattern id, not an incident id (expected INC-<number>); its incidents: `postmortem runbook PAT-3`"
        in said
    )


def test_a_command_run_where_the_tools_wording_is_set_still_names_commands(cli: Callable[..., Any]) -> None:
    """The CLI's wording is set at its one entry point, whoever runs the command: a program that also serves the
    tools (its surface "mcp") and runs a command in-process gets the command's wording, not a tool's."""
    assert cli("capture", "--title", "Fares API returned 429 Too Many Requests").exit_code == 0
    with shown_on("mcp"):
        result = cli("runbook", "PAT-7")
    assert result.exit_code == 2 and "`postmortem patterns` lists the current ids" in result.output
    assert "recurring_patterns" not in result.output
