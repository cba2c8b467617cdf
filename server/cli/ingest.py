"""`postmortem` commands that move incidents in and out: JSONL import (and restoring an export), export, and
OpenTelemetry traces. Registered by server/cli/app.py from COMMANDS."""

import contextlib
import itertools
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from agent_postmortem.analysis.wording import counted
from agent_postmortem.cli.access import has_data, reading
from agent_postmortem.cli.common import BAD_INPUT, JsonOpt, Output, emit, err, out, service, settings, user_errors
from agent_postmortem.cli.output import line, write_json
from agent_postmortem.ingest.jsonfile import STDIN
from agent_postmortem.store.private import write_output

if TYPE_CHECKING:
    from agent_postmortem.config import Settings
    from agent_postmortem.ingest.jsonl import ImportReport
    from agent_postmortem.store.records.incidents import IncidentStore

T = TypeVar("T")


def import_(
    path: Annotated[Path, typer.Argument(help="the JSONL file or export; - reads standard input")],
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
    from agent_postmortem.errors import PostmortemError
    from agent_postmortem.ingest import backup

    with user_errors(), spooled(path) as path:
        if backup.is_export(path):
            notes: list[str] = []  # texts longer than new input takes: restored whole, and said
            incidents = backup.read_export(path, notes)
            if _stored_count(settings()):  # a home that holds incidents refuses a restore, and its dry run too
                raise PostmortemError(_not_empty(settings()))
            if dry_run:
                done: dict[str, Any] = {"would_restore": len(incidents), "dry_run": True}
                said = f"would restore {counted(len(incidents), 'incident')} into an empty home; nothing was written"
            else:
                done = {"restored": backup.restore(service(), incidents)}
                said = f"restored {counted(done['restored'], 'incident')}"
            _say_kept_whole(notes, done)
            if report is not None:  # asked for, it was not written for a backup
                report.write_text(json.dumps(done, indent=2), encoding="utf-8")
            if not emit(done, as_json):
                out.print(said)
            return
        result = _import_jsonl(path, dry_run=dry_run, report=report)
    if emit(result, as_json):
        return
    if result.dry_run:
        out.print(
            line(
                f"{path.name}: {counted(result.valid, 'valid line')}; "
                f"would import {counted(result.would_import or 0, 'incident')} "
                f"({counted(result.duplicates or 0, 'duplicate')} would be skipped); nothing was written"
            )
        )
        return
    out.print(
        f"imported {counted(result.imported or 0, 'incident')} "
        f"({counted(result.skipped_duplicates or 0, 'duplicate')} skipped)"
    )


@contextlib.contextmanager
def spooled(path: Path) -> Iterator[Path]:
    """The file to import; for `-`, standard input copied to a file named stdin (an import reads its file twice:
    whether it is a backup, then its lines), removed afterwards."""
    if str(path) != STDIN:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="postmortem-import-") as folder:
        copy = Path(folder) / "stdin"
        with copy.open("wb") as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        yield copy


def _import_jsonl(path: Path, *, dry_run: bool, report: Path | None) -> "ImportReport":
    from rich.progress import Progress

    from agent_postmortem.ingest.jsonl import (
        ImportFileError,
        ImportReport,
        count_duplicates,
        problems_error,
        validate_incidents,
    )
    from agent_postmortem.sdk.incident import as_the_sdk_takes

    rows, problems, lines = validate_incidents(path, prepare=as_the_sdk_takes)  # a prompt as `capture --file` takes it
    result = ImportReport(
        file=path.name, dry_run=dry_run, lines=lines, valid=len(rows), invalid=len(problems), problems=problems
    )
    if problems:
        if report is not None:
            report.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        hint = f"\nevery invalid line is listed in {report}" if report else "\n--report FILE lists every invalid line"
        raise ImportFileError(problems_error(path, problems, hint=hint))
    if dry_run:
        duplicates = count_duplicates(rows, _stored_hashes(settings()))
        result = result.model_copy(update={"duplicates": duplicates, "would_import": len(rows) - duplicates})
    else:
        svc = service()
        with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:  # no blank line in a log
            task = progress.add_task("importing", total=len(rows))
            done = svc.import_incidents(rows, progress=lambda n: progress.advance(task, n))
        counts = {"imported": done.imported, "skipped_duplicates": done.skipped_duplicates, "ids": done.ids[:1000]}
        result = result.model_copy(update=counts)
    if report is not None:
        report.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


def _not_empty(chosen: "Settings") -> str:
    """Where to restore instead: on PostgreSQL or for a team, "point POSTMORTEM_HOME at a new directory" changed
    nothing (the records are in the database, or in the team's own directory)."""
    from agent_postmortem.ingest.backup import NOT_EMPTY

    if chosen.database_url is None and chosen.team == "default":
        return NOT_EMPTY
    whose = "this knowledge base" if chosen.team == "default" else f"team {chosen.team}'s knowledge base"
    where = "point POSTMORTEM_DATABASE_URL at a new database" if chosen.database_url else "use a new POSTMORTEM_HOME"
    other = ", or POSTMORTEM_TEAM at a team that has none" if chosen.tokens_file else ""
    return f"a backup is restored into an empty knowledge base, and {whose} holds incidents: {where}{other}"


def _stored_count(chosen: "Settings") -> int:
    """How many incidents the home holds, read from the database alone (nothing created or migrated)."""
    if not has_data(chosen):
        return 0
    return _read_records(chosen, lambda store: store.count(), nothing=0)


def _stored_hashes(chosen: "Settings") -> Callable[[list[str]], set[str]]:
    """Which content hashes are stored, read from the database alone (no index, no model, no migration, no
    write); a home without a database has none."""
    if not has_data(chosen):
        return lambda hashes: set()
    return lambda hashes: _read_records(chosen, lambda store: store.existing_hashes(hashes), nothing=set())


def _read_records(chosen: "Settings", read: Callable[["IncidentStore"], T], *, nothing: T) -> T:
    """`read` on the records of the chosen team alone: on PostgreSQL its schema (the default team's `public` was read
    for every team, so a dry run answered for another team's incidents); `nothing` for a team whose schema is not
    made yet (its first command makes it)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from agent_postmortem.store.records import db
    from agent_postmortem.store.records.incidents import IncidentStore

    url = db.team_url(chosen.database_url, chosen.team) if chosen.database_url else db.sqlite_url(chosen.store_home)
    engine = db.make_engine(url)
    try:
        return read(IncidentStore(engine))
    except (ProgrammingError, OperationalError) as e:  # no such table: the team's schema does not exist yet
        # SQLite says so as an OperationalError: a restore as the first command on a new sqlite:/// database failed
        if chosen.database_url is None or (isinstance(e, OperationalError) and "no such table" not in str(e.orig)):
            raise
        return nothing
    finally:
        engine.dispose()


def _say_kept_whole(notes: list[str], done: dict[str, Any]) -> None:
    """Name on stderr (and in `--json`/`--report`) each text restored longer than new input takes, by field."""
    if notes:
        done["kept_whole"] = notes
    for note in notes[:20]:
        err.print(f"note: {note}", markup=False)
    if len(notes) > 20:
        err.print(f"note: and {len(notes) - 20} more texts longer than new input takes", markup=False)


def export(output: Output = None) -> None:
    """Write a consistent snapshot of every incident as JSONL (to stdout, or a file); `import` restores it. The
    output is JSON already: there is no other view."""
    from agent_postmortem.ingest import backup

    unreadable: list[str] = []  # incidents damaged beyond repair: every other line is written, then exit 1
    with user_errors(), reading() as svc:
        lines = backup.export_lines(svc, unreadable)
        if output is None:
            for text in lines:
                write_json(text + "\n")
        else:
            _write_backup(output, lines)
    if unreadable:
        named = ", ".join(unreadable[:20])
        err.print(f"error: {len(unreadable)} incidents damaged beyond repair were left out: {named}", markup=False)
        raise typer.Exit(1)


def _write_backup(output: Path, lines: Iterator[str]) -> None:
    """Replace `output` only with a whole snapshot (a failed export leaves the old file as it was and nothing beside
    it), private to you, and never an earlier backup with nothing (a mistyped POSTMORTEM_HOME reads as an empty
    home). The lines go to a temporary file beside it as they are read, renamed over it once all are written: the
    backup is never held whole in memory."""
    first = next(lines, None)
    if first is None and output.is_file() and output.stat().st_size > 0:
        raise ValueError(f"this home holds no incidents: {output} was left as it was (is POSTMORTEM_HOME right?)")
    written = 0

    def counting() -> Iterator[str]:
        nonlocal written
        for text in itertools.chain([] if first is None else [first], lines):
            written += 1
            yield text + "\n"

    write_output(output, counting())
    err.print(f"exported {counted(written, 'incident')} to {output}", markup=False)


def import_traces(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="FILE", help="OTLP/JSON traces (one request, or one per line); several files"),
    ],
    dry_run: Annotated[bool, typer.Option(help="parse and show what would be captured; store nothing")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import OpenTelemetry GenAI traces: each trace with a failed span becomes an incident with the trace's spans
    as its timeline; the files given together are one import, so a trace paged over several of them is joined.
    Importing the same traces again stores nothing new."""
    from agent_postmortem.ingest.otlp import group_traces
    from agent_postmortem.ingest.otlp_file import read_files
    from agent_postmortem.ingest.traces import import_traces, plan_traces
    from agent_postmortem.store.models import utcnow
    from agent_postmortem.store.redact import redact

    with user_errors():
        traces = group_traces(read_files(paths))
        if dry_run:
            found, result = plan_traces(traces, now=utcnow())
            result.titles = [redact(f.incident.title) for f in found]  # as they would be stored
        else:
            result = import_traces(service(), traces)
    # the titles are known in a dry run only: outside one, `"titles": []` said that nothing had a title
    if not emit(result if dry_run else result.model_dump(mode="json", exclude={"titles"}), as_json):
        _show_traces(result, dry_run=dry_run)
    if result.refused:  # the other traces are stored; these need their sender's clock fixed
        said = f"error: {counted(result.refused, 'failed trace')} refused; the first: "
        err.print(line(said, result.refusal or ""))
        raise typer.Exit(BAD_INPUT)


def _show_traces(result: Any, *, dry_run: bool) -> None:
    out.print(f"{counted(result.traces, 'trace')}, {result.failed_traces} with a failure")
    if dry_run:
        for title in result.titles:
            out.print(line("  would capture: ", title))
        return
    out.print(
        f"{counted(result.created, 'incident')} created, {result.duplicates} already imported, "
        f"{result.occurrences} counted on an open incident, {counted(result.timeline_events, 'timeline event')}",
        soft_wrap=True,
    )
    ids = list(dict.fromkeys(result.incident_ids))
    if ids:
        more = f" and {len(ids) - 10} more (--json lists them all)" if len(ids) > 10 else ""
        out.print(line("ids: " + ", ".join(ids[:10]) + more), soft_wrap=True)
    if result.counted_on:
        more = f" and {len(result.counted_on) - 10} more (--json lists them all)" if len(result.counted_on) > 10 else ""
        out.print(line("counted on: " + ", ".join(result.counted_on[:10]) + more), soft_wrap=True)
    if result.unmatched:
        out.print(
            f"{counted(result.unmatched, 'trace')} without a failure and of no incident: nothing stored for "
            f"{'it' if result.unmatched == 1 else 'them'} (if "
            "a trace's failure is in another file, give every file of the export to one import-traces: its spans are "
            "joined within one import)",
            soft_wrap=True,
        )


COMMANDS: list[tuple[str, Any]] = [("import", import_), ("export", export), ("import-traces", import_traces)]
