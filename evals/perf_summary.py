"""`postmortem bench perf`, the summary: the machine and how busy it was, how each cost grows with the size,
the targets against what the run measured, and the notes on what the figures rest on."""

import os
import platform
import resource
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from agent_postmortem.evals.perf_corpus import NOISE
from agent_postmortem.evals.perf_scale import slopes
from agent_postmortem.evals.perf_timing import DENSE_RECALL, TARGETS, TIE, K


def growth(search: list[dict[str, Any]], memory: dict[str, Any]) -> dict[str, Any]:
    """How each cost grows with the number of incidents: the log-log slope over the sizes measured."""
    sizes = [s["incidents"] for s in search]
    breakdown = {k: [s["end_to_end_breakdown"][k]["p50_ms"] for s in search] for k in search[0]["end_to_end_breakdown"]}
    readers = {m["incidents"]: m for m in memory["service_after_first_search"] if m["process"] == "reader"}
    figures: dict[str, list[float | None]] = {
        "search_p50_ms": [s["end_to_end"]["p50_ms"] for s in search],
        "dense_top10_p50_ms": [s["dense"]["product_dense_top10"]["p50_ms"] for s in search],
        "numpy_float32_top10_p50_ms": [s["dense"]["reference_numpy_float32_top10"]["p50_ms"] for s in search],
        **{f"{k}_p50_ms": v for k, v in breakdown.items() if k != "total"},
        "reader_rss_mb": [readers[n]["rss_mb_after_searches"] if n in readers else None for n in sizes],
        "first_search_ms": [readers[n]["first_search_ms"] if n in readers else None for n in sizes],
    }
    return {"sizes": sizes, "slopes": slopes(sizes, figures), "figures": figures}


# --- summary -------------------------------------------------------------------------------------


class CpuMeter:
    """CPU time used on the whole machine (from /proc/stat) against this process and its waited-for children: what
    other processes took while the benchmark ran tells how far a shared machine skewed the latencies."""

    def __init__(self) -> None:
        self.loadavg = os.getloadavg()[0]
        self.start = self._machine_busy_s(), self._own_s(), time.monotonic()

    @staticmethod
    def _machine_busy_s() -> float:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
        user, nice, system, _idle, _iowait, irq, softirq = fields
        return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own_s() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def report(self) -> dict[str, float]:
        busy, own, wall = self._machine_busy_s(), self._own_s(), time.monotonic()
        others = max(0.0, (busy - self.start[0]) - (own - self.start[1]))
        return {
            "loadavg_1m_at_start": round(self.loadavg, 2),
            "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
            "benchmark_cpu_s": round(own - self.start[1], 1),
            "other_processes_cpu_s": round(others, 1),
            "other_processes_mean_cores_busy": round(others / (wall - self.start[2]), 2),
        }


def machine(cpu: CpuMeter) -> dict[str, Any]:
    import torch

    versions = {p: metadata.version(p) for p in ("chromadb", "bm25s", "torch", "sentence-transformers", "numpy")}
    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        **cpu.report(),
        "versions": versions,
    }


def _at(search: list[dict[str, Any]], n: int) -> dict[str, Any] | None:
    return next((s for s in search if s["incidents"] >= n * 0.98 and s["incidents"] <= n * 1.02), None)


def _target(measured: float | None, limit: float, *, at_least: bool = False) -> dict[str, Any]:
    met = None if measured is None else (measured >= limit if at_least else measured <= limit)
    return {"target": limit, "measured": measured, "met": met}


def targets(
    search: list[dict[str, Any]], imported: dict[str, Any], cold: dict[str, Any], memory: dict[str, Any]
) -> dict[str, Any]:
    """The issue's targets, each with what this run measured (None: that size was not run)."""

    def figure(n: int, *path: str) -> float | None:
        found: Any = _at(search, n)
        for key in path:
            found = None if found is None else found[key]
        return None if found is None else float(found)

    fresh = {(m["incidents"], m["process"]): m for m in memory["service_after_first_search"]}

    def rss(n: int, process: str) -> float | None:
        found = next((m for (size, p), m in fresh.items() if p == process and abs(size - n) <= n * 0.02), None)
        return None if found is None else found["peak_rss_mb"]

    first = next((m["first_search_ms"] for (size, p), m in fresh.items() if p == "reader" and size >= 98_000), None)

    def reads(name: str) -> float | None:
        found = cold.get("cli_reads", {})
        return found[f"{name}_ms"] if abs(found.get("incidents", 0) - 10_000) <= 200 else None

    return {
        "search_p50_ms_at_100k": _target(figure(100_000, "end_to_end", "p50_ms"), 12.0),
        "search_p95_ms_at_100k": _target(figure(100_000, "end_to_end", "p95_ms"), 20.0),
        "dense_recall_at_10_at_100k": _target(figure(100_000, "dense", DENSE_RECALL), 1.0, at_least=True),
        "first_search_ms_of_a_new_process_at_100k": _target(first, 1000.0),
        "capture_p50_ms_at_10k": _target(figure(10_000, "capture", "stages", "total", "p50_ms"), 30.0),
        "service_peak_rss_mb_at_100k_owner": _target(rss(100_000, "owner"), 450.0),
        "service_peak_rss_mb_at_100k_reader": _target(rss(100_000, "reader"), 450.0),
        "search_p50_ms_at_1m": _target(figure(1_000_000, "end_to_end", "p50_ms"), 40.0),
        "dense_recall_at_10_at_1m": _target(figure(1_000_000, "dense", DENSE_RECALL), 0.98, at_least=True),
        "service_peak_rss_mb_at_1m_reader": _target(rss(1_000_000, "reader"), 2048.0),
        "import_ratio": _target(imported["ratio"], TARGETS["import_ratio"], at_least=True),
        "initialize_vs_bare_mcpserver": _target(cold["initialize_vs_bare_mcpserver"], 1.2),
        **{f"cli_{name}_ms_at_10k": _target(reads(name), 500.0) for name in ("help", "list", "show")},
    }


def notes(search: list[dict[str, Any]], imported: dict[str, Any], embedder: str) -> list[str]:
    synthetic = [f"{s['incidents']:,}: {s['load']['synthetic_rows']:,}" for s in search if s["load"]["synthetic_rows"]]
    return [
        f"Embedder: {embedder} (POSTMORTEM_EMBEDDER) for the knowledge bases, the queries, the import, the cold start "
        "and the memory figures; `embedders` compares all three on the same texts.",
        "Real rows: the 45 seed incidents, then the AIID incidents (title + text), with real vectors from that "
        "embedder, stored through PostmortemService.import_incidents with the vectors precomputed (so that loading "
        "times the store and the index, not the model): load.import_without_embedding_per_s.",
        "Synthetic rows (per size: "
        + ("; ".join(synthetic) or "none")
        + "): each copies a random real incident's columns; vector = normalise(base + sigma * N(0, I/384)), sigma "
        f"uniform in {NOISE} (mean cosine to the base in load.synthetic_mean_cosine_to_base); title = the first 6-12 "
        "words of a random AIID sentence; description = the base's first sentence + 2 random AIID sentences. They "
        "are written by a bulk SQL loader in evals/perf_corpus.py (executemany in one transaction; a benchmark "
        "shortcut), then indexed by KnowledgeBase.sync() as the product does.",
        "Queries are real: AIID development queries (news-report excerpts, cut to 2,000 characters) and seed titles. "
        "End-to-end = PostmortemService.search_incidents(query=..., limit=5), warm, including embedding the query; "
        "the index-only and exact runs use the same queries embedded once beforehand.",
        f"recall@{K}: a returned id counts when its exact float64 cosine is at least the {K}th best minus {TIE} (ties "
        "count); the exact method's recall is a sanity check (must be 1.0).",
        "end_to_end_breakdown comes from a second pass with each stage wrapped by a timer; its stages add up to "
        "'total' (mean_ms adds up, p50_ms does not), except bm25_top_k_alongside, which runs on another thread "
        "while the query is embedded and the dense candidates found (the search's wait for it is in "
        "fusion_and_other_in_knowledge_search).",
        f"Import: {imported['imported']} AIID incidents. ratio = import rate / raw SentenceTransformer.encode rate "
        "(all texts in one call, same batch size, which lets it sort all texts by length; timed before and after the "
        "import, averaged); ratio_vs_embedder_direct compares with the service's embedder called directly; "
        "*_in_one_chunk: the same import with batch=len(rows) (one embedding call and one transaction), to show "
        "what the chunk size costs.",
        "Cold start runs on a fresh, empty home (so the first search returns no hits) with the model cache of these "
        "settings (an ONNX export already there is reused, as on an installed machine); it includes loading the "
        "model. Peak RSS is VmHWM from /proc (ru_maxrss of a child includes its parent's at fork).",
        "The machine may be shared: machine.other_processes_* is the CPU other processes used during the run "
        "(from /proc/stat); latencies are wall-clock.",
    ]
