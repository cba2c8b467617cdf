"""The `postmortem` command line: for people (Rich tables) and scripts (`--json` on stdout)."""

import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from server import cli_home, cli_ingest, cli_loop, cli_steps
from server.bench_cli import bench, eval_command
from server.cli_common import JsonOpt, emit, err, out, service, user_errors
from server.cli_team import token_app
from server.config import Settings
from store.models import IncidentCreate

if TYPE_CHECKING:
    from server.jsonl import ImportReport
    from server.service import PostmortemService

app = typer.Typer(
    help="Turn AI-agent failures into durable learning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
logger = logging.getLogger("postmortem")


def _service() -> Any:
    return service()


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@app.command()
def serve(
    transport: Annotated[str, typer.Option(help="stdio or http")] = "stdio",
    host: str = "127.0.0.1",
    port: int = 8000,
    stateless: Annotated[
        bool, typer.Option(help="http without MCP sessions: any replica serves any request (POSTMORTEM_HTTP_STATELESS)")
    ] = False,
) -> None:
    """Run the MCP server (stdio for one client, http for several)."""
    from server.runtime import LazyService, build_service
    from server.tools import create_server

    with user_errors():
        settings = Settings.from_env()
    lazy = LazyService(lambda: build_service(settings))
    sampling = settings.llm_backend in ("auto", "sampling")
    if transport == "stdio":
        from server.stdio import run_stdio

        run_stdio(create_server(lazy.get, on_start=lazy.start, sampling=sampling))
    elif transport == "http":
        from server.http_security import http_security, proxy_options
        from server.teams import TeamServices, TeamTokenVerifier, load_tokens

        get: Callable[[], PostmortemService] = lazy.get
        start = lazy.start
        with user_errors():
            verifier = TeamTokenVerifier(load_tokens(settings.tokens_file)) if settings.tokens_file else None
            security = http_security(
                host=host,
                port=port,
                token=settings.http_token,
                allowed_hosts=list(settings.allowed_hosts),
                allowed_origins=list(settings.allowed_origins),
                team_verifier=verifier,
            )
        if verifier is not None:  # each request works on its token's team's knowledge base
            teams = TeamServices.for_settings(settings, teams=verifier.teams)
            get, start = teams.get, teams.start
        import uvicorn

        from server.http_app import http_app

        asgi = http_app(
            get,
            security=security,
            host=host,
            rate_per_minute=settings.http_rate_per_minute,
            on_start=start,
            sampling=sampling,
            stateless=stateless or settings.http_stateless,
        )
        uvicorn.run(asgi, host=host, port=port, log_level="warning", **proxy_options(settings.trusted_proxies))
    else:
        err.print("error: --transport must be stdio or http")
        raise typer.Exit(2)


@app.command()
def capture(
    title: Annotated[str, typer.Option(help="one line: what went wrong")] = "",
    description: str = "",
    error_type: str | None = None,
    error_message: str | None = None,
    agent: str | None = None,
    tool: str | None = None,
    model: str | None = None,
    impact: str | None = None,
    user_facing: bool = False,
    customer_reported: bool = False,
    file: Annotated[Path | None, typer.Option(help="a JSON incident instead of options")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="retries with the same key store nothing new")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Capture a failure: classify, store, and show similar past incidents."""
    with user_errors():
        if file is not None:
            data = IncidentCreate.model_validate_json(file.read_text(encoding="utf-8"))
        else:
            data = IncidentCreate(
                title=title,
                description=description,
                error_type=error_type,
                error_message=error_message,
                agent=agent,
                tool=tool,
                model=model,
                impact=impact,
                user_facing=user_facing,
                customer_reported=customer_reported,
            )
        if idempotency_key is not None:
            data = IncidentCreate.model_validate({**data.model_dump(), "idempotency_key": idempotency_key})
        result = _service().capture_incident(data)
    if not emit(result, as_json):
        from server.view import show_capture

        show_capture(out, result)


@app.command()
def classify(
    title: str,
    description: str = "",
    error_type: str | None = None,
    error_message: str | None = None,
    tool: str | None = None,
    impact: Annotated[str | None, typer.Option(help="who or what was affected, how much, how long")] = None,
    environment: str | None = None,
    user_facing: bool = False,
    customer_reported: bool = False,
) -> None:
    """Dry run: print category, severity and triage as JSON; stores nothing."""
    with user_errors():
        data = IncidentCreate(
            title=title,
            description=description,
            error_type=error_type,
            error_message=error_message,
            tool=tool,
            impact=impact,
            environment=environment,
            user_facing=user_facing,
            customer_reported=customer_reported,
        )
        result = _service().classify_incident(data)
    emit(result, True)


@app.command("import")
def import_(
    path: Path,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="validate and count what would be imported; store nothing")
    ] = False,
    report: Annotated[
        Path | None, typer.Option(help="write a JSON report here: counts and every invalid line with its reason")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Bulk-import past incidents from a JSONL file (one incident per line), or restore a `postmortem export`
    into an empty home, exactly. Nothing is imported unless every line is valid."""
    from server import backup

    with user_errors():
        if backup.is_export(path):
            incidents = backup.read_export(path)
            if dry_run:
                if not emit({"would_restore": len(incidents), "dry_run": True}, as_json):
                    out.print(f"would restore {len(incidents)} incidents into an empty home; nothing was written")
                return
            restored = backup.restore(_service(), incidents)
            if not emit({"restored": restored}, as_json):
                out.print(f"restored {restored} incidents")
            return
        result = _import_jsonl(path, dry_run=dry_run, report=report)
    if result.dry_run:
        if not emit(result, as_json):
            out.print(
                f"{path.name}: {result.valid} valid lines; would import {result.would_import} incidents "
                f"({result.duplicates} duplicates would be skipped); nothing was written"
            )
        return
    if not emit(result, as_json):
        out.print(f"imported {result.imported} incidents ({result.skipped_duplicates} duplicates skipped)")


def _import_jsonl(path: Path, *, dry_run: bool, report: Path | None) -> "ImportReport":
    from server.jsonl import ImportFileError, ImportReport, count_duplicates, problems_error, validate_incidents

    rows, problems, lines = validate_incidents(path)
    result = ImportReport(
        file=path.name, dry_run=dry_run, lines=lines, valid=len(rows), invalid=len(problems), problems=problems
    )
    if problems:
        if report is not None:
            report.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        hint = f"\nevery invalid line is listed in {report}" if report else "\n--report FILE lists every invalid line"
        raise ImportFileError(problems_error(path, problems, hint=hint))
    if dry_run:
        duplicates = count_duplicates(rows, _stored_hashes(Settings.from_env()))
        result = result.model_copy(update={"duplicates": duplicates, "would_import": len(rows) - duplicates})
    else:
        service = _service()
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("importing", total=len(rows))
            done = service.import_incidents(rows, progress=lambda n: progress.advance(task, n))
        counts = {"imported": done.imported, "skipped_duplicates": done.skipped_duplicates, "ids": done.ids[:1000]}
        result = result.model_copy(update=counts)
    if report is not None:
        report.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


def _stored_hashes(settings: Settings) -> Callable[[list[str]], set[str]]:
    """Which content hashes are stored, read from the database alone (no index, no model, no migration, no
    write); a home without a database has none."""
    from store import db
    from store.records import IncidentStore

    if settings.database_url is None and not (settings.store_home / "postmortem.db").is_file():
        return lambda hashes: set()
    store = IncidentStore(db.make_engine(settings.database_url or db.sqlite_url(settings.store_home)))
    return store.existing_hashes


@app.command()
def export(output: Annotated[Path | None, typer.Option("-o", "--output")] = None) -> None:
    """Write a consistent snapshot of every incident as JSONL (to stdout, or a file); `import` restores it."""
    from server import backup

    with user_errors():
        lines = backup.export_lines(_service())
        if output is None:
            for line in lines:
                sys.stdout.write(line + "\n")
            return
        count = 0
        with output.open("w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line + "\n")
                count += 1
        err.print(f"exported {count} incidents to {output}")


@app.command()
def search(
    query: str,
    limit: int = 5,
    category: str | None = None,
    severity: str | None = None,
    status: str | None = None,
    agent: str | None = None,
    tool: str | None = None,
    model: str | None = None,
    since: Annotated[datetime | None, typer.Option(help="created at or after (ISO date)")] = None,
    until: Annotated[datetime | None, typer.Option(help="created at or before (ISO date)")] = None,
    mode: Annotated[str, typer.Option(help="hybrid, dense or lexical")] = "hybrid",
    as_json: JsonOpt = False,
) -> None:
    """Find past incidents similar to a description or error message (hybrid: meaning and exact words)."""
    with user_errors():
        if mode not in ("hybrid", "dense", "lexical"):
            raise ValueError("--mode must be hybrid, dense or lexical")
        filters = {
            "category": category,
            "severity": severity,
            "status": status,
            "agent": agent,
            "tool": tool,
            "model": model,
            "since": _aware(since),
            "until": _aware(until),
        }
        result = _service().search_incidents(query=query, limit=max(1, min(limit, 50)), mode=mode, **filters)
    if not emit(result, as_json):
        from server.view import similar_table

        out.print(similar_table(result.hits))


@app.command("list")
def list_(limit: int = 20, status: str | None = None, as_json: JsonOpt = False) -> None:
    """List incidents, newest first."""
    with user_errors():
        result = _service().list_incidents(limit=max(1, min(limit, 200)), status=status)
    if not emit(result, as_json):
        table = Table("id", "created", "severity", "category", "status", "title")
        for i in result.incidents:
            table.add_row(i.id, f"{i.created_at:%Y-%m-%d}", i.severity, i.category, i.status, i.title)
        out.print(table)


@app.command()
def show(incident_id: str, as_json: JsonOpt = False) -> None:
    """Show one incident."""
    with user_errors():
        incident = _service().get_incident(incident_id)
    if not emit(incident, as_json):
        out.print_json(incident.model_dump_json())


@app.command()
def draft(
    incident_id: str,
    track: Annotated[bool, typer.Option(help="also track the proposed action items")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Draft the 5 whys, root cause and action items with the configured LLM."""
    with user_errors():
        service = _service()
        analysis = service.draft_analysis(incident_id)
        if track:
            service.add_drafted_action_items(incident_id)
    if not emit(analysis, as_json):
        from server.view import show_analysis

        show_analysis(out, analysis)


@app.command()
def report(
    incident_id: str,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    kind: Annotated[str, typer.Option(help="full, review (lightweight) or auto (follow the triage)")] = "full",
) -> None:
    """Render the post-mortem (or the lightweight review) as Markdown, to stdout or to a file."""
    with user_errors():
        if kind not in ("full", "review", "auto"):
            raise ValueError("--kind must be full, review or auto")
        text = _service().render_report(incident_id, kind=kind)
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
            err.print(f"wrote {output}")


@app.command()
def stats(as_json: JsonOpt = False) -> None:
    """Counts by category, severity and status; action items; index health."""
    with user_errors():
        result = _service().knowledge_stats()
    if not emit(result, as_json):
        out.print_json(result.model_dump_json())


@app.command()
def check(
    repair: Annotated[bool, typer.Option(help="rebuild a broken or incomplete index from the records")] = False,
) -> None:
    """Check the database (integrity) and the vector index (probed in a child process); JSON on stdout, exit 1
    when something is wrong and was not repaired. Repair while no server uses the data directory."""
    from server.health import check as run_check

    with user_errors():
        report = run_check(Settings.from_env(), repair=repair)
    emit(report, True)
    if not report.healthy:
        raise typer.Exit(1)


@app.command()
def reindex() -> None:
    """Rebuild the vector index from the vectors stored with the records."""
    with user_errors():
        n = _service().reindex()
    err.print(f"reindexed {n} incidents")


@app.command()
def demo(
    home: Annotated[Path | None, typer.Option(help="data directory; default: a new temporary one")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="report file")] = None,
) -> None:
    """Run the whole loop on a seed knowledge base: capture, classify, find similar, draft, report."""
    from server.demo import run_demo

    with user_errors():
        run_demo(out, home=home, output=output)


app.add_typer(bench, name="bench")
app.add_typer(token_app, name="token")
app.command("eval")(eval_command)
for _command in cli_loop.COMMANDS:
    app.command()(_command)
for _ingest in cli_ingest.COMMANDS:
    app.command()(_ingest)
app.command()(cli_home.init)
for _step_command in cli_steps.COMMANDS:
    app.command()(_step_command)


@app.command("verify-fix")
def verify_fix_(
    before_failures: int,
    before_trials: int,
    after_failures: int,
    after_trials: int,
    target: float = 0.01,
    confidence: float = 0.95,
    deterministic: bool = False,
) -> None:
    """Did the fix work? Failure counts before and after -> rates, Fisher test, verdict, trials still needed."""
    from server.verify import verify_fix

    with user_errors():
        emit(
            verify_fix(
                before_failures,
                before_trials,
                after_failures,
                after_trials,
                target,
                confidence,
                deterministic=deterministic,
            ),
            True,
        )


@app.command("check-blameless")
def check_blameless_(text: str) -> None:
    """Flag blaming language in TEXT (JSON with spans and suggested rewrites)."""
    from server.blameless import check_blameless

    with user_errors():
        emit(check_blameless(text), True)


@app.command()
def patterns(min_size: int = 3, as_json: JsonOpt = False) -> None:
    """Recurring patterns: groups of incidents that are the same failure, with their open action items."""
    with user_errors():
        result = _service().recurring_patterns(min_size=max(2, min(min_size, 100)))
    if not emit(result, as_json):
        table = Table("id", "size", "last seen", "open items", "label", "incidents", title="Recurring patterns")
        for p in result.patterns:
            table.add_row(
                p.id,
                str(p.size),
                f"{p.last_seen:%Y-%m-%d}",
                str(len(p.open_action_items)),
                p.label,
                ", ".join(p.incident_ids[:8]),
            )
        out.print(table)


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("POSTMORTEM_LOG_LEVEL", "WARNING").upper(),
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
