"""The checked options every `postmortem` command shares: integers within the MCP tools' bounds, choices from the
stored vocabularies (rejected before the command runs, exit 2, without echoing the value), and the note under a table
cut at its limit."""

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperOption

from agent_postmortem.cli.output import err
from agent_postmortem.store.vocabulary import (
    LIMIT,
    LIST_LIMIT,
    ActionStatus,
    CategoryName,
    Priority,
    Severity,
    Status,
    names,
)

# The stored vocabularies for checked options: store/vocabulary.py has no pydantic, so `--help` stays light.
CATEGORIES = names(CategoryName)
SEVERITIES = names(Severity)
STATUSES = names(Status)
PRIORITIES = names(Priority)
ACTION_STATUSES = names(ActionStatus)


def bounded(low: int, high: int, help: str = "") -> Any:
    """An integer option that accepts only `low` to `high`: anything else is rejected before the command runs (exit
    2) with the range, as the MCP tools say it, instead of being clamped without a word."""

    def check(value: int | None) -> int | None:
        if value is not None and not low <= value <= high:
            raise typer.BadParameter(f"must be an integer between {low} and {high}")
        return value

    return typer.Option(help=help, callback=check, metavar=f"[{low}-{high}]")


# The smallest group of incidents that counts as a recurring pattern: 2-100, as the MCP tools take it (it was
# clamped without a word: --min-size 1 showed groups of 2).
MinSize = Annotated[int, bounded(2, 100, help="incidents a recurring pattern needs")]
# How many incidents a search shows: the bounds of the MCP tools' `limit`; a list in a terminal may show more.
Limit = Annotated[int, bounded(*LIMIT, help="how many incidents to show")]
ListLimit = Annotated[int, bounded(*LIST_LIMIT, help="how many incidents to show")]
ItemLimit = Annotated[int | None, bounded(1, 1_000, help="how many action items to show (default 50; --export: all)")]
# How many recurring patterns `patterns` and `effectiveness` show, largest first (the MCP tools take up to 50).
PatternLimit = Annotated[int, bounded(1, 1_000, help="how many patterns to show, the largest first")]
Offset = Annotated[int, bounded(0, 10_000_000, help="skip this many (the next page starts at the offset shown)")]


def _stdout_when_dash(value: Path | None) -> Path | None:
    return None if value is not None and str(value) == "-" else value


def output(help: str = "write it to this file instead of stdout (-: stdout)") -> Any:
    """`-o FILE`, where `-o -` is stdout, as `-` is stdin for the commands that read: it wrote a file named "-"
    in the working directory, so `postmortem export -o - | gzip` compressed nothing and the backup sat in "-"."""
    return typer.Option("-o", "--output", help=help, callback=_stdout_when_dash)


Output = Annotated[Path | None, output()]


def more_note(next_offset: int | None, what: str, *, pages: bool = True) -> None:
    """On stderr, under a table cut at its limit: that there is more and how to see it (a table said nothing)."""
    if next_offset is not None:
        how = f"--offset {next_offset} shows the next page, --limit a longer one" if pages else "--limit shows more"
        err.print(f"more {what}: {how}", markup=False)


def more_patterns(total: int, shown: int) -> None:
    """On stderr, under patterns cut at their limit: how many there are in all (20 of 141 were shown as all)."""
    more_note(shown if total > shown else None, f"patterns ({total} in all)", pages=False)


def one_of(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


def choice(values: Sequence[str], help: str = "") -> Any:
    """An option that accepts only `values`, in any case as the MCP tools do (`p1` is P1): anything else is rejected
    before the command runs (exit 2), with the allowed values and without echoing what was given; the shell completes
    the values."""
    spelled = {v.casefold(): v for v in values}

    def check(value: str | None) -> str | None:
        if value is None or value in values:
            return value
        if value.casefold() not in spelled:
            raise typer.BadParameter(f"must be {one_of(values)}")
        return spelled[value.casefold()]

    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.casefold().startswith(incomplete.casefold())]

    return typer.Option(help=help, callback=check, autocompletion=complete, metavar="[" + "|".join(values) + "]")


_option_type = TyperOption.display_type_rich


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """typer's rich help wrote a type after every option, flags included (`--json <bool>`), which reads as a flag
    that takes a value, and `--json true` is then refused as an extra argument: a flag shows none."""
    return None if self.is_flag else _option_type(self, ctx)


TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]
