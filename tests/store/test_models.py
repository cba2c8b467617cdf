"""Stored times have one range, checked where a time comes in (`When`): a date that cannot be converted to UTC
or that lies outside 1970-3000 is a validation error in every entry point, never an OverflowError."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from agent_postmortem.mcp.server import create_server
from agent_postmortem.service.facade import PostmortemService

CLI = str(Path(sys.executable).parent / "postmortem")
OUT_OF_RANGE = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z", "3000-01-01"]


@pytest.mark.parametrize("when", OUT_OF_RANGE)
def test_import_refuses_an_out_of_range_date_with_one_line_naming_the_field(tmp_path: Path, when: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"title": "Agent looped on a tool call", "created_at": "2026-01-01T00:00:00Z"}\n'
        f'{{"title": "Agent looped again", "timeline": [{{"at": "{when}", "description": "seen"}}]}}\n',
        encoding="utf-8",
    )
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none"}
    done = subprocess.run([CLI, "import", str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "OverflowError" not in done.stderr
    assert "line 2: timeline.0.at" in done.stderr and "out of range" in done.stderr


@pytest.mark.anyio
async def test_tools_refuse_an_out_of_range_date_as_a_tool_error(service: PostmortemService) -> None:
    async with Client(create_server(lambda: service)) as client:
        captured = await client.call_tool("capture_incident", {"title": "Agent looped on a tool call"})
        incident_id = captured.structured_content["id"]  # type: ignore[index]
        for when in OUT_OF_RANGE:
            found = await client.call_tool("search_incidents", {"query": "looped", "since": when})
            assert found.is_error and "since is out of range" in found.content[0].text  # type: ignore[union-attr]
            item = {"incident_id": incident_id, "title": "Cap the tool-call loop at five", "due_at": when}
            added = await client.call_tool("add_action_item", item)
            assert added.is_error and "due_at" in added.content[0].text  # type: ignore[union-attr]
            assert "out of range" in added.content[0].text  # type: ignore[union-attr]


NO_DAY = "no such day: February 2026 has days 01 to 28"


@pytest.mark.parametrize("bound", ["since", "until"])
@pytest.mark.parametrize("day", ["2026-02-30", "20260230", "2026-02-30T10:00:00Z"])
def test_a_day_that_does_not_exist_is_told_alike_for_either_bound_by_the_cli(
    tmp_path: Path, bound: str, day: str
) -> None:
    """`--since 2026-02-30` said "expected an ISO 8601 year ..." and `--until 2026-02-30` "day is out of range for
    month" (the until bound alone read the day itself): one sentence now, saying which days the month has."""
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none"}
    done = subprocess.run([CLI, "search", "x", f"--{bound}", day], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip() == f"error: invalid input: {bound}: {NO_DAY}", done.stderr


@pytest.mark.anyio
async def test_a_day_or_a_month_that_does_not_exist_is_told_alike_for_either_bound_by_the_tools(
    service: PostmortemService,
) -> None:
    async with Client(create_server(lambda: service)) as client:
        for bound in ("since", "until"):
            for day, said in (("2026-02-30", NO_DAY), ("2026-13-01", "no such month: a month is 01 to 12")):
                found = await client.call_tool("search_incidents", {"query": "looped", bound: day})
                assert found.is_error and found.content[0].text.endswith(f" {bound}: {said}.")  # type: ignore[union-attr]


def test_an_action_items_title_of_invisible_characters_alone_says_it_has_nothing_visible() -> None:
    """`actions --add` with a colour escape alone was refused as "String should have at least 3 characters"."""
    from pydantic import ValidationError

    from agent_postmortem.store.models import ActionItemCreate

    with pytest.raises(ValidationError, match="has no visible character"):
        ActionItemCreate(title="\x1b[1m\x1b[0m")
