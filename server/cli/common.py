"""What every `postmortem` command shares: the exit codes and the one place that maps errors to them, the service a
command that stores works on, and the progress shown on stderr; the checked options are cli/options.py's, and how a
command reads or changes records without creating a home is cli/access.py's.

Exit codes: 0 done; 1 a failure of the system (a draft that ran out of time included), or a check that found
something (`check`, `check-blameless`, `eval --baseline`, `bench load`); 2 bad input, an unknown id, or a setting
that does not allow what was asked (no model configured to draft); 130 interrupted; 141 the reader of stdout went away
(`postmortem export | head`), quietly, as for `cat`.
"""

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from agent_postmortem.cli.options import (
    ACTION_STATUSES,
    CATEGORIES,
    PRIORITIES,
    SEVERITIES,
    STATUSES,
    ItemLimit,
    Limit,
    ListLimit,
    MinSize,
    Offset,
    Output,
    bounded,
    choice,
    more_note,
    one_of,
    output,
)
from agent_postmortem.cli.output import JsonOpt, emit, err, line, out
from agent_postmortem.errors import (
    ActionItemNotFound,
    DraftError,
    DraftTimeout,
    IncidentNotFound,
    IndexBusy,
    InvalidId,
    LLMFailed,
    PostmortemError,
    StoreError,
    is_storage_failure,
    storage_failure,
)

if TYPE_CHECKING:
    from pydantic import ValidationError

    from agent_postmortem.config import Settings
    from agent_postmortem.service.facade import PostmortemService

__all__ = [  # the options' home is cli/options.py
    "ACTION_STATUSES",
    "CATEGORIES",
    "PRIORITIES",
    "SEVERITIES",
    "STATUSES",
    "ItemLimit",
    "JsonOpt",
    "Limit",
    "ListLimit",
    "MinSize",
    "Offset",
    "Output",
    "bounded",
    "choice",
    "emit",
    "err",
    "more_note",
    "one_of",
    "out",
    "output",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")

FAILED, BAD_INPUT, INTERRUPTED, CLOSED_PIPE = 1, 2, 130, 141


@contextmanager
def user_errors(options: Mapping[str, str] | None = None) -> Iterator[None]:
    """Map errors to one clear line on stderr and an exit code (2: fix the input; 1: the system); no traceback.
    `options` names a validated field by the option that gave it (`{"due_at": "--due"}`), so the line says what
    to change on the command line, not the model's field."""
    try:
        yield
    except (IncidentNotFound, ActionItemNotFound) as e:  # `postmortem list` lists incidents, not items
        fail(BAD_INPUT, f"{e}. List them with `postmortem {'list' if isinstance(e, IncidentNotFound) else 'actions'}`.")
    except (DraftTimeout, DraftError, LLMFailed) as e:  # the model ran out of time, failed or answered no analysis
        fail(FAILED, str(e))
    except IndexBusy as e:  # a server runs on this home: it keeps the index, and only it can rebuild it
        fail(FAILED, f"{e}: stop the server on this home and run this again")
    except (InvalidId, PostmortemError, StoreError, ValueError) as e:
        fail(BAD_INPUT, _input_problem(e, options))
    except BrokenPipeError:
        raise  # the reader went away: the root command ends quietly (server/cli/app.py)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, FileExistsError) as e:  # a path given wrong
        fail(BAD_INPUT, _wrong_path(e))
    except OSError as e:
        fail(FAILED, f"{e.strerror or e.__class__.__name__}: {e.filename or ''}")
    except Exception as e:
        if not is_storage_failure(e):
            raise
        fail(FAILED, storage_failure(e))


def _input_problem(e: Exception, options: Mapping[str, str] | None) -> str:
    from pydantic import ValidationError

    if isinstance(e, ValidationError):
        return validation_text(e, options)
    if isinstance(e, InvalidId) and e.pattern:  # the store says what it is; here, where its incidents are
        return f"{e}; its incidents: `postmortem runbook {e.pattern}`"
    return str(e)


def _wrong_path(e: OSError) -> str:
    if isinstance(e, FileExistsError):  # a directory to write in (eval --out) named a file: "File exists", exit 1
        return f"{e.filename} is a file: give a directory to write in, or a new name"
    return f"{e.strerror or e.__class__.__name__}: {e.filename or ''}"


def fail(code: int, message: str) -> NoReturn:
    """One line on stderr, then the exit code."""
    err.print(line("error: ", message))
    raise typer.Exit(code) from None


def validation_text(e: "ValidationError", options: Mapping[str, str] | None = None) -> str:
    from agent_postmortem.errors import validation_problems

    return "invalid input: " + validation_problems(e, names=options)


def settings() -> "Settings":
    from agent_postmortem.config import Settings

    with user_errors():
        return Settings.from_env()


def service() -> "PostmortemService":
    """The service on the home, created (with its database) if it does not exist: for commands that store."""
    from agent_postmortem.service.runtime import build_service

    return closed_at_end(build_service(settings()))


def closed_at_end(built: "PostmortemService") -> "PostmortemService":
    """`built`, closed when the command running now ends (`closing_what_it_builds`): its hold on the vector index
    and its database connections are released then, however the command ends. Outside a command the caller closes
    it."""
    if _BUILT:
        _BUILT[-1].append(built)
    return built


_BUILT: list[list["PostmortemService"]] = []  # what each command running now built, innermost last


@contextmanager
def closing_what_it_builds() -> Iterator[None]:
    """Around a command (server/cli/app.py): the services it built are closed when it ends. A command run in a
    process that goes on (a test, a plugin's caller) left them to the garbage collector, which frees one held in a
    reference cycle only at its next collection: until then it kept the index's lock, and the next command there that
    needed the index was refused as beside another owner."""
    built: list[PostmortemService] = []
    _BUILT.append(built)
    try:
        yield
    finally:
        _BUILT.pop()
        for service in reversed(built):
            service.close()


@contextmanager
def stage_status(what: str) -> Iterator[Callable[[int, int, str], None]]:
    """A spinner on stderr showing `what`, then each stage `(step, of, stage)` it is told; nothing when stderr is not
    a terminal (a script's log gets no spinner frames)."""
    if not err.is_terminal:
        yield lambda step, of, stage: None
        return
    from rich.text import Text

    with err.status(Text(what)) as status:
        yield lambda step, of, stage: status.update(Text(f"{what}: {stage} ({step}/{of})"))


@contextmanager
def stage_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback `(stage, done, total)` drawing one bar per stage on stderr."""
    from rich.progress import Progress

    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:  # a log got a blank line
        tasks: dict[str, Any] = {}

        def show(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done)

        yield show
