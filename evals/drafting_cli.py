"""The commands over the draft-quality eval cases (evals/cases/): `postmortem eval` drafts and scores them, `bench
guard` runs the draft guard over their reference analyses and a model's raw drafts, `bench assistant` times the
assistant's drafting path. `evals/cli.py` registers them."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from agent_postmortem.cli.common import FAILED, JsonOpt, choice, emit, err, stage_progress, user_errors
from agent_postmortem.cli.output import show_record, write

if TYPE_CHECKING:
    from agent_postmortem.evals.cases import LoadedCase
    from agent_postmortem.evals.summary import EvalRun

CasesOpt = Annotated[str, typer.Option(help="globs over case folder names, comma-separated, e.g. '0*,5[01]_*'")]


def selected_cases(globs: str) -> "list[LoadedCase]":
    """The eval cases whose folder names match any of the comma-separated globs; none is an error."""
    from agent_postmortem.evals.cases import load_cases

    # a case that two globs match runs once (twice, its seed incident was a duplicate and the run failed)
    selected = {c.name: c for pattern in globs.split(",") for c in load_cases(pattern.strip())}
    if not selected:
        raise ValueError(f"no eval case matches {globs!r}")
    return list(selected.values())


def same_cases(before: "EvalRun", selected: "list[LoadedCase]") -> None:
    """Refuse a baseline of other cases before the run: overall rates over another mix of cases differ by the mix, so
    a regression would be reported (or hidden) that no draft caused."""
    ran, now = {c.name for c in before.cases}, {c.name for c in selected}
    if ran != now:
        raise ValueError(
            f"the baseline scored {len(ran)} cases and --cases selects {len(now)}, {len(ran ^ now)} of them not in"
            " both: give the --cases of the baseline's run"
        )


def eval_command(
    backend: Annotated[
        str,
        choice(
            ("server", "reference", "generic", "assistant", "assistant-model"),
            help="server: the configured LLM; reference, generic: baselines; assistant: the reference analysis written "
            "through the MCP server's assistant path (stdio); assistant-model: the configured LLM as that assistant",
        ),
    ] = "server",
    samples: Annotated[int, typer.Option(min=1, max=100, help="drafts per case")] = 1,
    cases: CasesOpt = "*",
    out: Annotated[Path | None, typer.Option(help="write eval.json and eval.md here")] = None,
    baseline: Annotated[Path | None, typer.Option(help="an earlier eval.json: exit 1 on a regression")] = None,
    judge: Annotated[bool, typer.Option(help="also ask the configured LLM for a pass/fail verdict per draft")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Measure draft quality: draft every eval case N times, score each draft, report pass rates with 95% intervals."""
    from agent_postmortem.cli.demo import SEED
    from agent_postmortem.evals.report import render
    from agent_postmortem.evals.runner import Backend, run
    from agent_postmortem.evals.summary import EvalRun, regressions
    from agent_postmortem.ingest.jsonfile import read_model

    with user_errors():
        selected = selected_cases(cases)
        before = read_model(baseline, EvalRun) if baseline else None
        if before is not None:
            same_cases(before, selected)
        if out is not None:  # before the run: a bad --out must not cost a whole eval's results
            out.mkdir(parents=True, exist_ok=True)
        with stage_progress() as show:
            result = run(
                selected,
                backend=cast(Backend, backend),
                samples=samples,
                seed_path=SEED,
                judged=judge,
                progress=lambda done, total: show("cases", done, total),
            )
        if before is not None:  # in the JSON too: a pipeline reading it sees them, not only a person reading stderr
            result.regressions = regressions(before, result)
        if out is not None:
            (out / "eval.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
            (out / "eval.md").write_text(render(result), encoding="utf-8")
            err.print(f"wrote {out / 'eval.json'} and {out / 'eval.md'}", markup=False)
    if not emit(result, as_json):
        write(render(result))
    for found in result.regressions or []:
        err.print(f"regression: {found}", markup=False)
    if result.regressions:
        raise typer.Exit(FAILED)


def bench_assistant(
    calls: Annotated[int, typer.Option(min=1, max=1000, help="draft_analysis calls after the first")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """How long draft_analysis takes to hand the analysis to the assistant: `postmortem serve` over stdio with no
    model configured and a client without sampling, on the seed knowledge base plus one capture."""
    from agent_postmortem.cli.demo import SEED
    from agent_postmortem.evals.assistant import bench

    with user_errors():
        result = bench(SEED, calls=calls)
    show_record(result, as_json, title="bench assistant")


def bench_guard(
    drafts: Annotated[Path | None, typer.Option(help="JSONL of raw model drafts (case, draft) to check")] = None,
    generate: Annotated[
        bool, typer.Option(help="first draft the cases the file lacks with the configured LLM")
    ] = False,
    cases: CasesOpt = "*",
    seed: Annotated[
        bool, typer.Option(help="also measure the relevance check on the seed knowledge base's analyses")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The draft guard: how many reference analyses of the eval cases it refuses (it must refuse none), and how many
    raw drafts of a model (--drafts, made with --generate) it refuses, by check."""
    from agent_postmortem.cli.demo import SEED
    from agent_postmortem.config import Settings
    from agent_postmortem.evals.guard import cosine_of, run
    from agent_postmortem.evals.guard import generate as draft_cases
    from agent_postmortem.evals.guard_relevance import case_pairs, relevance, seed_pairs
    from agent_postmortem.service.runtime import make_embedder

    with user_errors():
        selected = selected_cases(cases)
        if drafts is not None and not generate and not drafts.is_file():  # a mistyped path checked nothing, exit 0
            raise ValueError(f"no drafts file at {drafts}: make one with --generate --drafts {drafts}")
        if generate:
            if drafts is None:
                raise ValueError("--generate needs --drafts FILE to write the drafts to")
            with stage_progress() as show:
                draft_cases(selected, drafts, seed=SEED, progress=lambda d, t: show("drafts", d, t))
        similarity = cosine_of(make_embedder(Settings.from_env()))
        result = run(selected, drafts, similarity)
        result["relevance"] = relevance(case_pairs(selected), similarity)
        if seed:
            result["relevance_seed"] = relevance(seed_pairs(SEED), similarity)
    show_record(result, as_json, title="bench guard")
