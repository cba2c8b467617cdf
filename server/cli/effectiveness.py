"""The human view of `postmortem effectiveness`: a table on a wide terminal, and on a narrow one (under WIDE
columns, such as the 80 of a default terminal or a pipe) one block per pattern, so that ids, dates, labels and
verdicts are never cut or broken inside a word in seven narrow columns."""

import textwrap
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table

from agent_postmortem.cli.output import line, table, visible

if TYPE_CHECKING:
    from agent_postmortem.analysis.effectiveness import PatternEffect
    from agent_postmortem.service.results import EffectivenessReport


class EffectivenessView:
    WIDE = 120

    def __init__(self, result: "EffectivenessReport") -> None:
        self.result = result

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        r = self.result
        if options.max_width >= self.WIDE:
            yield _table(r.patterns)
        else:
            for p in r.patterns:
                yield from _block(p, max(20, options.max_width))
        totals = f"holding {r.holding} · recurred after fix {r.recurred}"
        unknown = f" · fix date unknown {r.fix_date_unknown}" if r.fix_date_unknown else ""
        totals += f" · in progress {r.in_progress}{unknown} · no items {r.without_items}"
        yield from (line(part) for part in _wrapped(totals, options.max_width))


def _closed(p: "PatternEffect") -> str:
    """The last item's completion date; "unknown" when an item was completed on a date not recorded."""
    return "unknown" if p.undated else f"{p.last_closed_at:%Y-%m-%d}" if p.last_closed_at else "-"


def _split(p: "PatternEffect") -> tuple[int | str, int | str]:
    """Incidents before and after the fix; none told apart when the fix's date is unknown."""
    return ("-", "-") if p.undated else (p.incidents_before, p.incidents_after + p.seen_again_after)


def _rates(p: "PatternEffect") -> str:
    return " / ".join(p.rates()) if p.last_closed_at else "-"


def _table(patterns: "list[PatternEffect]") -> Table:
    rows = (
        [
            f"{p.pattern_id} {p.label}",
            f"{p.completed}/{p.items}",
            _closed(p),
            *_split(p),
            _rates(p),
            p.verdict,
        ]
        for p in patterns
    )
    columns = ("pattern", "items done", "last item closed", "before", "after", "rate before/after", "verdict")
    return table(*columns, rows=rows)


def _block(p: "PatternEffect", width: int) -> RenderResult:
    """A pattern's id, then its label, verdict and figures, each wrapped between words, indented under the id."""
    yield line((p.pattern_id, "bold"))
    done = f"items done {p.completed}/{p.items} · last item closed {_closed(p)}"
    before, after = _split(p)
    seen = f"incidents before {before}, after {after} · rate before/after {_rates(p)}"
    for text in (p.label, p.verdict, done, seen):
        yield from (line("    ", part) for part in _wrapped(visible(text), width - 4))


def _wrapped(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` characters, broken only between words (a longer word has a line of its
    own, whole): ids, dates and hyphenated names stay in one piece."""
    return textwrap.wrap(text, max(20, width), break_long_words=False, break_on_hyphens=False) or ["-"]
