"""Action items over MCP: their history, owners, due dates, priorities and the notes an update is answered with."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mcp import Client

from agent_postmortem.store.models import ActionItemCreate, IncidentCreate, SeedIncident
from tests.factories import CAPTURE, MODES, make_service, server_for

pytestmark = pytest.mark.anyio


@MODES
async def test_items_keep_their_history_and_roll_up_into_stats(tmp_path: Path, mode: str) -> None:
    service = make_service(tmp_path)
    async with Client(server_for(service), mode=mode) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        added = await client.call_tool(
            "add_action_item", {"incident_id": incident_id, "title": "Add jittered backoff", "by": "dana"}
        )
        item_id = added.structured_content["id"]  # type: ignore[index]
        await client.call_tool(
            "update_action_item", {"action_id": item_id, "owner": "platform", "title": "Add backoff", "by": "lee"}
        )
        await client.call_tool("update_action_item", {"action_id": item_id, "status": "completed"})
        item = await client.call_tool("get_action_item", {"action_id": item_id})
        stats = await client.call_tool("action_item_stats", {})
        effect = await client.call_tool("fix_effectiveness", {"min_size": 2})
    history = item.structured_content["history"]  # type: ignore[index]
    assert [(h["field"], h["new"], h["by"]) for h in history] == [
        ("created", "Add jittered backoff", "dana"),
        ("title", "Add backoff", "lee"),
        ("owner", "platform", "lee"),
        ("status", "completed", None),
    ]
    assert stats.structured_content["by_owner"]["platform"]["rate"] == 1.0  # type: ignore[index]
    assert effect.structured_content["patterns"] == []  # type: ignore[index]  # one incident is no pattern


async def test_an_owner_given_by_mistake_is_taken_off_with_clear_owner(tmp_path: Path) -> None:
    """An empty owner meant "no change", so no call could unassign an item given to the wrong person."""
    service = make_service(tmp_path)
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        item_id = service.add_action_item(incident_id, ActionItemCreate(title="Add backoff", owner="dana")).id
        kept = await client.call_tool("update_action_item", {"action_id": item_id, "owner": "", "priority": "P0"})
        both = await client.call_tool("update_action_item", {"action_id": item_id, "owner": "lee", "clear_owner": True})
        cleared = await client.call_tool("update_action_item", {"action_id": item_id, "clear_owner": True, "by": "lee"})
    assert kept.structured_content["owner"] == "dana"  # type: ignore[index]
    assert both.is_error and "not both" in both.content[0].text  # type: ignore[union-attr]
    assert cleared.structured_content["owner"] is None  # type: ignore[index]
    assert cleared.structured_content["history"][-1] == {  # type: ignore[index]
        "at": cleared.structured_content["history"][-1]["at"],  # type: ignore[index]
        "field": "owner",
        "old": "dana",
        "new": None,
        "by": "lee",
    }


async def test_a_due_date_is_taken_off_with_clear_due(tmp_path: Path) -> None:
    """An empty due_at meant "no change", so no call could take a due date off an item."""
    service = make_service(tmp_path)
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        item_id = service.add_action_item(incident_id, ActionItemCreate(title="Add backoff", due_at="2026-12-15")).id
        kept = await client.call_tool("update_action_item", {"action_id": item_id, "due_at": "", "priority": "P0"})
        both = await client.call_tool(
            "update_action_item", {"action_id": item_id, "due_at": "2026-12-20", "clear_due": True}
        )
        cleared = await client.call_tool("update_action_item", {"action_id": item_id, "clear_due": True, "by": "lee"})
    assert kept.structured_content["due_at"] == "2026-12-15T23:59:59Z"  # type: ignore[index]
    assert both.is_error and "not both" in both.content[0].text  # type: ignore[union-attr]
    assert cleared.structured_content["due_at"] is None  # type: ignore[index]
    last = cleared.structured_content["history"][-1]  # type: ignore[index]
    assert (last["field"], last["old"], last["new"], last["by"]) == ("due_at", "2026-12-15T23:59:59+00:00", None, "lee")


async def test_an_update_returns_the_latest_changes_and_counts_the_older(tmp_path: Path) -> None:
    """update_action_item answered every call with the item's whole history: an item changed 60 times sent all 61
    changes back on each further change."""
    service = make_service(tmp_path)
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        item_id = service.add_action_item(incident_id, ActionItemCreate(title="Add backoff")).id
        first = await client.call_tool("update_action_item", {"action_id": item_id, "priority": "P0"})
        for n in range(59):
            service.update_action_item(item_id, priority=("P2", "P0")[n % 2])
        updated = await client.call_tool("update_action_item", {"action_id": item_id, "owner": "dana", "by": "lee"})
        whole = await client.call_tool("get_action_item", {"action_id": item_id})
    assert first.structured_content is not None and len(first.structured_content["history"]) == 2
    assert first.structured_content["older_changes"] == 0 and first.structured_content["all_changes"] is None
    answer = updated.structured_content
    assert answer is not None and len(answer["history"]) == 20 and answer["older_changes"] == 42
    assert answer["all_changes"] == f"get_action_item returns all 62 changes of {item_id}"
    assert answer["history"][-1]["field"] == "owner" and answer["history"][-1]["by"] == "lee"
    assert len(whole.structured_content["history"]) == 62  # type: ignore[index]  # nothing stored is lost
    assert whole.structured_content["history"][-20:] == answer["history"]  # type: ignore[index]


async def test_stats_count_an_owner_spelled_in_two_cases_once(tmp_path: Path) -> None:
    """list_action_items matches owners ignoring case, but action_item_stats gave "Dana" and "dana" a row each."""
    service = make_service(tmp_path)
    incident_id = service.capture_incident(IncidentCreate(title="Fares API returned 429")).id
    for title, owner in (("Add jittered backoff", "dana"), ("Cap retries at three", "Dana"), ("Alert on it", None)):
        service.add_action_item(incident_id, ActionItemCreate(title=title, owner=owner))
    async with Client(server_for(service)) as client:
        stats = await client.call_tool("action_item_stats", {})
        listed = await client.call_tool("list_action_items", {"owner": "DANA"})
    by_owner = stats.structured_content["by_owner"]  # type: ignore[index]
    assert {k: v["items"] for k, v in by_owner.items()} == {"(none)": 1, "Dana": 2}
    assert len(listed.structured_content["items"]) == 2  # type: ignore[index]


async def test_list_action_items_filters_by_priority_as_the_cli_does(tmp_path: Path) -> None:
    """`postmortem actions --priority P0` lists the P0 items; the MCP tool had no priority at all, so an assistant
    asked for the urgent follow-ups read every item."""
    service = make_service(tmp_path)
    incident_id = service.capture_incident(IncidentCreate(title="Fares API returned 429")).id
    for title, priority in (("Add jittered backoff", "P0"), ("Cap retries at three", "P2"), ("Alert on it", "P0")):
        service.add_action_item(incident_id, ActionItemCreate(title=title, priority=priority))
    async with Client(server_for(service)) as client:
        urgent = await client.call_tool("list_action_items", {"priority": "P0"})
        later = await client.call_tool("list_action_items", {"priority": "P1"})
    assert sorted(i["title"] for i in urgent.structured_content["items"]) == ["Add jittered backoff", "Alert on it"]  # type: ignore[index]
    assert urgent.structured_content["total"] == 2  # type: ignore[index]
    assert later.structured_content["items"] == [] and "P1" in later.structured_content["empty_because"]  # type: ignore[index]


async def test_every_view_of_an_item_completed_on_a_date_not_recorded_says_the_date_is_unknown(
    tmp_path: Path,
) -> None:
    """get_action_item, list_action_items, get_incident and a search's hits gave such an item `completed_at: null`
    alone, which a calling model read as not completed yet; the CLI says "completed, date unknown"."""
    service = make_service(tmp_path)
    done = {"title": "Revert the de-registration delay", "status": "completed"}
    dated = {**done, "title": "Alert on target de-registration", "completed_at": "2021-06-23T09:00:00Z"}
    row = {"title": "All services returning 503 from the ALB", "status": "resolved", "action_items": [done, dated]}
    service.import_incidents([SeedIncident.model_validate(row)])
    async with Client(server_for(service)) as client:
        item = await client.call_tool("get_action_item", {"action_id": "AI-1"})
        listed = await client.call_tool("list_action_items", {"status": "completed"})
        incident = await client.call_tool("get_incident", {"incident_id": "INC-1"})
        found = await client.call_tool("search_incidents", {"query": "503 from the load balancer"})
    views = [
        item.structured_content,
        *listed.structured_content["items"],  # type: ignore[index]
        *incident.structured_content["action_items"],  # type: ignore[index]
        *found.structured_content["hits"][0]["action_items"],  # type: ignore[index]
    ]
    assert len(views) == 7
    for view in views:
        undated = view["id"] == "AI-1"  # type: ignore[index]
        assert view.get("completed_at_note") == (
            "completion date unknown (completed on a date not recorded)" if undated else None
        )  # type: ignore[union-attr]
        assert (view["completed_at"] is None) is undated  # type: ignore[index]
    assert "completion date unknown" in item.content[0].text  # type: ignore[union-attr]


async def test_an_item_added_with_a_due_date_past_is_kept_and_its_answer_notes_it_is_overdue(tmp_path: Path) -> None:
    """add_action_item with a due date already past answered an item overdue at once without a word about it."""
    service = make_service(tmp_path)
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        late = {"incident_id": incident_id, "title": "Add backoff", "due_at": "2020-01-15"}
        added = (await client.call_tool("add_action_item", late)).structured_content
        soon = {"incident_id": incident_id, "title": "Cap retries", "due_at": "2099-01-15"}
        later = (await client.call_tool("add_action_item", soon)).structured_content
    assert added is not None and later is not None
    said = f"the due date 2020-01-15 is in the past: {added['id']} is overdue already"
    assert added["overdue"] and added["note"] == said
    assert not later["overdue"] and "note" not in later


async def test_an_item_whose_due_date_is_moved_into_the_past_is_answered_with_the_note_an_added_one_gets(
    tmp_path: Path,
) -> None:
    """update_action_item moving a due date into the past answered an item overdue at once without the note that
    add_action_item gives with that date; a change that leaves the date, or takes it off, has no note."""
    service = make_service(tmp_path)
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        soon = {"incident_id": incident_id, "title": "Cap retries", "due_at": "2099-01-15"}
        item_id = (await client.call_tool("add_action_item", soon)).structured_content["id"]  # type: ignore[index]
        moved = await client.call_tool("update_action_item", {"action_id": item_id, "due_at": "2020-01-15"})
        owner = await client.call_tool("update_action_item", {"action_id": item_id, "owner": "dana"})
        started = await client.call_tool("update_action_item", {"action_id": item_id, "status": "in_progress"})
        done = await client.call_tool("update_action_item", {"action_id": item_id, "status": "completed"})
        reopened = await client.call_tool("update_action_item", {"action_id": item_id, "status": "open"})
        cleared = await client.call_tool("update_action_item", {"action_id": item_id, "clear_due": True})
    said = f"the due date 2020-01-15 is in the past: {item_id} is overdue already"
    assert done.structured_content is not None and "note" not in done.structured_content
    assert started.structured_content is not None and "note" not in started.structured_content  # open: not reopened
    assert reopened.structured_content is not None and reopened.structured_content["note"] == said  # overdue again
    assert moved.structured_content is not None and moved.structured_content["overdue"], moved.content
    assert moved.structured_content["note"] == said and said in moved.content[0].text  # type: ignore[union-attr]
    assert owner.structured_content is not None and owner.structured_content["overdue"]
    assert "note" not in owner.structured_content and cleared.structured_content is not None
    assert "note" not in cleared.structured_content


async def test_an_owner_given_as_an_email_address_is_answered_with_why_it_cannot_be_told_apart(tmp_path: Path) -> None:
    """add_action_item with owner "dana.smith@example.com" answered owner "[REDACTED:email]" without a word, and a
    second person's address became the same owner: action_item_stats counted both as one. The answer now says so,
    without echoing the address; a plain name has no note."""
    service = make_service(tmp_path)
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        mailed = {"incident_id": incident_id, "title": "Add backoff", "owner": "dana.smith@example.com"}
        added = (await client.call_tool("add_action_item", mailed)).structured_content
        named = {"incident_id": incident_id, "title": "Cap retries", "owner": "dana"}
        plain = (await client.call_tool("add_action_item", named)).structured_content
        moved = await client.call_tool("update_action_item", {"action_id": plain["id"], "owner": "bob@example.org"})  # type: ignore[index]
        escaped = {"incident_id": incident_id, "title": "Alert on 429", "owner": "\x1b[31mEve\x1b[0m"}
        eve = (await client.call_tool("add_action_item", escaped)).structured_content
    assert eve is not None and "note" not in eve  # an escape sequence is stripped, not personal data
    assert added is not None and plain is not None and moved.structured_content is not None
    assert added["owner"] == "[REDACTED:email]" and "give the owner as a name or a handle" in added["note"]
    assert f"{added['id']}'s owner is '[REDACTED:email]'" in added["note"] and "dana.smith" not in str(added)
    assert "note" not in plain
    assert "cannot be filtered on or counted apart" in moved.structured_content["note"]


async def test_an_owner_filter_of_two_glued_github_tokens_is_not_echoed(tmp_path: Path) -> None:
    """list_action_items owner=ghp_<36>ghp_<36> said "no items owned by 'ghp_…[REDACTED:github_token]'", the first
    token in clear."""
    first, second = "ghp_qHX2qRymuyHVsaLWPfpx6Asegpbyf1bM0wFg", "ghp_PsYvbqcYBpiLaP8A89rk562NhEkbWorwfo7p"
    async with Client(server_for(make_service(tmp_path))) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        await client.call_tool("add_action_item", {"incident_id": incident_id, "title": "Cap retries", "owner": "dana"})
        result = await client.call_tool("list_action_items", {"owner": first + second})
    said = json.dumps([result.structured_content, [getattr(c, "text", "") for c in result.content]])
    assert "no items owned by" in said and first[4:] not in said and second[4:] not in said


async def test_an_item_due_at_a_time_already_past_today_is_noted_with_that_time_not_its_day(tmp_path: Path) -> None:
    """An item due at a time already past today was answered "the due date 2026-12-07 is in the past" on
    2026-12-07: today is not past, the time given was; the note now names the time, in UTC, as the report shows it."""
    service = make_service(tmp_path)
    due = (datetime.now(UTC) - timedelta(minutes=5)).replace(second=0, microsecond=0)
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        late = {"incident_id": incident_id, "title": "Add backoff", "due_at": due.isoformat()}
        added = (await client.call_tool("add_action_item", late)).structured_content
    assert added is not None and added["overdue"]
    assert added["note"] == f"the due date {due:%Y-%m-%d %H:%M} UTC is in the past: {added['id']} is overdue already"


async def test_an_update_given_the_changes_it_read_is_refused_after_a_change_made_since(tmp_path: Path) -> None:
    """update_action_item had no "unchanged since I read it": a client completing an item wrote over a colleague's
    reassignment made since it read the item. With expected_changes it is refused, naming the change and the retry;
    without it nothing differs, and an update that changes nothing says so."""
    service = make_service(tmp_path)
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        item_id = service.add_action_item(incident_id, ActionItemCreate(title="Add backoff", owner="dana")).id
        read = (await client.call_tool("get_action_item", {"action_id": item_id})).structured_content
        seen = len(read["history"])  # type: ignore[index]
        service.update_action_item(item_id, owner="lee", by="sam")  # a colleague, after the read
        stale = {"action_id": item_id, "status": "completed", "expected_changes": seen}
        refused = await client.call_tool("update_action_item", stale)
        retried = await client.call_tool("update_action_item", {**stale, "expected_changes": seen + 1})
        same = await client.call_tool("update_action_item", {"action_id": item_id, "status": "completed"})
    said = refused.content[0].text  # type: ignore[union-attr]
    assert refused.is_error and "owner: dana -> lee by sam" in said and f"expected_changes={seen + 1}" in said, said
    assert service.get_action_item(item_id).history[-1].new == "completed"
    assert not retried.is_error and "note" not in retried.structured_content  # type: ignore[operator]
    assert "nothing changed" in same.structured_content["note"]  # type: ignore[index]
    assert len(same.structured_content["history"]) == seen + 2  # type: ignore[index]
