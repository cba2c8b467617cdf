"""What every `postmortem` command shares: the consoles, JSON output, and one place that maps errors to exit codes."""

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import Progress

from server.errors import (
    ActionItemNotFound,
    IncidentNotFound,
    InvalidId,
    PostmortemError,
    StoreError,
    is_storage_failure,
    storage_failure,
)

out = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]


def service() -> Any:
    from server.config import Settings
    from server.runtime import build_service

    return build_service(Settings.from_env())


def emit(data: BaseModel | list[Any] | dict[str, Any], as_json: bool) -> bool:
    """Print JSON when asked; return True when done so the caller can skip its human rendering."""
    if as_json:
        text = data.model_dump_json(indent=2) if isinstance(data, BaseModel) else json.dumps(data, indent=2)
        sys.stdout.write(text + "\n")
    return as_json


@contextmanager
def user_errors() -> Iterator[None]:
    """Map errors to one clear line on stderr and an exit code (2: fix the input; 1: the system); no traceback."""
    try:
        yield
    except (IncidentNotFound, ActionItemNotFound) as e:
        err.print(f"error: {e}. List them with `postmortem list` or `postmortem actions`.")
        raise typer.Exit(2) from None
    except (InvalidId, PostmortemError, StoreError, ValueError) as e:
        text = validation_text(e) if isinstance(e, ValidationError) else str(e)
        err.print(f"error: {text}")
        raise typer.Exit(2) from None
    except OSError as e:
        err.print(f"error: {e.strerror or e.__class__.__name__}: {e.filename or ''}")
        raise typer.Exit(1) from None
    except Exception as e:
        if not is_storage_failure(e):
            raise
        err.print(f"error: {storage_failure(e)}")
        raise typer.Exit(1) from None


def validation_text(e: ValidationError) -> str:
    return "invalid input: " + "; ".join(
        f"{'.'.join(str(p) for p in x['loc'])}: {x['msg']}"
        for x in e.errors(include_input=False, include_url=False)[:10]
    )


@contextmanager
def stage_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback `(stage, done, total)` drawing one bar per stage on stderr."""
    with Progress(console=err, transient=True) as progress:
        tasks: dict[str, Any] = {}

        def show(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done)

        yield show
