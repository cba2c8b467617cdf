"""Failed multi-agent runs from step logs (JSONL) into incidents: every line is validated before anything is used,
each failed run is attributed (`analysis.steps`), then captured through the normal path (redaction,
classification) with its steps as the timeline, under an idempotency key so that importing a file again stores
only what is missing.
"""

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from pydantic import BaseModel, Field, ValidationError

from agent_postmortem.analysis.steps import Attributor, StepRun, attribute, excerpt
from agent_postmortem.errors import validation_problems
from agent_postmortem.ingest.json_input import JsonInputError, loads
from agent_postmortem.ingest.jsonfile import STDIN, cut_short, display_name, empty, numbered_lines
from agent_postmortem.llm.base import LLM
from agent_postmortem.store.models import Attribution, IncidentCreate, TimelineEventCreate
from agent_postmortem.store.redact import fit, redact_model

MAX_LINE_BYTES = 5_000_000  # a long web-browsing run with page dumps is a few hundred KB
SPOOL_BYTES = 8_000_000  # standard input held in memory up to this, then in a temporary file


class StepFileError(ValueError):
    """Some lines are invalid; nothing was imported. The message lists the problems by line number."""


def line_problem(number: int, error: Exception) -> str:
    if isinstance(error, JsonInputError):
        return f"line {number}: {error}"
    if isinstance(error, ValidationError):
        return f"line {number}: {validation_problems(error, limit=3)}"
    return f"line {number}: {error}"


def read_runs(path: Path, *, max_errors: int = 20) -> list[StepRun]:
    """Every line validated before anything is used; StepFileError lists the first `max_errors` problems. `-` reads
    standard input, held in a temporary file (on disk past a few MB) since a pretty-printed document is read again
    whole; it answered "No such file or directory: -" where `import-traces -` read it."""
    with _seekable(path) as handle:
        return _read_runs(handle, display_name(path), max_errors)


@contextlib.contextmanager
def _seekable(path: Path) -> Iterator[BinaryIO]:
    if str(path) != STDIN:
        with path.open("rb") as handle:
            yield handle
        return
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        shutil.copyfileobj(sys.stdin.buffer, spool)
        spool.seek(0)
        yield cast(BinaryIO, spool)


def _read_runs(handle: BinaryIO, name: str, max_errors: int) -> list[StepRun]:
    runs: list[StepRun] = []
    problems: list[str] = []
    for number, line in numbered_lines(handle, name, max_bytes=MAX_LINE_BYTES):
        if line is None:  # read past, never held whole
            problems.append(f"line {number}: longer than {MAX_LINE_BYTES} bytes")
            continue
        if not line.strip():
            continue
        try:
            document = loads(line)
        except JsonInputError as e:
            if not runs and not problems and (whole := _whole_file(handle)) is not None:
                return _runs_of_document(whole, name)
            problems.append(line_problem(number, e) + cut_short(line, number, "import-steps"))
            continue
        try:
            runs.append(as_run(document))
        except ValidationError as e:
            problems.append(line_problem(number, e))
    if problems:
        shown = "\n  ".join(problems[:max_errors])
        more = f"\n  … and {len(problems) - max_errors} more" if len(problems) > max_errors else ""
        raise StepFileError(f"{len(problems)} invalid line(s) in {name}; nothing was imported:\n  {shown}{more}")
    if not runs:
        raise StepFileError(empty(name, "one run per line, each a JSON object"))
    return runs


RUN_IDS = ("id", "question_ID", "question_id", "subset")  # names exporters may write as numbers
STEP_IDS = ("agent", "name", "role")


def as_run(document: Any) -> StepRun:
    """One run validated (ValidationError when it is not one), in the shapes exporters write: a Who&When run, and a
    number where a name is text (`"id": 123`, `"agent": 2`), read as its text ("123"); it was refused, "Input should
    be a valid string"."""
    run = _ids_as_text(who_and_when(document), RUN_IDS)
    if isinstance(run, dict) and isinstance(steps := run.get("steps", run.get("trace")), list):
        key = "steps" if "steps" in run else "trace"
        run = {**run, key: [_ids_as_text(step, STEP_IDS) for step in steps]}
    return StepRun.model_validate(run)


def _ids_as_text(document: Any, names: Sequence[str]) -> Any:
    if not isinstance(document, dict):
        return document
    numbers = {k: str(document[k]) for k in names if type(document.get(k)) is int}  # not a bool, not a float
    return {**document, **numbers} if numbers else document


def who_and_when(document: Any) -> Any:
    """A run as the Who&When dataset publishes it (`history`, `question_ID`, `question`, `is_correct`) in the shape
    read here; `import-traces` sends such a file here, and it was refused ("id: Field required; steps: Field
    required"). Anything else is returned as it is."""
    if not isinstance(document, dict) or "history" not in document or {"steps", "trace"} & document.keys():
        return document
    run = {"steps": document["history"], **document}
    for key, source in (("id", "question_ID"), ("id", "question_id"), ("task", "question")):
        if key not in run and source in document:
            run[key] = document[source]
    if "final_answer_correct" not in run and isinstance(document.get("is_correct"), bool):
        run["final_answer_correct"] = document["is_correct"]
    return run


def _whole_file(handle: BinaryIO) -> Any:
    """The file as one JSON document over several lines (a run per pretty-printed file, as Who&When publishes
    them), when it is one and no larger than a line may be; else None. The file is read again from its start."""
    try:
        if handle.seek(0, os.SEEK_END) > MAX_LINE_BYTES:
            return None
        handle.seek(0)
        return loads(handle.read().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, JsonInputError):
        return None


def _runs_of_document(document: Any, name: str) -> list[StepRun]:
    """The runs of a one-document file: an object is one run, an array holds runs."""
    items = document if isinstance(document, list) else [document]
    runs: list[StepRun] = []
    problems: list[str] = []
    for number, item in enumerate(items, start=1):
        try:
            runs.append(as_run(item))
        except ValidationError as e:
            where = f"run {number}" if isinstance(document, list) else "the run"
            problems.append(f"{where}: {validation_problems(e, limit=3)}")
    if problems:
        raise StepFileError(f"{name} is one JSON document; nothing was imported:\n  " + "\n  ".join(problems[:20]))
    if not runs:
        raise StepFileError(f"{name} holds no runs")
    return runs


class RunImport(BaseModel):
    run_id: str
    incident_id: str | None = Field(description="null in a dry run")
    already_imported: bool = False
    attribution: Attribution


class StepImportResult(BaseModel):
    runs: int = Field(description="runs in the file")
    imported: int = Field(description="new incidents (0 in a dry run)")
    already_imported: int = Field(description="runs imported before (same steps): not stored again")
    skipped_successful: int = Field(description="runs marked as successful: not incidents")
    dry_run: bool
    results: list[RunImport]


class Capturer(Protocol):
    def capture_incident(
        self,
        data: IncidentCreate,
        *,
        history: Sequence[TimelineEventCreate] = (),
        attribution: Attribution | None = None,
    ) -> Any: ...


def run_key(run: StepRun) -> str:
    """The same run (same id and steps) imported twice is stored once."""
    steps = [[run.number(s), s.who, s.content] for s in run.steps]
    digest = hashlib.sha256(json.dumps([run.id, steps], ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"steps-{digest[:40]}"


def run_incident(run: StepRun, attribution: Attribution) -> tuple[IncidentCreate, list[TimelineEventCreate]]:
    label = run.title or excerpt(run.task or "", limit=120) or run.id
    description = (
        f"Task given to the agents: {excerpt(run.task or run.title or 'not given', limit=3000)}\n"
        f"The run failed. Agents: {', '.join(run.agents)[:1000]}. Its {len(run.steps)} steps are in the timeline.\n"
        f"Attributed ({attribution.method}) to {attribution.responsible} at step {attribution.decisive_step}: "
        f"{attribution.reason}"
    )
    data = IncidentCreate(
        title=f"Multi-agent run failed: {label}"[:200],
        description=description,
        agent=attribution.responsible,
        source_id=run.id,
        determinism="probabilistic",
        idempotency_key=run_key(run),
    )
    events = [
        TimelineEventCreate(kind="note", description=fit(f"step {run.number(s)} [{s.who}]: {s.content}", 2_000))
        for s in run.steps
    ]
    events.append(
        TimelineEventCreate(
            kind="note",
            description=(
                f"Attribution ({attribution.method}): {attribution.responsible} at step {attribution.decisive_step}. "
                f"{attribution.reason} Evidence: “{attribution.evidence}”"
                + (f" ({attribution.fallback})" if attribution.fallback else "")
            )[:2000],
        )
    )
    return data, events


def import_runs(
    runs: Sequence[StepRun],
    *,
    method: Attributor = "heuristic",
    llm: LLM | None = None,
    service: Capturer | None = None,
    nonce: Callable[[], str] = lambda: "0",
    progress: Callable[[int], None] = lambda n: None,
) -> StepImportResult:
    """Attribute every failed run, then capture each (nothing in a dry run: `service=None`). Every attribution is
    computed before anything is stored, so a slow or failing LLM stores nothing; each run is stored in one
    transaction under an idempotency key, so importing the file again (after an interruption) adds only the
    runs that are missing."""
    failed = [r for r in runs if r.is_failure]
    attributed = []
    for run in failed:
        attributed.append((run, attribute(run, method, llm=llm, nonce=nonce())))
        progress(1)
    results: list[RunImport] = []
    for run, found in attributed:
        incident_id, replayed = None, False
        if service is not None:
            data, events = run_incident(run, found)
            captured = service.capture_incident(data, history=events, attribution=found)
            incident_id, replayed = captured.id, bool(captured.replayed)
        result = RunImport(run_id=run.id, incident_id=incident_id, already_imported=replayed, attribution=found)
        results.append(redact_model(result)[0])  # as stored: a run id or agent name can hold a secret
    known = sum(r.already_imported for r in results)
    return StepImportResult(
        runs=len(runs),
        imported=0 if service is None else len(results) - known,
        already_imported=known,
        skipped_successful=len(runs) - len(failed),
        dry_run=service is None,
        results=results,
    )
