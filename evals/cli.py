"""`postmortem bench …` and `postmortem eval`: the benchmark and eval commands (quality and speed, each with a reference
from the same run). The product does not import them: `register` adds them to the CLI, found through the
`agent_postmortem.cli` entry point (pyproject.toml), as a plugin's commands would be."""

from pathlib import Path
from typing import Annotated

import typer

from agent_postmortem.cli.common import FAILED, JsonOpt, choice, emit, err, stage_progress, user_errors
from agent_postmortem.cli.common import out as out_console
from agent_postmortem.cli.output import show_record, table
from agent_postmortem.evals import drafting_cli

# The options the retrieval, novelty and recurrence benchmarks share.
Corpus = Annotated[Path, typer.Option(help="JSONL corpus: id, title, text")]
Queries = Annotated[Path, typer.Option(help="JSONL queries: text, relevant_ids")]
RecurringSeed = Annotated[Path | None, typer.Option(help="JSONL incidents with recurring groups (default: the seed)")]

bench = typer.Typer(help="Benchmarks: measured quality and speed, with references from the same run.")


@bench.command("retrieval")
def bench_retrieval(
    dataset: Corpus,
    queries: Queries,
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
        weak = result["weak_match"]["chosen"]
        out_console.print(
            f"weak match below cosine {weak['threshold']:.2f}: real matches called weak "
            f"{weak['real_match_called_weak']:.1%}, searches without one {weak['no_match_called_weak']:.1%}",
            markup=False,
        )


@bench.command("perf")
def bench_perf(
    sizes: Annotated[str, typer.Option(help="comma-separated knowledge-base sizes")] = "1000,10000,100000",
    queries: Annotated[int, typer.Option(help="searches timed at each size")] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Search latency at each size (end to end, index alone vs exact numpy), import throughput vs raw encoding,
    cold start, peak RSS."""
    from agent_postmortem.evals.perf import run

    with user_errors(), stage_progress() as show:
        result = run(sizes=tuple(int(s) for s in sizes.split(",")), queries=queries, progress=show)
    show_record(result, as_json, title="bench perf")


@bench.command("team")
def bench_team(
    size: Annotated[
        int, typer.Option(min=100, max=2_000_000, help="incidents (kept in the model cache from 500k)")
    ] = 10_000,
    queries: Annotated[int, typer.Option(help="searches timed")] = 200,
    index: Annotated[bool, typer.Option(help="fill the Chroma server (--no-index: records and replicas only)")] = True,
    as_json: JsonOpt = False,
) -> None:
    """The team-mode engine at one size (a throwaway PostgreSQL cluster and Chroma server): build rates, search
    latency and dense recall@10 against exact, as configured and through the Chroma server; replica and server RSS."""
    from agent_postmortem.evals.perf_team import run

    with user_errors(), stage_progress() as show:
        result = run(size=size, queries=queries, index=index, progress=show)
    show_record(result, as_json, title="bench team")


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
    captures: Annotated[int, typer.Option(min=0, max=100_000, help="captures sent in all")] = 2000,
    searches: Annotated[int, typer.Option(min=0, max=100_000, help="searches sent in all")] = 2000,
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
    dataset: Corpus,
    queries: Queries,
    seed: RecurringSeed = None,
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
    """Precision and recall of the blameless-language check on the labelled sentences in evals/data: the rules, the
    sentence reader with the rules, and the rules before #18."""
    from agent_postmortem.analysis.blame_reader import shipped
    from agent_postmortem.evals.blameless import run

    show_record(run(reader=shipped()), as_json, title="bench blameless")


@bench.command("blame-documents")
def bench_blame_documents(
    reader: Annotated[
        int, typer.Option(min=0, help="also with the sentence reader, on a seeded sample of this many sentences")
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Whether the blameless check calls each labelled sentence (the sealed set left out) the same inside a document
    (under a heading, in a list, a table, wrapped) as alone: the rules on every sentence, the reader on a sample."""
    from functools import partial

    from agent_postmortem.analysis.blame_reader import shipped
    from agent_postmortem.analysis.blameless import check_blameless
    from agent_postmortem.evals.blame_documents import run, sentences

    result = {"rules": run(sentences())}
    if reader:
        result["reader_and_rules"] = run(sentences(reader), check=partial(check_blameless, reader=shipped()))
    show_record(result, as_json, title="bench blame-documents")


@bench.command("severity")
def bench_severity(
    split: Annotated[
        str,
        typer.Option(
            help=(
                "test (held-out sources), train (tuned on), all, "
                "or a fresh check set (fresh41, fresh42, fresh43, fresh44)"
            )
        ),
    ] = "test",
    corpus: Annotated[
        Path | None, typer.Option(help="a corpus in the failure-corpus shape (default: evals/data)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Severity from scale against human severities: exact and within-one accuracy with 95% intervals, confusion
    matrix and the most frequent level, next to the legacy rules on the same rows."""
    from agent_postmortem.evals.fresh_failures import checked_split, default_corpus
    from agent_postmortem.evals.severity import run

    with user_errors():
        result = run(corpus or default_corpus(split), split=checked_split(split, ("test", "train", "all")))
    show_record(result, as_json, title="bench severity")


@bench.command("classify")
def bench_classify(
    corpus: Annotated[Path | None, typer.Option(help="labelled corpus JSONL (default: evals/data/failures)")] = None,
    seed: Annotated[Path | None, typer.Option(help="knowledge base JSONL for neighbours (default: the seed)")] = None,
    llm_rows: Annotated[
        int, typer.Option(min=0, help="also ask the configured model (POSTMORTEM_LLM...) on a sample of this many rows")
    ] = 0,
    split: Annotated[
        str,
        typer.Option(
            help="test: the corpus's test half; fresh42, fresh43, fresh44: fresh check sets, each scored once; "
            "fresh41: trained on since its one scoring"
        ),
    ] = "test",
    as_json: JsonOpt = False,
) -> None:
    """Category on the test half of the failure corpus (or the fresh check set): the learned classifier, with the
    neighbour rule, the keyword rules alone and the seed's classifier (rules + neighbour votes), with intervals;
    train cross-validation apart."""
    from agent_postmortem.evals.classification import run
    from agent_postmortem.evals.fresh_failures import checked_split, default_corpus

    with user_errors(), stage_progress() as show:
        checked_split(split, ("test",))
        result = run(
            corpus or default_corpus(split),
            seed,
            split=split,
            progress=lambda d, t: show(f"{split} rows", d, t),
            llm_rows=llm_rows,
        )
    show_record(result, as_json, title="bench classify")


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
    dataset: Corpus,
    queries: Queries,
    seed: RecurringSeed = None,
    as_json: JsonOpt = False,
) -> None:
    """Recurrence after fix at capture: recall and precision of the flag, open items surfaced, on labelled queries
    and by leave-one-out on the seed knowledge base."""
    from agent_postmortem.cli.demo import SEED
    from agent_postmortem.evals.recurrence import run

    with user_errors(), stage_progress() as show:
        result = run(dataset, queries, seed or SEED, progress=show)
    show_record(result, as_json, title="bench recurrence")


@bench.command("redaction")
def bench_redaction(
    seed: Annotated[int, typer.Option(help="seed of the synthetic corpus (the same seed, the same corpus)")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Recall per secret/PII type and false positives on look-alikes, on a seeded synthetic corpus."""
    from agent_postmortem.evals.redaction import run

    show_record(run(seed=seed), as_json, title="bench redaction")


@bench.command("attribution")
def bench_attribution(
    dataset: Annotated[Path, typer.Option(help="JSONL runs with steps and labels (Who&When shape)")],
    attribute: Annotated[str, choice(("heuristic", "llm"), help="llm: the configured LLM")] = "heuristic",
    limit: Annotated[int | None, typer.Option(min=1, help="score this many runs, evenly spaced")] = None,
    half: Annotated[
        str | None, choice(("design", "held_out"), help="score one half only (split by a hash of the run id)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Failure attribution: agent and decisive-step accuracy with 95% intervals, next to the most-talkative-agent
    and random-step baselines on the same runs. `--half design` scores the design half without reading the other."""
    from agent_postmortem.cli.steps import attribution_llm, attribution_method
    from agent_postmortem.evals.attribution import Half, run

    with user_errors():
        method = attribution_method(attribute)
        llm = attribution_llm(method)
        only: Half | None = "design" if half == "design" else "held_out" if half == "held_out" else None
        with stage_progress() as show:
            result = run(
                dataset, method=method, llm=llm, limit=limit, only=only, progress=lambda d, t: show("runs", d, t)
            )
    show_record(result, as_json, title="bench attribution")


@bench.command("rebuild")
def bench_rebuild(
    incidents: Annotated[int, typer.Option(help="incidents in the index to rebuild")] = 10_000, as_json: JsonOpt = False
) -> None:
    """What recovering the vector index costs: probe, rebuild from the stored vectors, a start on a broken index,
    against the bare upserts in this process."""
    from agent_postmortem.evals.rebuild import run

    with user_errors():
        result = run(incidents)
    show_record(result, as_json, title="bench rebuild")


def register(app: typer.Typer) -> None:
    """Add `bench` and `eval` to the `postmortem` command line."""
    bench.command("assistant")(drafting_cli.bench_assistant)
    bench.command("guard")(drafting_cli.bench_guard)
    app.add_typer(bench, name="bench")
    app.command("eval")(drafting_cli.eval_command)
