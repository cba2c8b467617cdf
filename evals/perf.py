"""`postmortem bench perf`: how fast search, import and start-up are, each figure next to a reference measured in
the same run on the same machine.

1. Search latency (warm, p50/p95) at each size, end to end through `PostmortemService.search_incidents` (query
   embedding, chromadb, BM25, fusion, SQLite summaries, the per-hit explanation), with a per-stage breakdown; and
   the vector index alone (`VectorIndex.query`, n=10 and the service's pool n=100) against exact brute force in
   numpy (`X @ q` + argpartition) over the very same vectors, with recall@10 against exact.
2. Bulk import throughput of `PostmortemService.import_incidents` against raw `SentenceTransformer.encode` of the
   same texts with the same batch size (measured before and after the import, averaged), and against the
   embedder the service uses, called directly on the same texts.
3. Cold start of `postmortem serve` over stdio: process start -> `initialize` answered -> first search answered,
   against the start of a bare `python -c pass`.
4. Peak RSS: the embedding model alone after one query (the reference), a process with the service and the model
   after a search, the server after its first search, and this benchmark process.
5. The three ways to run all-MiniLM-L6-v2 (`POSTMORTEM_EMBEDDER`: onnx-int8, onnx, torch) side by side: load time,
   one-query latency, documents per second and peak RSS.

Everything runs with the embedder the product is configured with (`POSTMORTEM_EMBEDDER`, default int8 ONNX) unless
`embedder=` says otherwise. The knowledge bases hold the seed incidents and the AIID incidents first (real text,
real vectors), then synthetic rows up to the size (see `synthetic_rows`); the output's `notes` say which figures
rest on them.

This module runs the parts in order and assembles the result; the parts live beside it: `perf_corpus` (queries,
knowledge bases, synthetic rows), `perf_search` (1), `perf_import` (2 and 5), `perf_start` (3), `perf_memory` (4),
`perf_scale` (dense recall, capture, references, kept corpora), `perf_summary` (machine, growth, targets, notes) and
`perf_timing` (what they share).
"""

import os
import random
import resource
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.config import Settings
from agent_postmortem.evals.perf_corpus import AIID, SEED, pick_queries, sentence_pool
from agent_postmortem.evals.perf_import import bench_import, compare_embedders
from agent_postmortem.evals.perf_memory import _same_as_warm, peak_memory
from agent_postmortem.evals.perf_scale import fsync_reference
from agent_postmortem.evals.perf_search import bench_home, bench_size
from agent_postmortem.evals.perf_start import cli_reads, cold_start
from agent_postmortem.evals.perf_summary import CpuMeter, growth, machine, notes, targets
from agent_postmortem.evals.perf_timing import MB, Progress, timed_load
from agent_postmortem.evals.retrieval import corpus_rows, read_jsonl
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.runtime import make_embedder
from agent_postmortem.store.models import search_text
from agent_postmortem.store.search.embedding import SentenceTransformerEmbedder


def run(
    *,
    sizes: Sequence[int] = (1_000, 10_000, 100_000, 1_000_000),
    queries: int = 200,
    home: Path | None = None,
    progress: Progress = lambda stage, done, total: None,
    data: Path = AIID,
    import_rows: int = 1_000,
    cold_starts: int = 3,
    seed: int = 0,
    embedder: str | None = None,
    model_cache: Path | None = None,
) -> dict[str, Any]:
    """Measure everything once. `embedder` (onnx-int8, onnx, torch) and `model_cache` default to the product's
    settings (POSTMORTEM_EMBEDDER, POSTMORTEM_MODEL_CACHE); `home` keeps the knowledge bases (default: a temporary
    directory, removed at the end)."""
    started = time.perf_counter()
    cpu = CpuMeter()
    overrides = {"POSTMORTEM_EMBEDDER": embedder or "", "POSTMORTEM_MODEL_CACHE": str(model_cache or "")}
    settings = Settings.from_env({**os.environ, **{k: v for k, v in overrides.items() if v}})
    root = home or Path(tempfile.mkdtemp(prefix="postmortem-perf-"))
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    try:
        progress("loading models", 0, 2)
        chosen, loaded = make_embedder(settings), {}
        loaded[settings.embedder] = timed_load(chosen)
        reference = chosen if isinstance(chosen, SentenceTransformerEmbedder) else SentenceTransformerEmbedder()
        loaded.setdefault("torch", timed_load(reference))
        progress("loading models", 2, 2)
        seeds, aiid = read_incidents(SEED), corpus_rows(read_jsonl(data / "incidents.jsonl"))
        texts = pick_queries(data, seeds, queries, random.Random(seed))

        imported, vectors = bench_import(chosen, reference, aiid[:import_rows], root / "import", progress)
        docs = [search_text(r) for r in aiid[:import_rows]]
        embedders = compare_embedders(settings, chosen, reference, docs, texts, progress)
        for name, figures in embedders.items():
            figures["in_process_load_s"] = loaded.get(name)

        real = [*seeds, *aiid][: max(sizes)]
        missing = [t for t in dict.fromkeys(search_text(r) for r in real) if t not in vectors]
        progress("embedding", 0, len(missing) + len(texts))
        vectors.update(zip(missing, chosen.embed(missing, kind="document"), strict=True))
        query_vectors = chosen.embed(texts, kind="query")
        progress("embedding", len(missing) + len(texts), len(missing) + len(texts))

        sentences = sentence_pool(aiid)
        homes = {n: bench_home(n, root, settings.model_cache, seed, data) for n in sizes}
        results = [
            bench_size(n, real, vectors, chosen, texts, query_vectors, homes[n], rng, sentences, progress)
            for n in sorted(sizes)
        ]
        cold = cold_start(settings, root, texts[0], cold_starts, progress)
        near_10k = min(sizes, key=lambda n: abs(n - 10_000))
        cold["cli_reads"] = cli_reads(settings, homes[near_10k], near_10k, cold_starts, progress)
        memory = peak_memory(settings, homes, sorted(sizes), texts, progress)
        memory["reference_sqlite_commit_fsync"] = fsync_reference(root)
        memory["first_search_same_as_warm"] = _same_as_warm(results, memory)
        memory["server_after_first_search_peak_rss_mb"] = cold.pop("server_peak_rss_mb")
        memory["this_benchmark_process_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MB)
        return {
            "machine": machine(cpu),
            "embedder": settings.embedder,
            "embedding_model": chosen.model_id,
            "queries": len(texts),
            "search": results,
            "import": imported,
            "cold_start": cold,
            "memory": memory,
            "embedders": embedders,
            "growth_log_log_slope": growth(results, memory),
            "targets": targets(results, imported, cold, memory),
            "notes": notes(results, imported, settings.embedder),
            "wall_s": round(time.perf_counter() - started, 1),
        }
    finally:
        if home is None:
            shutil.rmtree(root, ignore_errors=True)
