"""Each field list is written once: the incident's fields in `IncidentCreate`, the filters in `SearchFilters`. The
MCP tools and the CLI commands that take them (as flat parameters, which cannot be generated from a model without
hiding them from type checkers and editors) offer exactly those, and build the model from their arguments by its
own field list."""

from typing import Any

import anyio
import typer.main

from agent_postmortem.cli.app import app
from agent_postmortem.mcp.server import create_server
from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.models import IncidentCreate

NOT_ARGUMENTS = {"occurred_at", "source_id"}  # set by the server (capture time) or by importers, never by a caller
FILTERS = set(SearchFilters.model_fields)


def tool_parameters() -> dict[str, set[str]]:
    async def listed() -> dict[str, set[str]]:
        tools = await create_server(lambda: None).list_tools()  # type: ignore[arg-type, return-value]
        return {t.name: set(t.input_schema.get("properties", {})) for t in tools}

    return anyio.run(listed)


def command_options(name: str) -> set[str]:
    command: Any = typer.main.get_command(app)
    return {p.name for p in command.commands[name].params}


def test_the_capture_tool_takes_every_incident_field_a_caller_may_give() -> None:
    assert tool_parameters()["capture_incident"] == set(IncidentCreate.model_fields) - NOT_ARGUMENTS


def test_the_capture_command_options_are_incident_fields() -> None:
    from agent_postmortem.cli.capture import OPTIONS  # the fields an option gives under another name

    renamed = {option.removeprefix("--") for option in OPTIONS.values()}
    assert set(OPTIONS) <= set(IncidentCreate.model_fields)
    options = command_options("capture") - {"file", "as_json", "text"} - renamed  # text: the title
    assert options <= set(IncidentCreate.model_fields)


def test_search_offers_every_filter_in_the_tool_and_the_command() -> None:
    assert FILTERS <= tool_parameters()["search_incidents"]
    assert FILTERS <= command_options("search")


def test_list_filters_are_search_filters() -> None:
    assert tool_parameters()["list_incidents"] - {"limit", "offset"} <= FILTERS
    assert command_options("list") - {"limit", "offset", "as_json"} <= FILTERS
