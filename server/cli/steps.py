"""`postmortem import-steps`: failed multi-agent runs (step logs) as incidents, each attributed to an agent and a
decisive step. Registered by server/cli/app.py from COMMANDS."""

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from agent_postmortem.analysis.wording import counted
from agent_postmortem.cli.common import JsonOpt, choice, emit, err, out, service, user_errors
from agent_postmortem.cli.output import table

if TYPE_CHECKING:
    from agent_postmortem.analysis.steps import Attributor
    from agent_postmortem.llm.base import LLM

AttributeOpt = Annotated[str, choice(("heuristic", "llm"), help="heuristic: no LLM; llm: the configured LLM")]


def attribution_method(value: str) -> "Attributor":
    if value not in ("heuristic", "llm"):
        raise ValueError("--attribute must be heuristic or llm")
    return cast("Attributor", value)


def attribution_llm(method: str) -> "LLM | None":
    """The configured LLM when `--attribute llm`; LLMUnavailable (with what to set) when there is none."""
    if attribution_method(method) == "heuristic":
        return None
    from agent_postmortem.config import Settings
    from agent_postmortem.errors import LLMUnavailable
    from agent_postmortem.llm.registry import llm_factory

    llm = llm_factory(Settings.from_env())()
    if llm is None:
        raise LLMUnavailable(
            "--attribute llm needs an LLM: set OPENAI_BASE_URL/OPENAI_API_KEY and POSTMORTEM_MODEL, or "
            "POSTMORTEM_LLM=local with xllamacpp installed; or use --attribute heuristic"
        )
    return llm


def import_steps(
    path: Path,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate and attribute; store nothing")] = False,
    attribute: AttributeOpt = "heuristic",
    as_json: JsonOpt = False,
) -> None:
    """Import failed multi-agent runs from JSONL (one run a line: id, steps or trace of {step, agent, content}):
    each becomes an incident with its steps as the timeline and the agent and step where it went wrong."""
    from agent_postmortem.cli.common import stage_progress
    from agent_postmortem.ingest.steps import import_runs, read_runs

    with user_errors():
        runs = read_runs(path)
        method = attribution_method(attribute)
        llm = attribution_llm(method)
        target = None if dry_run else service()
        failed = sum(r.is_failure for r in runs)
        with stage_progress() as show:
            done = [0]

            def step(n: int) -> None:
                done[0] += n
                show("attributing", done[0], failed)

            result = import_runs(
                runs, method=method, llm=llm, service=target, nonce=lambda: secrets.token_hex(4), progress=step
            )
    if not emit(result, as_json):
        _show(result)


def _show(result: Any) -> None:
    def row(r: Any) -> list[object]:
        a = r.attribution
        incident = "(dry run)" if r.incident_id is None else r.incident_id + (" (known)" if r.already_imported else "")
        return [r.run_id, incident, a.responsible, a.decisive_step, a.method + (" (fallback)" if a.fallback else "")]

    rows = (row(r) for r in result.results[:200])
    title = f"{counted(result.runs, 'run')} (reasons and evidence: --json)"
    out.print(table("run", "incident", "agent", "step", "method", rows=rows, title=title))
    verb = "would import" if result.dry_run else "imported"
    count = len(result.results) - result.already_imported if result.dry_run else result.imported
    err.print(
        f"{verb} {counted(count, 'run')} ({result.already_imported} already imported, "
        f"{counted(result.skipped_successful, 'successful run')} skipped)"
    )


COMMANDS: list[tuple[str, Any]] = [("import-steps", import_steps)]
