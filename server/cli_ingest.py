"""`postmortem` commands that bring failures in from elsewhere: OpenTelemetry traces."""

from pathlib import Path
from typing import Annotated

import typer

from server.cli_common import JsonOpt, emit, out, service, user_errors


def import_traces(
    path: Annotated[Path, typer.Argument(help="OTLP/JSON traces: one request, or one request per line")],
    dry_run: Annotated[bool, typer.Option(help="parse and show what would be captured; store nothing")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import OpenTelemetry GenAI traces: each trace with a failed span becomes an incident with the trace's spans
    as its timeline. Importing the same traces again stores nothing new."""
    from server.otlp import group_traces, read_file
    from server.traces import TraceImport, failed_traces, import_traces

    with user_errors():
        traces = group_traces(read_file(path))
        if dry_run:
            found = failed_traces(traces)
            result = TraceImport(traces=len(traces), failed_traces=len(found), titles=[f.incident.title for f in found])
        else:
            result = import_traces(service(), traces)
    if emit(result, as_json):
        return
    out.print(f"{result.traces} traces, {result.failed_traces} with a failure")
    if dry_run:
        for title in result.titles:
            out.print(f"  would capture: {title}", markup=False)
        return
    out.print(
        f"{result.created} incidents created, {result.duplicates} already imported, "
        f"{result.occurrences} counted on an open incident, {result.timeline_events} timeline events",
        soft_wrap=True,
    )
    ids = list(dict.fromkeys(result.incident_ids))
    if ids:
        more = f" and {len(ids) - 10} more (--json lists them all)" if len(ids) > 10 else ""
        out.print("ids: " + ", ".join(ids[:10]) + more, markup=False, soft_wrap=True)


COMMANDS = [import_traces]
