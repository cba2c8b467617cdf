"""Action-item exports: JSON, CSV (inert in spreadsheets) and GitHub-issue Markdown; the actions://open resource."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from mcp import Client

from agent_postmortem.mcp.server import create_server
from agent_postmortem.render.exports import to_csv, to_github_markdown, to_json
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import ActionItem, ActionItemCreate, IncidentCreate
from tests.factories import FIXED_NOW

ITEMS = [
    ActionItem(
        id="AI-1",
        incident_id="INC-3",
        title="Add jittered backoff to fares calls",
        owner="platform",
        priority="P0",
        due_at=FIXED_NOW + timedelta(days=3),
        created_at=FIXED_NOW,
    ),
    ActionItem(
        id="AI-2",
        incident_id="INC-3",
        title='=HYPERLINK("http://x","click")',
        priority="P2",
        created_at=FIXED_NOW,
        status="completed",
        completed_at=FIXED_NOW,
    ),
]


def test_csv_has_one_row_per_item_and_neutralises_formulas() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(ITEMS))))
    assert [r["id"] for r in rows] == ["AI-1", "AI-2"]
    assert rows[0]["due_at"].startswith("2026-11-30") and rows[0]["priority"] == "P0"
    assert rows[1]["title"].startswith("'=")


def test_json_and_markdown_carry_every_item() -> None:
    assert [i["id"] for i in json.loads(to_json(ITEMS))] == ["AI-1", "AI-2"]
    text = to_github_markdown(ITEMS, now=FIXED_NOW)
    assert "### [P0] Add jittered backoff to fares calls" in text and "- Owner: platform" in text
    assert text.count("- [ ] Done when") == 2 and "Due: 2026-11-30" in text


def test_a_due_time_is_shown_with_its_time_and_a_due_day_as_the_day() -> None:
    """Due 2026-12-06T01:00+05:00 read "Due: 2026-12-05": 20:00 UTC that day lost, a person took it for the end of
    the day (hours late) or, in their zone, the wrong day; a day given (due at its end, UTC) stays a day."""
    day = ActionItemCreate.model_validate({"title": "Revert the de-registration delay", "due_at": "2026-12-15"})
    timed = ActionItemCreate.model_validate({"title": "Create ingress test suite", "due_at": "2026-12-06T01:00+05:00"})
    items = [
        ActionItem(id=f"AI-{n}", incident_id="INC-1", created_at=FIXED_NOW, **i.model_dump())
        for n, i in (
            (1, day),
            (2, timed),
        )
    ]
    text = to_github_markdown(items, now=FIXED_NOW)
    assert "- Due: 2026-12-15\n" in text and "- Due: 2026-12-05 20:00 UTC\n" in text


@pytest.mark.anyio
async def test_open_actions_resource_lists_unfinished_items(service: PostmortemService) -> None:
    incident_id = service.capture_incident(IncidentCreate(title="Fares API returned 429")).id
    service.add_action_item(incident_id, ActionItemCreate(title="Open item"))
    service.add_action_item(incident_id, ActionItemCreate(title="Started item", status="in_progress"))
    service.add_action_item(incident_id, ActionItemCreate(title="Done item", status="completed"))
    async with Client(create_server(lambda: service)) as client:
        resource = await client.read_resource("actions://open")
    titles = {i["title"] for i in json.loads(resource.contents[0].text)}  # type: ignore[union-attr]
    assert titles == {"Open item", "Started item"}


@pytest.mark.anyio
async def test_open_actions_resource_lists_every_unfinished_item_past_500(service: PostmortemService) -> None:
    """It gave the first 500 open items and said nothing of the others: a JSON list has no place to say so."""
    incident_id = service.capture_incident(IncidentCreate(title="Fares API returned 429")).id
    for n in range(503):
        service.add_action_item(incident_id, ActionItemCreate(title=f"Open item {n}"))
    async with Client(create_server(lambda: service)) as client:
        resource = await client.read_resource("actions://open")
    titles = {i["title"] for i in json.loads(resource.contents[0].text)}  # type: ignore[union-attr]
    assert len(titles) == 503 and "Open item 0" in titles and "Open item 502" in titles


def test_markdown_export_pings_nobody_a_stored_title_or_owner_names() -> None:
    """`@octocat` in a stored title was a live mention in the pasted issue: whoever a hostile title named was pinged.
    A zero-width space after the @ (as bots write it) renders as @octocat and pings no one; an address stays."""
    item = ActionItem(
        id="AI-9",
        incident_id="INC-3",
        title="Ask @octocat and @org/team-sre (mail ops@example.com)",
        owner="@dana",
        created_at=FIXED_NOW,
    )
    text = to_github_markdown([item], now=FIXED_NOW)
    assert "Ask @&#8203;octocat and @&#8203;org/team-sre (mail ops@example.com)" in text
    assert "- Owner: @&#8203;dana\n" in text
    assert not re.search(r"(?<![\w`])@[A-Za-z0-9]", text.replace("ops@example", ""))


def test_the_markdown_export_says_how_late_an_item_is_as_the_report_does() -> None:
    """The export said only "status open (OVERDUE)", and of a completed item neither when nor whether on time, while
    the report says "open, OVERDUE by 3.5 days" and "completed 2026-11-26 00:00 UTC, 1.5 days late"."""
    late = ITEMS[0].model_copy(update={"due_at": FIXED_NOW - timedelta(days=3, hours=12), "overdue": True})
    done = ITEMS[1].model_copy(update={"due_at": FIXED_NOW - timedelta(days=1, hours=12)})
    text = to_github_markdown([late, done], now=FIXED_NOW)
    assert "- Action item: AI-1, status open, OVERDUE by 3.5 days\n" in text
    assert "- Action item: AI-2, status completed 2026-11-27 12:00 UTC, 1.5 days late\n" in text
    assert "- Action item: AI-1, status open\n" in to_github_markdown(ITEMS, now=FIXED_NOW)
