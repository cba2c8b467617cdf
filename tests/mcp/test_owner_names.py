"""add_action_item and update_action_item take the owner as `owner`; a client that sent `owner_role` (the name in
record_analysis' items and the drafter's schema) was refused without being told which argument was wrong ("1
argument it does not take was sent"). It is now read as `owner`."""

from pathlib import Path

import pytest
from mcp import Client

from tests.factories import CAPTURE, make_service, server_for

pytestmark = pytest.mark.anyio


async def test_owner_role_is_read_as_the_owner_of_a_tracked_item(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        added = await client.call_tool(
            "add_action_item", {"incident_id": incident_id, "title": "Add jittered backoff", "owner_role": "sre"}
        )
        item_id = added.structured_content["id"]  # type: ignore[index]
        updated = await client.call_tool("update_action_item", {"action_id": item_id, "owner_role": "platform"})
        both = await client.call_tool(
            "update_action_item", {"action_id": item_id, "owner": "sre", "owner_role": "platform"}
        )
    assert added.structured_content["owner"] == "sre"  # type: ignore[index]
    assert updated.structured_content["owner"] == "platform"  # type: ignore[index]
    assert both.is_error and "owner and owner_role name the same field: give one" in both.content[0].text  # type: ignore[union-attr]


async def test_owner_and_owner_role_naming_one_owner_in_two_spellings_are_that_owner(tmp_path: Path) -> None:
    """'@alice' and 'alice' are one owner to the filter, the stats and the board, yet a client that sent both names,
    one with the handle's '@' (or in another case), was refused as if they named two owners."""
    service = make_service(tmp_path)
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        added = await client.call_tool(
            "add_action_item",
            {"incident_id": incident_id, "title": "Add jittered backoff", "owner": "@sre", "owner_role": "SRE"},
        )
        assert not added.is_error, added.content
        item_id = added.structured_content["id"]  # type: ignore[index]
        updated = await client.call_tool(
            "update_action_item", {"action_id": item_id, "owner": "Platform  Team", "owner_role": "@platform team"}
        )
        assert not updated.is_error, updated.content
    assert added.structured_content["owner"] == "@sre"  # type: ignore[index]
    assert updated.structured_content["owner"] == "Platform  Team"  # type: ignore[index]  # as written, by `owner`


async def test_owner_role_is_named_where_a_client_or_its_user_looks(tmp_path: Path) -> None:
    """owner_role was taken for owner by add_action_item and update_action_item, yet neither tools/list nor
    docs/mcp.md said so: a model that had written record_analysis' owner_role had nothing to tell it the name works,
    and a user reading the tool table found only `owner`."""
    async with Client(server_for(make_service(tmp_path))) as client:
        tools = {t.name: t.description or "" for t in (await client.list_tools()).tools}
    assert "owner_role" in tools["add_action_item"] and "owner_role" in tools["update_action_item"]
    [row] = [
        line
        for line in (Path(__file__).parents[2] / "docs" / "mcp.md").read_text().splitlines()
        if line.startswith("| `add_action_item`")
    ]
    assert "`owner_role`" in row and "@alice" in row
