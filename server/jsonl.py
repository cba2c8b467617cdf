"""Reading incidents from JSONL: every line is validated before anything is stored."""

import json
from pathlib import Path

from pydantic import ValidationError

from store.models import SeedIncident

MAX_LINE_BYTES = 1_000_000


class ImportFileError(ValueError):
    """Some lines are invalid; nothing was imported. The message lists the first problems by line number."""


def read_incidents(path: Path, *, max_errors: int = 20) -> list[SeedIncident]:
    rows: list[SeedIncident] = []
    problems: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if len(line.encode("utf-8")) > MAX_LINE_BYTES:
                problems.append(f"line {number}: longer than {MAX_LINE_BYTES} bytes")
                continue
            try:
                rows.append(SeedIncident.model_validate(json.loads(line)))
            except json.JSONDecodeError as e:
                problems.append(f"line {number}: not JSON ({e.msg} at column {e.colno})")
            except ValidationError as e:
                fields = ", ".join(
                    f"{'.'.join(str(p) for p in x['loc'])}: {x['msg']}"
                    for x in e.errors(include_input=False, include_url=False)[:3]
                )
                problems.append(f"line {number}: {fields}")
    if problems:
        shown = "\n  ".join(problems[:max_errors])
        raise ImportFileError(f"{len(problems)} invalid line(s) in {path.name}; nothing was imported:\n  {shown}")
    return rows
