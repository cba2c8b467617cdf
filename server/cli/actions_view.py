"""Action items as a table that fits the terminal: the id, owner and due date whole, the title wrapped."""

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table

from agent_postmortem.cli.output import cell, visible
from agent_postmortem.render.exports import due_text, progress
from agent_postmortem.store.models import utcnow

if TYPE_CHECKING:
    from agent_postmortem.store.models import ActionItem


def actions_table(items: "list[ActionItem]", *, now: datetime | None = None) -> "ActionsView":
    """`now`: when the items were read (the CLI's service reads the same clock), for how late one is."""
    return ActionsView(items, now=now or utcnow())


class ActionsView:
    """Action items as a table. On a narrow terminal (under WIDE columns, such as the default 80) the incident column
    goes (`--item` shows it) and the priority is headed "pri": with seven columns the titles wrapped a word to a
    line and owners and due dates were cut ("2025-12-…"). The id and due date are never cut; the title wraps, and so
    does an owner long enough to leave the title less than TITLE columns; a word longer than its column folds rather
    than pushing the table past the edge, where every line was cut ("Run a patter")."""

    WIDE = 120
    OWNER = 24  # an owner longer than this wraps rather than squeezing the title to nothing
    TITLE = 16  # narrow: the least width of the title (a long word), taken from a long owner's

    def __init__(self, items: "list[ActionItem]", *, now: datetime) -> None:
        self.items = items
        self.now = now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = options.max_width >= self.WIDE
        owner = min(self.OWNER, max((len(visible(a.owner or "-")) for a in self.items), default=1))
        fixed = {  # narrow: these take exactly their width, the title the rest
            "id": max((len(a.id) for a in self.items), default=2),
            "status": len("in_progress"),
            "owner": max(len("owner"), owner),
            "due": len("2026-12-31"),
        }
        # the title takes what the others leave (6 columns: 7 borders and 12 of padding); an owner gives up width
        # down to its heading's so that the title keeps TITLE, and a word longer than its column folds
        title = options.max_width - sum(fixed.values()) - len("pri") - 19
        fixed["owner"] = max(len("owner"), fixed["owner"] - max(0, self.TITLE - title))
        title = max(1, options.max_width - sum(fixed.values()) - len("pri") - 19)
        width: dict[str, int | None] = {name: None if wide else n for name, n in {**fixed, "title": title}.items()}
        shown = Table()
        for name in ("id", "incident", "priority", "status", "owner", "due", "title"):
            if name != "incident" or wide:
                header = "pri" if name == "priority" and not wide else name
                size = width.get(name)
                no_wrap = name in ("id", "incident", "priority")
                shown.add_column(header, no_wrap=no_wrap, min_width=size, max_width=size, overflow="fold")
        for a in self.items:
            status = progress(a, self.now)  # as the report says it: "open, OVERDUE by 3.5 days"; narrow, it wraps
            row = [a.id, *([a.incident_id] if wide else []), a.priority, status, a.owner, due_text(a.due_at, none="-")]
            shown.add_row(*(cell(value) for value in [*row, a.title]))
        yield shown
