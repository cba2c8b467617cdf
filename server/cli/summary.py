"""The CLI's human views of counts and verdicts (scripts use --json): the knowledge base's stats, action-item
completion, a fix's verification, the health check of a home and the blameless-language findings. Every stored value
is shown through server/cli/output.py: as text, never markup, with its control characters visible."""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType

from agent_postmortem.analysis.wording import counted
from agent_postmortem.cli.output import fields, line, table

if TYPE_CHECKING:
    from agent_postmortem.analysis.blameless import BlamelessReport
    from agent_postmortem.analysis.verify import FixVerification, Side
    from agent_postmortem.service.health import HealthReport
    from agent_postmortem.service.results import ActionStats, Stats


def action_stats_view(s: "ActionStats") -> RenderableType:
    def rate(c: object) -> str:
        value = getattr(c, "rate", None)
        return "-" if value is None else f"{value:.0%}"

    def rows(by: Iterable[tuple[str, object]]) -> list[list[object]]:
        return [[name, getattr(c, "items", 0), getattr(c, "completed", 0), getattr(c, "overdue", 0), rate(c)]
                for name, c in by]  # fmt: skip

    everything = [("all items", s.overall), *((f"owner {k}", c) for k, c in s.by_owner.items())]
    everything += [(f"priority {k}", c) for k, c in s.by_priority.items()]
    everything += [(f"{p.pattern_id} {p.label}", p) for p in s.by_pattern]
    shown = table("", "items", "completed", "overdue", "rate", rows=rows(everything), title="Action item completion")
    shown.caption = s.owners_note
    return shown


def stats_view(s: "Stats") -> RenderableType:
    def counts(by: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(by.items(), key=lambda kv: -kv[1])) or "-"

    return fields(
        [
            ("incidents", s.incidents),
            ("by status", counts(s.by_status)),
            ("by severity", counts(s.by_severity)),
            ("by category", counts(s.by_category)),
            ("action items", counts(s.action_items)),
            *_index_rows(s),
        ]
    )


def _index_rows(s: "Stats") -> list[tuple[str, object]]:
    """What search reads and what the vector index still lacks. A command never holds the index (a running server
    does, docs/architecture.md): it read "indexed -, waiting to be indexed 445" after `import`, as if those 445
    could not be found yet, though every command and server searches the stored vectors themselves."""
    if s.indexed is not None:
        return [("indexed", s.indexed), ("waiting to be indexed", s.index_pending)]
    kept = "kept by a running server (`postmortem serve`)"
    lacking = (
        f"; {counted(s.index_pending, 'incident')} to add when one starts, or `postmortem reindex`"
        if s.index_pending
        else "; up to date"
    )
    return [("searchable", f"all {s.incidents} (search reads the stored vectors)"), ("vector index", kept + lacking)]


def blameless_view(r: "BlamelessReport", text: str = "") -> RenderableType:
    """The findings in a table; in a text of several lines each is placed by its line, where its character offsets
    ("4635-4659" in a 10,000-character postmortem) could not be found in an editor (`--json` keeps the offsets)."""
    if r.blameless:
        return line(("blameless", "green"), ": no blaming language found")

    def at(start: int, end: int) -> str:
        return f"line {text.count(chr(10), 0, start) + 1}" if "\n" in text.strip() else f"{start}-{end}"

    rows = ([at(f.start, f.end), f.text, f.rule, f.suggestion, _BY[f.rewritten_by]] for f in r.findings)
    title = counted(len(r.findings), "blaming phrase")
    return table("at", "text", "rule", "suggestion", "rewritten by", rows=rows, title=title)


_BY = {"llm": "model", "rules": "rules"}


def verification_view(v: "FixVerification") -> RenderableType:
    def rate(r: "Side") -> str:  # the interval at the confidence asked for: --confidence 0.99 read "95% CI"
        if r.rate is None:  # 0/0 read as a rate of 0 with an interval of 0-1
            return "- (no trials)"
        return f"{r.failures}/{r.trials} = {r.rate:.3g} ({v.confidence * 100:.3g}% CI {r.low:.3g}-{r.high:.3g})"

    more = "-" if v.more_trials_needed is None else v.more_trials_needed
    return fields(
        [
            ("verdict", line((v.verdict, "bold"))),
            ("before", rate(v.before)),
            ("after", rate(v.after)),
            ("p-value", "-" if v.p_value is None else f"{v.p_value:.3g}"),
            ("target", f"{v.target:g} at confidence {v.confidence:g}"),
            ("more trials needed", more),
            ("why", v.explanation),
        ]
    )


def health_view(h: "HealthReport") -> RenderableType:
    verdict = ("healthy", "green") if h.healthy else ("NOT healthy", "red")
    pairs = [(name, "-" if value is None else value) for name, value in h.model_dump().items()]
    return Group(line(verdict), fields(pairs))
