"""Incidents as a table that fits the terminal: every column whole but the title, which takes the rest and wraps."""

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table

from agent_postmortem.cli.output import cell, visible


class IncidentsView:
    """In 80 columns Rich shared the lack of room among all the columns, so the category was cut ("prompt_injecti…",
    "llm_hallucinat…") while the title wrapped a word to a line. Here the id, date, severity, category and status
    take exactly their width; under NARROW columns the severity is headed "sev", and when the title would still have
    less than TITLE columns the date goes (`show` and `--json` have it)."""

    NARROW = 100
    TITLE = 12

    def __init__(self, rows: list[list[str]]) -> None:
        self.rows = rows  # id, created, severity, category, status, title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        narrow = options.max_width < self.NARROW
        names = ["id", "created", "sev" if narrow else "severity", "category", "status"]
        width = {n: max(len(name), *(len(visible(row[n])) for row in self.rows)) for n, name in enumerate(names)}
        room = options.max_width - sum(width.values()) - (3 * (len(width) + 1) + 1)  # padding 2 a column, borders
        if room < self.TITLE:  # the date goes rather than the title shrinking to a word a line
            room += width.pop(1) + 3
        shown = Table()
        for n in width:
            shown.add_column(names[n], no_wrap=True, min_width=width[n], max_width=width[n])
        shown.add_column("title", max_width=max(1, room), overflow="fold")
        for row in self.rows:
            shown.add_row(*(cell(row[n]) for n in [*width, 5]))
        yield shown
