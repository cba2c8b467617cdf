"""Reading incidents from JSONL: every line is validated before anything is stored.

`validate_incidents` returns the valid rows and every problem by line number (for `import --report` and
`--dry-run`); `read_incidents` raises on the first problems, so that nothing is imported from a bad file.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agent_postmortem.analysis.wording import counted
from agent_postmortem.errors import validation_problems
from agent_postmortem.ingest.json_input import JsonInputError, loads
from agent_postmortem.ingest.jsonfile import cut_short, empty, lines
from agent_postmortem.ingest.otlp import has_spans
from agent_postmortem.service.incidents import CLOCK_SKEW
from agent_postmortem.store.models import SeedIncident, search_text
from agent_postmortem.store.records.rows import content_hash
from agent_postmortem.store.redact import redact_model

MAX_LINE_BYTES = 1_000_000


class ImportFileError(ValueError):
    """Some lines are invalid; nothing was imported. The message lists the first problems by line number."""


class LineProblem(BaseModel):
    line: int
    reason: str = Field(description="what is wrong (field names and messages; the rejected value is never echoed)")


class ImportReport(BaseModel):
    """What an import did, or would do (`dry_run`), and every invalid line."""

    file: str
    dry_run: bool
    lines: int = Field(description="non-empty lines")
    valid: int
    invalid: int
    problems: list[LineProblem]
    would_import: int | None = Field(default=None, description="dry run: new incidents")
    duplicates: int | None = Field(
        default=None, description="dry run: rows that would be skipped as exact duplicates (of a stored incident or "
        "of an earlier line)"
    )  # fmt: skip
    imported: int | None = None
    skipped_duplicates: int | None = None
    ids: list[str] = Field(default_factory=list, description="the new incidents' ids (the first 1000)")


# A line of another format (an AIID or a tracker export) is told by the keys it has that the format has not: named
# on each line, what they are said once per file (a sentence repeated on every line of a tracker export buried the
# other problems).
UNKNOWN_FIELDS = "unknown fields"


def _problem(e: Exception) -> str:
    if isinstance(e, JsonInputError):
        return str(e)
    assert isinstance(e, ValidationError)
    return validation_problems(e, limit=3, unknown_keys=UNKNOWN_FIELDS)


def unknown_fields_note(problems: Sequence[LineProblem], shown: int = 10) -> str:
    """What the unknown fields of the refused lines are, and where the format is, in one sentence with the lines that
    have them; "" when none has."""
    numbers = [str(p.line) for p in problems if p.reason.startswith(f"{UNKNOWN_FIELDS}: ")]
    if not numbers:
        return ""
    listed = ", ".join(numbers[:shown]) + (f" and {len(numbers) - shown} more" if len(numbers) > shown else "")
    return (
        f"{counted(len(numbers), 'line')} ({listed}) {'has' if len(numbers) == 1 else 'have'} unknown fields: fields "
        "the import format does not have, as in a file of another tool's export; the format's fields are in "
        "docs/cli.md#the-jsonl-import-format"
    )


# What another write-up's keys are called in the import format: a postmortem's `text` and top-level `root_cause` were
# refused as "not fields of the import format", which did not say where they go.
ELSEWHERE = {
    "text": "description",
    "summary": "description",
    "body": "description",
    "root_cause": "analysis.root_cause",
    "contributing_factors": "analysis.contributing_factors",
    "whys": "analysis.whys",
}


def _where_they_go(data: object) -> str:
    """The import format's names for the keys of a line in another format, and an action item given as a string."""
    if not isinstance(data, dict):
        return ""
    if has_spans(data):  # `{"resourceSpans": ...}`: refused as unknown fields, not saying which command reads it
        return " (this is OTLP/JSON trace data: import it with `postmortem import-traces`)"
    moves = [f"{key} as {where}" for key, where in ELSEWHERE.items() if key in data and where not in data]
    items = data.get("action_items")
    if isinstance(items, list) and any(isinstance(item, str) for item in items):
        moves.append('each action item as {"title": ...}')
    return f" (give {'; '.join(moves)})" if moves else ""


ARRAY = (
    "the file is a JSON array; the import format is one incident per line, each a JSON object: convert it with "
    "`jq -c '.[]' FILE > incidents.jsonl` and import that"
)


def validate_incidents(
    path: Path, *, prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> tuple[list[SeedIncident], list[LineProblem], int]:
    """The valid rows, every problem by line number, and the number of non-empty lines (a file with none is
    refused). `prepare`: what a line's fields become before they are validated (as `read_model`'s)."""
    rows: list[SeedIncident] = []
    problems: list[LineProblem] = []
    count, now = 0, datetime.now(UTC)
    for number, line in lines(path, max_bytes=MAX_LINE_BYTES):
        count += 1
        if line is None:  # read past, never held whole
            problems.append(LineProblem(line=number, reason=f"longer than {MAX_LINE_BYTES} bytes"))
            continue
        if number == 1 and line.lstrip().startswith("["):  # json.dump(incidents, f): the rest is the same array
            problems.append(LineProblem(line=number, reason=ARRAY))
            break
        data: object = None
        try:
            data = loads(line)
            row = SeedIncident.model_validate(prepare(data) if prepare and isinstance(data, dict) else data)
        except (JsonInputError, ValidationError) as e:
            cut = cut_short(line, number, "import") if isinstance(e, JsonInputError) else ""
            problems.append(LineProblem(line=number, reason=_problem(e) + _where_they_go(data) + cut))
            continue
        if late := in_the_future(row, now):
            problems.append(LineProblem(line=number, reason=f"{late} is in the future: give when it happened"))
        else:
            rows.append(row)
    if not count:
        raise ImportFileError(  # an export of an empty home is empty too: say so, a script can test for it
            empty(
                path.name,
                "one incident per line, each a JSON object (an export of a home with no incidents is "
                "empty: there is nothing in it to import)",
            )
        )
    return rows, problems, count


def in_the_future(row: SeedIncident, now: datetime) -> str | None:
    """The first time of a past incident later than now (beyond clock skew), as a capture refuses one: an item
    completed in 2099 made `effectiveness` count the days since its fix as negative, and an incident dated 2099
    sorts before everything for decades."""
    times = [
        ("created_at", row.created_at),
        ("resolved_at", row.resolved_at),
        *((f"timeline.{n}.at", e.at) for n, e in enumerate(row.timeline)),
        *((f"action_items.{n}.completed_at", a.completed_at) for n, a in enumerate(row.action_items)),
    ]
    return next((name for name, at in times if at is not None and at > now + CLOCK_SKEW), None)


def problems_error(path: Path, problems: Sequence[LineProblem], *, max_errors: int = 20, hint: str = "") -> str:
    shown = "\n  ".join(f"line {p.line}: {p.reason}" for p in problems[:max_errors])
    more = f"\n  … and {len(problems) - max_errors} more" if len(problems) > max_errors else ""
    note = f"\n{said}" if (said := unknown_fields_note(problems)) else ""
    return f"{len(problems)} invalid line(s) in {path.name}; nothing was imported:\n  {shown}{more}{note}{hint}"


def read_incidents(path: Path, *, max_errors: int = 20) -> list[SeedIncident]:
    rows, problems, _ = validate_incidents(path)
    if problems:
        raise ImportFileError(problems_error(path, problems, max_errors=max_errors))
    return rows


def count_duplicates(rows: Sequence[SeedIncident], existing: Callable[[list[str]], set[str]]) -> int:
    """How many rows an import would skip: the same content hash (of the redacted search text, as the import
    computes it) as a stored incident or an earlier row."""
    hashes = [content_hash(search_text(redact_model(r)[0])) for r in rows]
    known: set[str] = set()
    for start in range(0, len(hashes), 500):
        known |= existing(hashes[start : start + 500])
    seen: set[str] = set()
    duplicates = 0
    for h in hashes:
        duplicates += h in known or h in seen
        seen.add(h)
    return duplicates
