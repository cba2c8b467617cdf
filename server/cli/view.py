"""The human views of the CLI and the demo (scripts use --json): incidents, what a capture decided, similar
incidents, analyses and action items; counts and verdicts are in summary.py. Every stored value is shown through
server/cli/output.py: as text, never markup, with its control characters visible."""

import textwrap
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table

from agent_postmortem.cli.actions_view import actions_table
from agent_postmortem.cli.incidents_view import IncidentsView
from agent_postmortem.cli.output import cell, fields, hanging, line, table, visible
from agent_postmortem.render.exports import due_text
from agent_postmortem.render.markdown import clipped

if TYPE_CHECKING:
    from agent_postmortem.service.results import CaptureResult, ClassifyResult, IncidentSummary
    from agent_postmortem.store.models import ActionItem, Analysis, AnalysisAction, Incident, SimilarIncident


def _day(value: object) -> str:
    return f"{value:%Y-%m-%d}" if value is not None else "-"


class SimilarView:
    """Similar past incidents: a table on a wide terminal, and on a narrow one (under WIDE columns, such as the
    80 of a default terminal or a pipe) one block per incident, so that titles and root causes are not wrapped a
    word to a line in eight narrow columns."""

    WIDE = 120

    def __init__(self, hits: "list[SimilarIncident]") -> None:
        self.hits = hits

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width >= self.WIDE:
            yield similar_table(self.hits)
            return
        head = f"Similar past incidents, {RANKED}"
        yield from (line((part, "italic")) for part in textwrap.wrap(head, max(20, options.max_width)))
        for n, h in enumerate(self.hits, start=1):
            yield line(f"{n:>2}. ", (h.id, "bold"), f"  relevance {h.relevance:.2f}  cosine {h.score:.2f}  ",
                       (h.category, "cyan"), "  ", h.severity)  # fmt: skip
            width = max(20, options.max_width - 4)
            yield from (line("    ", part) for part in textwrap.wrap(visible(h.title), width) or ["-"])
            cause = textwrap.wrap("root cause: " + visible(clipped(h.root_cause or "-", 200)), width)
            yield from (line("    ", part) for part in cause)


# relevance is standardised against the other candidates: "relevance -0.66  cosine 0.79" read as an error
RANKED = (
    "ranked by relevance (meaning and shared words, against the other candidates: 0 is their average, below 0 a "
    "weaker match); cosine: meaning alone"
)


def similar_table(hits: "list[SimilarIncident]") -> Table:
    """Rows in rank order, with the score they are ranked by and the cosine that novelty goes by, both labelled."""
    rows = (
        [
            str(n),
            h.id,
            f"{h.relevance:.2f}",
            f"{h.score:.2f}",
            h.category,
            h.severity,
            h.title,
            clipped(h.root_cause or "-", 90),
        ]
        for n, h in enumerate(hits, start=1)
    )
    found = table(
        "#",
        "id",
        "relevance",
        "cosine",
        "category",
        "severity",
        "title",
        "root cause",
        title="Similar past incidents",
        rows=rows,
    )
    found.caption = RANKED
    return found


def incidents_table(incidents: "Iterable[Incident | IncidentSummary]") -> IncidentsView:
    return IncidentsView([[i.id, _day(i.created_at), i.severity, i.category, i.status, i.title] for i in incidents])


def show_decision(out: Console, r: "ClassifyResult", *, incident_id: str | None = None) -> None:
    """What capture (or the classify dry run) decided, with its reasons and what is similar."""
    head = [(incident_id, "bold"), "  "] if incident_id else []
    out.print(line(*head, "category ", (_category(r), "cyan")))
    out.print(line("  signals: ", "; ".join(r.category_signals) or "-"))
    out.print(line("  severity ", (r.severity, "bold"), ": ", "; ".join(r.severity_reasons)))
    out.print(line("  triage: ", (r.triage, "bold"), " post-mortem: ", "; ".join(r.triage_reasons)))
    out.print(line(f"  novel failure mode: {'yes' if r.novel else 'no'}"))
    if r.redacted:
        out.print(line("  redacted: ", ", ".join(f"{k} {v}" for k, v in r.redacted.items())))
    if r.similar:
        out.print(SimilarView(r.similar))
    if r.open_action_items:
        out.print("Open action items on similar incidents (finish these before drafting new ones):")
        out.print(actions_table(r.open_action_items))


def show_capture(out: Console, r: "CaptureResult") -> None:
    """What a capture did (stored a new incident, counted one more occurrence, or replayed a retry), then what it
    decided; a recurrence lists the completed items that did not prevent it."""
    if r.replayed:
        out.print(line((f"{r.id}: a retry with the same idempotency key: nothing new was stored", "bold yellow")))
    elif r.deduplicated:
        said = f"{r.id}: one more occurrence of this open incident (same failure signature), seen {r.occurrences} times"
        out.print(line((f"{said}; no new incident", "bold yellow")))
    show_decision(out, r, incident_id=r.id)
    if r.fixed_action_items:
        out.print(line(("Recurred after its fix", "bold yellow"), ": these completed action items did not prevent it"))
        out.print(actions_table(r.fixed_action_items))


def review_label(a: "Analysis") -> str:
    """What a reader must know before trusting an analysis: whether a person reviewed it, who and when."""
    if a.state == "draft":  # its number in the command: a draft stored after this was read is not reviewed unread
        which = f" --analysis {a.id}" if a.id is not None else ""
        return f"DRAFT, not reviewed: read it, then `postmortem review INC-n{which} --accept` or `--reject`"
    who = f" by {a.reviewed_by}" if a.reviewed_by else ""
    when = f" on {a.reviewed_at:%Y-%m-%d}" if a.reviewed_at else ""
    said = f": {a.review_note}" if a.review_note else ""
    return f"{'accepted' if a.state == 'accepted' else 'REJECTED'}{who}{when}{said}"


def show_analysis(out: Console, a: "Analysis", incident_id: str = "INC-n") -> None:
    number = f" {a.id}" if a.id is not None else ""
    out.print(line(("Analysis" + number, "bold"), f" by {a.generated_by} ({a.llm_model or 'unknown model'})"))
    out.print(hanging("  ", (review_label(a).replace("INC-n", incident_id), "bold")))
    _quality(out.print, a)
    out.print(line(("Root cause: ", "bold"), a.root_cause))
    for part in reasoning(a):  # as `show` renders them: `draft` wrapped its whys and factors to the left edge
        out.print(part)
    for p in a.action_items:
        out.print(_proposed(p))


def reasoning(a: "Analysis") -> list[RenderableType]:
    """The whys, the contributing factors and the causes weighed, each wrapped under its number or its head."""
    parts: list[RenderableType] = [
        hanging(f"  {n}. ", w.question, "\n", w.answer) for n, w in enumerate(a.whys, start=1)
    ]
    parts += [hanging("  factor: ", f.factor, " -> ", f.effect) for f in a.contributing_factors]
    return parts + _hypotheses(a)


def _hypotheses(a: "Analysis") -> list[RenderableType]:
    """The candidate root causes the analysis weighed, with the evidence for and against each, and why it chose."""
    weighed: list[RenderableType] = [
        hanging("  hypothesis: ", h.cause, "\nfor: ", h.evidence_for or "-", "\nagainst: ", h.evidence_against or "-")
        for h in a.hypotheses
    ]
    if a.chosen_because:
        weighed.append(hanging("  why this root cause: ", a.chosen_because))
    return weighed


def _proposed(p: "AnalysisAction") -> RenderableType:
    repeats = f"; repeats the open {p.duplicate_of}" if p.duplicate_of else ""
    return hanging(
        f"  [ ] {p.priority} ", p.title, " (owner: ", p.owner_role, f"; due in {p.due_in_days} days{repeats})"
    )


def _quality(show: Callable[[RenderableType], object], a: "Analysis") -> None:
    """What a low-quality model's analysis must say wherever it is shown."""
    from agent_postmortem.llm.local import quality_note

    note = quality_note(a.llm_model)
    if note is not None:
        show(line((f"Analysis {note}.", "bold yellow")))


def incident_view(i: "Incident") -> RenderableType:
    """One incident: what happened, what was decided, its timeline, analysis and action items."""
    parts: list[RenderableType] = [
        line((i.id, "bold"), "  ", i.title),
        fields(
            [
                ("status", i.status),
                ("severity", line(i.severity, "  ", "; ".join(i.severity_reasons))),
                ("category", _category(i)),
                ("triage", i.triage),
                ("created", f"{i.created_at:%Y-%m-%d %H:%M} UTC"),
                ("occurrences", i.occurrences),
                *((("reach", ", ".join(reach)),) if (reach := _reach(i)) else ()),
                *((name, getattr(i, name)) for name in _OPTIONAL if getattr(i, name)),
            ]
        ),
    ]
    if i.description:
        parts += [line(("Description", "bold")), cell(i.description)]
    if i.stack_trace:
        parts += [line(("Stack trace", "bold")), cell(i.stack_trace)]
    if i.timeline:
        from agent_postmortem.render.timeline import folded

        rows = ([f"{e.at:%Y-%m-%d %H:%M}", e.kind, e.description] for e in folded(i.timeline))
        parts.append(table("at", "kind", "event", rows=rows, title="Timeline"))
    if i.analysis is not None:
        _quality(parts.append, i.analysis)
        label = review_label(i.analysis).replace("INC-n", i.id)
        number = f"analysis {i.analysis.id}, " if i.analysis.id is not None else ""
        parts.append(line(("Root cause", "bold"), f" ({number}{label}): ", i.analysis.root_cause))
        # the help promised the analysis and showed its root cause alone: the whys and factors that led to it too
        parts += reasoning(i.analysis)  # with the causes weighed, as the report lists them
        # what a reviewer accepts with it, as the report lists them: the items it proposes were left out of `show`
        tracked = {a.title for a in i.action_items}
        if proposed := [_proposed(p) for p in i.analysis.action_items if p.title not in tracked]:
            # how to track one: the CLI's `draft --track` tracks its own draft's, an assistant's were left unsaid
            track = f"`postmortem actions --incident {i.id} --add TITLE --owner ... --priority ...` tracks one"
            parts += [line(f"  proposed by the analysis, not yet tracked ({track}):"), *proposed]
    if i.action_items:
        parts.append(actions_table(i.action_items))
    return Group(*parts)


_OPTIONAL = (
    "agent", "tool", "tool_args", "model", "prompt_excerpt", "environment", "error_type", "error_message", "impact",
    "source_id",
)  # fmt: skip


def _reach(i: "Incident") -> list[str]:
    return [word for word, flag in (("user-facing", i.user_facing), ("customer-reported", i.customer_reported)) if flag]


def item_view(a: "ActionItem") -> RenderableType:
    """One action item with its history of changes."""
    view = fields(
        [
            ("item", line((a.id, "bold"), "  ", a.title)),
            ("incident", a.incident_id),
            ("status", a.status + (" (OVERDUE)" if a.overdue else "") + _completed(a)),
            ("priority", a.priority),
            ("owner", a.owner),
            ("due", due_text(a.due_at, none="-")),
            ("created", _day(a.created_at)),
        ]
    )
    if not a.history:
        return view
    rows = (
        [f"{h.at:%Y-%m-%d %H:%M}", h.field, _changed(h.field, h.old), _changed(h.field, h.new), h.by] for h in a.history
    )
    return Group(view, table("at", "change", "from", "to", "by", rows=rows, title="History"))


def _changed(field: str, value: str | None) -> str | None:
    """A due date in the history as the `due` line shows it ("2026-12-01"): stored as a full time with seconds and
    offset, it was cut to "2026-12-01T23:59:5…" in 80 columns, so a change of due date could not be read."""
    if field != "due_at" or not value:
        return value
    try:
        return due_text(datetime.fromisoformat(value).astimezone(UTC))
    except ValueError:  # not a time (written by hand in an import): shown as stored
        return value


def _completed(a: "ActionItem") -> str:
    """When a completed item was done: an item imported completed without a date says so rather than showing none."""
    if a.status != "completed":
        return ""
    return f" {a.completed_at:%Y-%m-%d %H:%M} UTC" if a.completed_at else ", date unknown"


def _category(d: "Incident | ClassifyResult") -> str:
    """The category, who decided it, and the learned classifier's dissent."""
    from agent_postmortem.analysis.decision import category_summary

    return category_summary(d.category, d.category_confidence, d.category_source, d.classifier_disagrees)
