"""`postmortem bench …` and `postmortem eval`: the benchmark and eval commands (quality and speed, each with a reference
from the same run). The product does not import them: `register` adds them to the CLI, found through the
`agent_postmortem.cli` entry point (pyproject.toml), as a plugin's commands would be."""

from pathlib import Path
from typing import Annotated, cast

import typer

from agent_postmortem.cli.common import FAILED, JsonOpt, choice, emit, err, stage_progress, user_errors
from agent_postmortem.cli.common import out as out_console
from agent_postmortem.cli.output import show_record, table, write

bench = typer.Typer(help="Benchmarks: measured quality and speed, with references from the same run.")


@bench.command("retrieval")
def bench_retrieval(
    dataset: Annotated[Path, typer.Option(help="JSONL corpus: id, title, text")],
    queries: Annotated[Path, typer.Option(help="JSONL queries: text, relevant_ids")],
    as_json: JsonOpt = False,
) -> None:
    """Recall@1/5/10 and MRR of dense, lexical and hybrid search on a labelled query set."""
    from agent_postmortem.evals.retrieval import run

    with user_errors(), stage_progress() as show:
        result = run(dataset, queries, progress=show)
    if not emit(result, as_json):
        rows = (
            [mode, *(f"{m[k]:.3f}" for k in ("recall@1", "recall@5", "recall@10", "mrr")), f"{m['search_ms_p50']:.1f}"]
            for mode, m in result["modes"].items()
        )
        columns = ("mode", "R@1", "R@5", "R@10", "MRR", "search p50 ms")
        out_console.print(table(*columns, rows=rows, title=f"{result['queries']} queries"))


@bench.command("perf")
def bench_perf(
    sizes: Annotated[str, typer.Option(help="comma-separated knowledge-base sizes")] = "1000,10000,100000",
    queries: int = 200,
    as_json: JsonOpt = False,
) -> None:
    """Search latency at each size (end to end, index alone vs exact numpy), import throughput vs raw encoding,
    cold start, peak RSS."""
    from agent_postmortem.evals.perf import run

    with user_errors(), stage_progress() as show:
        result = run(sizes=tuple(int(s) for s in sizes.split(",")), queries=queries, progress=show)
    show_record(result, as_json, title="bench perf")


@bench.command("ui")
def bench_ui(
    incidents: Annotated[int, typer.Option(min=100, max=1_000_000, help="knowledge-base size")] = 10_000,
    requests: Annotated[int, typer.Option(min=5, max=10_000, help="requests per incidents-page variant")] = 50,
    renders: Annotated[int, typer.Option(min=1, max=100, help="chromium loads per page")] = 5,
    screenshots: Annotated[Path | None, typer.Option(help="save a screenshot of each page here")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The web view: server time per page (p50/p95), page weight, first render in chromium."""
    from agent_postmortem.evals.ui import run

    with user_errors(), stage_progress() as show:
        result = run(incidents=incidents, requests=requests, renders=renders, screenshots=screenshots, progress=show)
    show_record(result, as_json, title="bench ui")


@bench.command("load")
def bench_load(
    replicas: Annotated[int, typer.Option(min=1, max=16, help="stateless HTTP server processes on one home")] = 2,
    clients: Annotated[int, typer.Option(min=1, max=64, help="concurrent MCP clients")] = 8,
    captures: Annotated[int, typer.Option(min=0, max=100_000)] = 2000,
    searches: Annotated[int, typer.Option(min=0, max=100_000)] = 2000,
    teams: Annotated[int, typer.Option(min=1, max=8, help="teams (a tokens file); the work is shared among them")] = 1,
    chroma_url: Annotated[str | None, typer.Option(help="index on this Chroma server (default: embedded)")] = None,
    timeout: Annotated[float, typer.Option(help="stop sending after this many seconds")] = 1800,
    as_json: JsonOpt = False,
) -> None:
    """Load test on loopback: replicas on one home, concurrent clients capturing and searching; errors, lost
    captures, p50/p95 latency per operation and throughput. Exit 1 on any error, lost capture or cross-team row."""
    from agent_postmortem.evals.load import run

    with user_errors():
        result = run(
            replicas_count=replicas,
            clients=clients,
            captures=captures,
            searches=searches,
            teams=teams,
            chroma_url=chroma_url,
            timeout=timeout,
            progress=lambda stage: err.print(stage, markup=False),
        )
    show_record(result, as_json, title="bench load")
    if result["errors"] or result["lost_captures"] or result["cross_team_rows"]:
        raise typer.Exit(FAILED)


@bench.command("novelty")
def bench_novelty(
    dataset: Annotated[Path, typer.Option(help="JSONL corpus: id, title, text")],
    queries: Annotated[Path, typer.Option(help="JSONL queries: text, relevant_ids")],
    seed: Annotated[Path | None, typer.Option(help="JSONL incidents with recurring groups (default: the seed)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Calibrate the novelty threshold: known vs novel failures, query-to-incident and incident-to-incident."""
    from agent_postmortem.analysis.classify import NOVELTY_THRESHOLD
    from agent_postmortem.cli.demo import SEED
    from agent_postmortem.evals.novelty import run

    with user_errors():
        result = run(dataset, queries, seed or SEED, current=NOVELTY_THRESHOLD)
    show_record(result, as_json, title="bench novelty")


@bench.command("blameless")
def bench_blameless(as_json: JsonOpt = False) -> None:
    """Precision and recall of the blameless-language check on the labelled sentences in evals/data."""
    from agent_postmortem.evals.blameless import run

    show_record(run(), as_json, title="bench blameless")


@bench.command("severity")
def bench_severity(
    split: Annotated[str, typer.Option(help="test (held-out sources), train (tuned on) or all")] = "test",
    corpus: Annotated[
        Path | None, typer.Option(help="a corpus in the failure-corpus shape (default: evals/data)")
    ] = None,
    as_json: JsonOpt = True,
) -> None:
    """Severity from scale against human severities: exact and within-one accuracy with 95% intervals, confusion
    matrix and the most frequent level, next to the legacy rules on the same rows. Prints JSON."""
    from agent_postmortem.evals.failure_corpus import CORPUS
    from agent_postmortem.evals.severity import run

    with user_errors():
        if split not in ("test", "train", "all"):
            raise ValueError("--split must be test, train or all")
        emit(run(corpus or CORPUS, split=split), True)


@bench.command("classify")
def bench_classify(
    corpus: Annotated[Path | None, typer.Option(help="labelled corpus JSONL (default: evals/data/failures)")] = None,
    seed: Annotated[Path | None, typer.Option(help="knowledge base JSONL for neighbours (default: the seed)")] = None,
    as_json: JsonOpt = True,
) -> None:
    """Category on the test half of the failure corpus: the learned classifier, with the neighbour rule, the keyword
    rules alone and the seed's classifier (rules + neighbour votes), with intervals; train cross-validation apart."""
    from agent_postmortem.evals.classification import run
    from agent_postmortem.evals.failure_corpus import CORPUS

    with user_errors(), stage_progress() as show:
        result = run(corpus or CORPUS, seed, progress=lambda d, t: show("test rows", d, t))
    emit(result, True)


@bench.command("patterns")
def bench_patterns(
    dataset: Annotated[Path, typer.Option(help="AIID-style JSONL with labels.gmf")], as_json: JsonOpt = False
) -> None:
    """Neighbourhood label agreement and pattern purity on human failure labels."""
    from agent_postmortem.evals.patterns import run

    with user_errors():
        result = run(dataset)
    show_record(result, as_json, title="bench patterns")


@bench.command("recurrence")
def bench_recurrence(
    dataset: Annotated[Path, typer.Option(help="JSONL corpus: id, title, text")],
    queries: Annotated[Path, typer.Option(help="JSONL queries: text, relevant_ids")],
    seed: Annotated[Path | None, typer.Option(help="JSONL incidents with recurring groups (default: the seed)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recurrence after fix at capture: recall and precision of the flag, open items surfaced, on labelled queries
    and by leave-one-out on the seed knowledge base."""
    from agent_postmortem.cli.demo import SEED
    from agent_postmortem.evals.recurrence import run

    with user_errors(), stage_progress() as show:
        result = run(dataset, queries, seed or SEED, progress=show)
    show_record(result, as_json, title="bench recurrence")


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
    cases: Annotated[str, typer.Option(help="globs over case folder names, comma-separated, e.g. '0*,5[01]_*'")] = "*",
    out: Annotated[Path | None, typer.Option(help="write eval.json and eval.md here")] = None,
    baseline: Annotated[Path | None, typer.Option(help="an earlier eval.json: exit 1 on a regression")] = None,
    judge: Annotated[bool, typer.Option(help="also ask the configured LLM for a pass/fail verdict per draft")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Measure draft quality: draft every eval case N times, score each draft, report pass rates with 95% intervals."""
    from agent_postmortem.cli.demo import SEED
    from agent_postmortem.evals.cases import load_cases
    from agent_postmortem.evals.report import render
    from agent_postmortem.evals.runner import Backend, run
    from agent_postmortem.evals.summary import EvalRun, regressions
    from agent_postmortem.ingest.jsonfile import read_model

    with user_errors():
        selected = [c for pattern in cases.split(",") for c in load_cases(pattern.strip())]
        if not selected:
            raise ValueError(f"no eval case matches {cases!r}")
        before = read_model(baseline, EvalRun) if baseline else None
        with stage_progress() as show:
            result = run(
                selected,
                backend=cast(Backend, backend),
                samples=samples,
                seed_path=SEED,
                judged=judge,
                progress=lambda done, total: show("cases", done, total),
            )
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / "eval.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
            (out / "eval.md").write_text(render(result), encoding="utf-8")
            err.print(f"wrote {out / 'eval.json'} and {out / 'eval.md'}", markup=False)
    if not emit(result, as_json):
        write(render(result))
    if before is not None:
        found = regressions(before, result)
        for line in found:
            err.print(f"regression: {line}", markup=False)
        if found:
            raise typer.Exit(FAILED)


@bench.command("assistant")
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


@bench.command("guard")
def bench_guard(
    drafts: Annotated[Path | None, typer.Option(help="JSONL of raw model drafts (case, draft) to check")] = None,
    generate: Annotated[
        bool, typer.Option(help="first draft the cases the file lacks with the configured LLM")
    ] = False,
    cases: Annotated[str, typer.Option(help="comma-separated globs of case folders")] = "*",
    as_json: JsonOpt = False,
) -> None:
    """The draft guard: how many reference analyses of the eval cases it refuses (it must refuse none), and how many
    raw drafts of a model (--drafts, made with --generate) it refuses, by check."""
    from agent_postmortem.cli.demo import SEED
    from agent_postmortem.evals.cases import load_cases
    from agent_postmortem.evals.guard import generate as draft_cases
    from agent_postmortem.evals.guard import run

    with user_errors():
        selected = [c for pattern in cases.split(",") for c in load_cases(pattern.strip())]
        if generate:
            if drafts is None:
                raise ValueError("--generate needs --drafts FILE to write the drafts to")
            with stage_progress() as show:
                draft_cases(selected, drafts, seed=SEED, progress=lambda d, t: show("drafts", d, t))
        result = run(selected, drafts)
    show_record(result, as_json, title="bench guard")


@bench.command("redaction")
def bench_redaction(seed: int = 0, as_json: JsonOpt = False) -> None:
    """Recall per secret/PII type and false positives on look-alikes, on a seeded synthetic corpus."""
    from agent_postmortem.evals.redaction import run

    show_record(run(seed=seed), as_json, title="bench redaction")


@bench.command("attribution")
def bench_attribution(
    dataset: Annotated[Path, typer.Option(help="JSONL runs with steps and labels (Who&When shape)")],
    attribute: Annotated[str, choice(("heuristic", "llm"), help="llm: the configured LLM")] = "heuristic",
    limit: Annotated[int | None, typer.Option(min=1, help="score this many runs, evenly spaced")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Failure attribution: agent and decisive-step accuracy with 95% intervals, next to the most-talkative-agent
    and random-step baselines on the same runs."""
    from agent_postmortem.cli.steps import attribution_llm, attribution_method
    from agent_postmortem.evals.attribution import run

    with user_errors():
        method = attribution_method(attribute)
        llm = attribution_llm(method)
        with stage_progress() as show:
            result = run(dataset, method=method, llm=llm, limit=limit, progress=lambda d, t: show("runs", d, t))
    show_record(result, as_json, title="bench attribution")


@bench.command("rebuild")
def bench_rebuild(incidents: int = 10_000, as_json: JsonOpt = False) -> None:
    """What recovering the vector index costs: probe, rebuild from the stored vectors, a start on a broken index,
    against the bare upserts in this process."""
    from agent_postmortem.evals.rebuild import run

    with user_errors():
        result = run(incidents)
    show_record(result, as_json, title="bench rebuild")


def register(app: typer.Typer) -> None:
    """Add `bench` and `eval` to the `postmortem` command line."""
    app.add_typer(bench, name="bench")
    app.command("eval")(eval_command)
