"""`postmortem regress`: run the regression cases `learn` wrote against your agent, each decided by its pass rule
(sdk/regress.py). Exit 0 when no case failed, 1 when one failed or its runs did not show its rate or every case was
skipped (nothing ran), 2 for bad input (a path without cases, a file that is not one, an agent that cannot be
imported). Registered by server/cli/app.py from COMMANDS."""

import importlib
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent_postmortem.cli.common import FAILED, JsonOpt, bounded, emit, settings, user_errors
from agent_postmortem.cli.output import err, write
from agent_postmortem.sdk.run_limit import RUN_TIME_LIMIT

if TYPE_CHECKING:
    from agent_postmortem.analysis.regression import RegressionCase
    from agent_postmortem.analysis.regression_verdict import Status
    from agent_postmortem.llm.base import LLM

STATUSES: "tuple[Status, ...]" = ("passed", "failed", "not_shown", "skipped")


def regress(
    path: Annotated[
        Path, typer.Argument(help="the directory `learn --out` wrote (or its evals/), a regressions.jsonl or a case")
    ],
    agent: Annotated[
        str, typer.Option(help="the agent, as module:function, called function(input, **context) -> str | AgentReply")
    ],
    trials: Annotated[int | None, bounded(1, 100_000, help="runs per case instead of each case's own")] = None,
    time_limit: Annotated[
        float,
        typer.Option(
            min=0, help="seconds a run may take before it is stopped and fails (0: no limit); the case stops there"
        ),
    ] = RUN_TIME_LIMIT,
    as_json: JsonOpt = False,
) -> None:
    """Run regression cases against your agent, each as many times as it asks, and decide each by its pass rule.
    Checks are machine checks; rubrics are judged by the configured model (else "not checked", never passed). A case
    with a todo is skipped with it. Exit 0 when none failed, 1 when one failed or was not shown or every case was
    skipped, 2 for bad input."""
    from agent_postmortem.sdk.regress import load_cases, run_case

    results = []
    with user_errors():
        cases = load_cases(path)
        with _agent_output_to_stderr():  # a banner the agent's module prints on import, too
            function = load_agent(agent)
        judge, limit = _judge(cases)
        for case in cases:
            with _agent_output_to_stderr():  # what the agent prints stays off the report (and off --json)
                result = run_case(
                    case, function, trials=trials, judge=judge, judge_time_limit=limit, time_limit=time_limit or None
                )
            results.append(result)
            if not as_json:
                write(result.explain() + "\n")
    counts = Counter(r.status for r in results)
    summary: dict[str, int] = {status: counts[status] for status in STATUSES}
    if not emit({"cases": [r.model_dump(mode="json") for r in results], **summary}, as_json):
        write(", ".join(f"{n} {status.replace('_', ' ')}" for status, n in summary.items()) + "\n")
    if counts["skipped"] == len(results):  # nothing ran: no pass to report
        err.print(f"note: no case ran: {_all_skipped(len(results))}", markup=False)
    if counts["skipped"]:  # grouped by what they lack: 45 lines of one todo said less than one line of its count
        from agent_postmortem.analysis.regression_skips import skip_summary

        where = f"each case file in {path}" if path.is_dir() else str(path)
        err.print("\n".join(skip_summary(cases, where)), markup=False)
    if counts["failed"] or counts["not_shown"] or counts["skipped"] == len(results):
        raise typer.Exit(FAILED)


def _all_skipped(n: int) -> str:
    if n == 1:
        return "the 1 case was skipped; fill in what its todo says, then empty it"
    return f"all {n} cases were skipped; fill in what each todo says, then empty it"


@contextmanager
def _agent_output_to_stderr() -> Iterator[None]:
    """sys.stdout, and file descriptor 1 below it (a child process's output, a C extension's writes), sent to
    stderr; descriptor 1 only where stdout and stderr are real descriptors (not a test runner's buffers)."""
    with redirect_stdout(sys.stderr):
        try:
            out, errs = sys.__stdout__.fileno(), sys.__stderr__.fileno()  # type: ignore[union-attr]
        except (AttributeError, OSError, ValueError):
            yield
            return
        sys.__stdout__.flush()  # type: ignore[union-attr]
        kept = os.dup(out)
        os.dup2(errs, out)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(kept, out)
            os.close(kept)


def load_agent(spec: str) -> Callable[..., Any]:
    """The callable `module:function` names (`function` may be dotted: `module:Agent.run`), the module imported from
    the working directory as `python -m` would; ValueError saying what is wrong otherwise."""
    from agent_postmortem.store.redact import redact

    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ValueError(f"--agent {spec!r}: give it as module:function (e.g. my_agent:run)")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        found: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise ValueError(
                f"--agent {spec}: no module named {e.name!r} (run from the directory that holds it, or add that "
                "directory to PYTHONPATH)"
            ) from None
        raise ValueError(f"--agent {spec}: importing {module_name} failed: {redact(str(e))}") from None
    except Exception as e:  # noqa: BLE001 - the user's module failing on import is bad input, said in one line
        raise ValueError(
            f"--agent {spec}: importing {module_name} failed: {type(e).__name__}: {redact(str(e))}"
        ) from None
    for part in name.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ValueError(f"--agent {spec}: {module_name} has no {name!r}") from None
        except Exception as e:  # noqa: BLE001 - a module's __getattr__ or a property raising: bad input, in one line
            raise ValueError(
                f"--agent {spec}: looking up {name} in {module_name} failed: {type(e).__name__}: {redact(str(e))}"
            ) from None
    if not callable(found):
        raise ValueError(f"--agent {spec}: {name} is a {type(found).__name__}, not a function to call")
    return found  # type: ignore[no-any-return]


def _judge(cases: "list[RegressionCase]") -> "tuple[LLM | None, float | None]":
    """The configured model for the rubric checks (service/judging.py chooses it; POSTMORTEM_JUDGE_TIMEOUT=0 turns it
    off), with its time limit; looked for only when a case that runs has a rubric."""
    from agent_postmortem.analysis.regression_verdict import skip_reasons
    from agent_postmortem.service.runtime import build_judging

    if not any(not skip_reasons(c) and any(k.kind == "rubric" for k in c.checks) for c in cases):
        return None, None
    configured = settings()
    return build_judging(configured).model(), configured.judge_timeout


COMMANDS: list[tuple[str, Any]] = [("regress", regress)]
