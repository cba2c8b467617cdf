"""`postmortem` commands on incidents: capture and classify them, find, list and show them, draft and report.
Registered by server/cli/app.py from COMMANDS; heavy modules are imported inside the commands, so `--help` stays quick.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from agent_postmortem.cli.access import list_page, read_records, reading, stored_service, why_empty
from agent_postmortem.cli.common import (
    CATEGORIES,
    SEVERITIES,
    STATUSES,
    JsonOpt,
    Limit,
    ListLimit,
    MinSize,
    Offset,
    Output,
    choice,
    emit,
    err,
    more_note,
    out,
    settings,
    stage_status,
    user_errors,
)
from agent_postmortem.cli.options import PatternLimit, more_patterns
from agent_postmortem.cli.output import deliver, line

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService
    from agent_postmortem.store.models import Analysis


def search(
    query: str,
    limit: Limit = 5,
    category: Annotated[str | None, choice(CATEGORIES, help="only incidents of this category")] = None,
    severity: Annotated[str | None, choice(SEVERITIES, help="only incidents of this severity")] = None,
    status: Annotated[str | None, choice(STATUSES, help="only incidents in this status")] = None,
    agent: Annotated[str | None, typer.Option(help="only incidents of this agent")] = None,
    tool: Annotated[str | None, typer.Option(help="only incidents where this tool was involved")] = None,
    model: Annotated[str | None, typer.Option(help="only incidents with this model")] = None,
    since: Annotated[str | None, typer.Option(help="created at or after (ISO 8601 year, month, date or time)")] = None,
    until: Annotated[
        str | None, typer.Option(help="created at or before (ISO 8601; a year, month or date includes all of it)")
    ] = None,
    mode: Annotated[str, choice(("hybrid", "dense", "lexical"), help="meaning and exact words, or one of them")] = (
        "hybrid"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Find past incidents similar to a description or error message (hybrid: meaning and exact words)."""
    from agent_postmortem.store.filters import SearchFilters

    with user_errors():  # checked before the store is opened: a wrong date is told alone, first
        filters = SearchFilters.pick(locals())
    with user_errors(), reading() as svc:
        result = svc.search_incidents(query=query, limit=limit, mode=cast(Any, mode), filters=filters)
    if not emit(result, as_json):
        from agent_postmortem.cli.view import SimilarView

        if result.hits:  # a heading over no hits, on stdout, read as a result (a script got it as one)
            out.print(SimilarView(result.hits))
        why_empty(result.empty_because)  # an empty table said nothing of why
        for note in (result.match_note, result.named):  # hits at cosine 0.3, or a question about a stored incident,
            if note:  # read as plainly as real matches
                err.print(note, markup=False)


def list_(
    limit: ListLimit = 20,
    status: Annotated[str | None, choice(STATUSES, help="only incidents in this status")] = None,
    offset: Offset = 0,
    as_json: JsonOpt = False,
) -> None:
    """List incidents, newest first; --offset pages past the newest 200 (--limit stops there)."""
    from agent_postmortem.store.filters import SearchFilters

    with user_errors():
        filters = SearchFilters.of(status=status)
        found = read_records(lambda store: list_page(store, limit=limit, offset=offset, filters=filters))
    rows, why = found or ([], None)
    if as_json:  # the summaries' models are loaded only here: the table needs none of them
        from agent_postmortem.service.results import IncidentList, IncidentSummary

        fields = set(IncidentSummary.model_fields)
        summaries = [IncidentSummary.model_validate(r.model_dump(include=fields)) for r in rows[:limit]]
        more = offset + limit if len(rows) > limit else None
        emit(IncidentList(incidents=summaries, offset=offset, next_offset=more, empty_because=why), True)
        return
    from agent_postmortem.cli.view import incidents_table

    if found is None:  # no home: read_records said so
        return
    if not rows:  # not an empty table, which reads like a display fault
        if offset:  # a page past the end, said as `actions --offset` and the MCP list tools say it
            said = why or ""
        elif status:
            said = f"no {status} incidents"
        else:
            said = "no incidents yet: `postmortem capture` or `postmortem import` adds some"
        err.print(said, markup=False)
        return
    out.print(incidents_table(rows[:limit]))
    more_note(offset + limit if len(rows) > limit else None, "incidents")


def show(incident_id: str, as_json: JsonOpt = False) -> None:
    """Show one incident: what happened, what was decided, its timeline, analysis and action items."""
    from agent_postmortem.store.errors import IncidentNotFound

    with user_errors():
        incident = read_records(lambda store: store.get_or_raise(incident_id))
        if incident is None:
            raise IncidentNotFound(incident_id.strip())
    if not emit(incident, as_json):
        from agent_postmortem.cli.view import incident_view

        out.print(incident_view(incident))


def draft(
    incident_id: str,
    track: Annotated[bool, typer.Option(help="also track the proposed action items")] = False,
    file: Annotated[
        Path | None, typer.Option(help="an analysis written by hand, as JSON (record_analysis's): no model is asked")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Draft the 5 whys, root cause and action items with the configured model (docs/drafting.md): an
    OpenAI-compatible endpoint, or a GGUF on the embedded llama.cpp server. Without one it says how to configure one
    (exit 2); a model that fails (endpoint unreachable, HTTP 5xx) or a draft that runs past POSTMORTEM_DRAFT_TIMEOUT
    stops with nothing stored (exit 1). With --file, the analysis in the file is checked and stored instead, as
    record_analysis stores one; what is wrong with it is said field by field (exit 2)."""
    from agent_postmortem.errors import NoModelConfigured

    with user_errors():
        svc = stored_service()
        try:
            if file is not None:
                analysis = _written(svc, incident_id, file)
            else:
                with stage_status(f"drafting {incident_id.strip().upper()}") as progress:
                    analysis = svc.draft_analysis(incident_id, progress=progress)
        except NoModelConfigured as e:
            raise NoModelConfigured(_model_turned_off(settings().llm_backend) or str(e)) from None
        tracked = svc.add_drafted_action_items(incident_id) if track else []
    if not emit(analysis, as_json):
        from agent_postmortem.cli.view import show_analysis

        show_analysis(out, analysis, incident_id.strip().upper())
        for item in tracked:
            out.print(line("  tracked ", (item.id, "bold"), ": ", item.title))
        for p in analysis.action_items if track else []:
            if p.duplicate_of:  # an open item says it already: follow that one up
                out.print(line("  not tracked again: ", p.title, " (open ", (p.duplicate_of, "bold"), " repeats it)"))


def _written(svc: "PostmortemService", incident_id: str, file: Path) -> "Analysis":
    """The analysis in `file` (JSON, prose or a fence around it allowed), validated, guarded, grounded, redacted and
    stored as record_analysis stores one. What is wrong with it is the writer's to fix (exit 2), not a model's."""
    from agent_postmortem.errors import DraftError
    from agent_postmortem.ingest.jsonfile import display_name, read_text
    from agent_postmortem.service.draft_text import MAX_ANALYSIS_SENT

    context = svc.draft_context(incident_id)  # an unknown id is told before the file is read
    try:
        return svc.record_analysis_text(context, read_text(file, limit=MAX_ANALYSIS_SENT), generated_by="human")
    except DraftError as e:
        raise ValueError(f"{display_name(file)}: {e}") from None


def _model_turned_off(backend: str) -> str | None:
    """Why no model drafts when POSTMORTEM_LLM itself rules the command's out: the general advice (set
    OPENAI_BASE_URL ...) did nothing while POSTMORTEM_LLM=none or sampling stayed set."""
    from agent_postmortem.service.drafting import configure

    why = {
        "none": "POSTMORTEM_LLM=none turns off drafting by any model here",
        "sampling": "POSTMORTEM_LLM=sampling drafts only with an MCP client's own model, and a command has no client",
    }.get(backend)
    how = configure("in your environment")
    bundled = "or set POSTMORTEM_LLM=local for the bundled 135M model (low quality)"
    return why and f"{why}: unset it (or set it to auto) and {how}; {bundled}"


def review(
    incident_id: str,
    accept: Annotated[
        bool, typer.Option("--accept", help="it is right: it feeds similar incidents and runbooks")
    ] = False,
    reject: Annotated[bool, typer.Option("--reject", help="it is wrong: it feeds nothing")] = False,
    by: Annotated[str | None, typer.Option(help="who reviewed it (kept with the analysis and in the timeline)")] = None,
    note: Annotated[str | None, typer.Option(help="why: kept with the analysis and in the timeline")] = None,
    analysis: Annotated[
        int | None,
        typer.Option(min=1, help="the number of the analysis read (`show`): refused if a newer one was stored since"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Accept or reject an incident's latest analysis after reading it (`postmortem show` or `report`). Only accepted
    analyses feed anything else: similar incidents, runbooks, reviews, regression cases and later drafts."""
    from agent_postmortem.cli.common import BAD_INPUT

    if accept == reject:
        err.print("error: give exactly one of --accept or --reject", markup=False)
        raise typer.Exit(BAD_INPUT)
    with user_errors():
        svc = stored_service()
        decision = "accept" if accept else "reject"
        reviewed = svc.review_analysis(incident_id, decision=decision, by=by, note=note, analysis_id=analysis)
    if not emit(reviewed, as_json):
        from agent_postmortem.cli.view import review_label

        out.print(line((incident_id.strip().upper(), "bold"), f"  analysis {reviewed.id} ", review_label(reviewed)))


def report(
    incident_id: str,
    output: Output = None,
    kind: Annotated[
        str, choice(("full", "review", "auto"), help="full, review (lightweight) or auto (follow the triage)")
    ] = "full",
    format: Annotated[
        str, choice(("markdown", "html"), help="html: one self-contained file (inline CSS and SVG, no script)")
    ] = "markdown",
    as_json: JsonOpt = False,
) -> None:
    """Render the post-mortem (or the lightweight review) as Markdown or HTML, to stdout or to a file (with --json,
    the JSON goes where the report would: to the file with -o)."""
    from agent_postmortem.service.results import Report

    with user_errors():
        with reading() as svc:
            text = svc.render_report(incident_id, kind=cast(Any, kind), format=cast(Any, format))
        deliver(Report(incident_id=incident_id, format=format, text=text), text, output, as_json)


def stats(as_json: JsonOpt = False) -> None:
    """Counts by category, severity and status; action items; index health."""
    with user_errors(), reading() as svc:
        result = svc.knowledge_stats()
    if not emit(result, as_json):
        from agent_postmortem.cli.summary import stats_view

        out.print(stats_view(result))


def patterns(min_size: MinSize = 3, limit: PatternLimit = 20, as_json: JsonOpt = False) -> None:
    """Recurring patterns: groups of incidents that are the same failure, with their open action items."""
    from agent_postmortem.cli.output import table

    with user_errors(), reading() as svc:
        result = svc.recurring_patterns(min_size=min_size, limit=limit)
    if emit(result, as_json):
        return
    if not result.patterns:  # an empty table, with nothing of why
        smaller = "; a smaller --min-size (2 at least) finds smaller groups" if min_size > 2 else ""
        said = f"no recurring pattern yet: no {min_size} or more incidents are the same failure{smaller}"
        err.print(said, markup=False)
        return
    rows = (
        [p.id, p.size, f"{p.last_seen:%Y-%m-%d}", p.open_items, p.label, _first_incidents(p.incident_ids)]
        for p in result.patterns
    )
    columns = ("id", "size", "last seen", "open items", "label", "incidents")
    out.print(table(*columns, rows=rows, title="Recurring patterns"))
    more_patterns(result.total, len(result.patterns))


def _first_incidents(ids: list[str], shown: int = 8) -> str:
    """A pattern's first incidents, and how many more there are: past eight the rest were left out without a word,
    so a pattern of size 9 listed 8 incidents and the ninth could not be told from the table."""
    more = f", … (+{len(ids) - shown} more: --json lists them)" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


COMMANDS: list[tuple[str, Any]] = [
    ("search", search),
    ("list", list_),
    ("show", show),
    ("draft", draft),
    ("review", review),
    ("report", report),
    ("patterns", patterns),
    ("stats", stats),
]
