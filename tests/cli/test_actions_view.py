"""`actions_table`, rendered at the widths of real terminals."""

from datetime import UTC, datetime

import pytest
from rich.console import Console

from agent_postmortem.cli.actions_view import actions_table
from agent_postmortem.store.models import ActionItem

ITEMS = [
    ActionItem(
        id=f"AI-{n}",
        incident_id="INC-1042",
        created_at=datetime(2025, 11, 1, tzinfo=UTC),
        title=title,
        owner=owner,
        priority="P0" if n == 1 else "P1",
        status="in_progress" if n == 2 else "open",
        due_at=datetime(2025, 12, n, 23, 59, 59, tzinfo=UTC),
        overdue=n == 3,
    )
    for n, (title, owner) in enumerate(
        [
            ("Add exponential backoff with jitter to the fares client retries", "maria.gonzalez"),
            ("Alert on a sustained 429 rate above five percent for ten minutes", "platform-oncall"),
            ("Document the provider's quota and its reset window in the runbook", "j.smith"),
        ],
        start=1,
    )
]


@pytest.mark.parametrize("width", [80, 160])
def test_action_items_keep_their_id_owner_and_due_date_whole(width: int) -> None:
    """At 80 columns the titles wrapped a word to a line and owners and due dates were cut ("2025-12-…")."""
    console = Console(width=width, record=True, color_system=None)
    console.print(actions_table(ITEMS))
    shown = console.export_text()
    assert max(len(row) for row in shown.splitlines()) <= width
    for item in ITEMS:
        row = next(row for row in shown.splitlines() if f" {item.id} " in row)
        assert f" {item.owner} " in row and f" {item.due_at:%Y-%m-%d} " in row, shown
    assert ("INC-1042" in shown) == (width >= 120)  # the incident column goes on a narrow terminal


def test_an_action_items_title_wraps_a_few_words_to_a_line_at_80_columns() -> None:
    console = Console(width=80, record=True, color_system=None)
    console.print(actions_table(ITEMS[:1]))
    title_lines = [row.rsplit("│", 2)[1].strip() for row in console.export_text().splitlines()[3:-1]]
    assert " ".join(title_lines) == ITEMS[0].title and all(len(part.split()) >= 2 for part in title_lines[:-1])


def test_long_owners_and_long_words_leave_the_title_whole_at_80_columns() -> None:
    """The seed's owners ("incident-review board") and a title's long words ("invented-policy") made the table wider
    than 80 columns, and Rich cut every line at the edge: `postmortem actions --overdue` showed "Run a patter"."""
    title = "Run a pattern review across all three helpdesk invented-policy incidents and publish grounding-design"
    item = ITEMS[0].model_copy(update={"owner": "incident-review board", "title": title})
    console = Console(width=80, record=True, color_system=None)
    console.print(actions_table([item]))
    rows = console.export_text().splitlines()
    assert max(len(row) for row in rows) <= 80, "\n".join(rows)
    title_lines = [row.rsplit("│", 2)[1].strip() for row in rows[3:-1]]
    owner_lines = [row.split("│")[4].strip() for row in rows[3:-1]]
    assert "".join(title_lines).replace(" ", "") == title.replace(" ", ""), "\n".join(rows)
    assert "".join(owner_lines).replace(" ", "") == "incident-reviewboard", "\n".join(rows)


@pytest.mark.parametrize("width", [80, 160])
def test_an_items_lateness_and_completion_are_said_as_the_report_says_them(width: int) -> None:
    """The table said only "OVERDUE", and of a completed item neither when nor whether on time, while the report
    says "open, OVERDUE by 3.5 days" and "completed 2025-12-03 12:00 UTC, 1.5 days late"; a title's terminal escapes
    stay inert."""
    now = datetime(2025, 12, 7, 11, 59, 59, tzinfo=UTC)  # AI-3 was due at the end of 2025-12-03, AI-1 of 12-01
    done = ITEMS[0].model_copy(
        update={"status": "completed", "completed_at": datetime(2025, 12, 3, 12, tzinfo=UTC), "title": "\x1b[2Jgone"}
    )
    console = Console(width=width, record=True, color_system=None)
    console.print(actions_table([done, *ITEMS[1:]], now=now))
    shown = console.export_text()
    assert max(len(row) for row in shown.splitlines()) <= width and "\x1b" not in shown
    header = next(row for row in shown.splitlines() if "status" in row)
    column = [cell.strip() for cell in header.split("┃")].index("status")
    status = [cells[column] for row in shown.splitlines() if len(cells := row.split("│")) > column]
    words = " ".join(" ".join(status).split())  # the status column, its wrapped lines joined
    assert "open, OVERDUE by 3.5 days" in words and "completed 2025-12-03 12:00 UTC, 1.5 days late" in words, shown
