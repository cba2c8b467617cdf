"""Rich renderings for people at a terminal (the CLI and the demo); scripts use --json instead."""

from rich.console import Console
from rich.table import Table

from server.results import CaptureResult
from store.models import ActionItem, Analysis, SimilarIncident


def similar_table(hits: list[SimilarIncident]) -> Table:
    """Rows in rank order, with the score they are ranked by and the cosine that novelty goes by, both labelled."""
    table = Table(
        "#",
        "id",
        "relevance",
        "cosine",
        "category",
        "severity",
        "title",
        "root cause",
        title="Similar past incidents",
        caption="ranked by relevance (meaning and shared words); cosine: meaning alone",
    )
    for n, h in enumerate(hits, start=1):
        table.add_row(
            str(n),
            h.id,
            f"{h.relevance:.2f}",
            f"{h.score:.2f}",
            h.category,
            h.severity,
            h.title,
            (h.root_cause or "-")[:90],
        )
    return table


def actions_table(items: list[ActionItem]) -> Table:
    table = Table("id", "incident", "priority", "status", "owner", "due", "title")
    for a in items:
        due = f"{a.due_at:%Y-%m-%d}" if a.due_at else "-"
        table.add_row(
            a.id,
            a.incident_id,
            a.priority,
            a.status + (" (OVERDUE)" if a.overdue else ""),
            a.owner or "-",
            due,
            a.title,
        )
    return table


def show_capture(out: Console, r: CaptureResult) -> None:
    out.print(f"[bold]{r.id}[/bold]  category [cyan]{r.category}[/cyan] (confidence {r.category_confidence:.2f})")
    out.print(f"  signals: {'; '.join(r.category_signals) or '-'}")
    out.print(f"  severity [bold]{r.severity}[/bold]: {'; '.join(r.severity_reasons)}")
    out.print(f"  triage: [bold]{r.triage}[/bold] post-mortem: {'; '.join(r.triage_reasons)}")
    out.print(f"  novel failure mode: {'yes' if r.novel else 'no'}")
    if r.similar:
        out.print(similar_table(r.similar))
    if r.open_action_items:
        out.print("Open action items on similar incidents (finish these before drafting new ones):")
        out.print(actions_table(r.open_action_items))


def show_analysis(out: Console, a: Analysis) -> None:
    out.print(f"[bold]Analysis[/bold] by {a.generated_by} ({a.llm_model or 'unknown model'}), {a.state}")
    for n, why in enumerate(a.whys, start=1):
        out.print(f"  {n}. {why.question}\n     {why.answer}")
    out.print(f"[bold]Root cause:[/bold] {a.root_cause}")
    for f in a.contributing_factors:
        out.print(f"  factor: {f.factor} -> {f.effect}")
    for p in a.action_items:
        out.print(f"  [ ] {p.priority} {p.title} (owner: {p.owner_role}; due in {p.due_in_days} days)")
