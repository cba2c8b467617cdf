"""`postmortem bench perf`, the embedding side: bulk import throughput against raw `SentenceTransformer.encode`
and against the service's embedder called directly, and the three ways to run the model side by side."""

import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.config import EMBEDDERS, Settings
from agent_postmortem.evals.perf_corpus import bench_service
from agent_postmortem.evals.perf_memory import peak_rss
from agent_postmortem.evals.perf_timing import WARMUP, Progress, Timers, latency_stats, timed_load
from agent_postmortem.service.facade import IMPORT_BATCH, PostmortemService
from agent_postmortem.service.runtime import make_embedder
from agent_postmortem.store.models import SeedIncident, search_text
from agent_postmortem.store.search.embedding import Embedder, SentenceTransformerEmbedder


def _encode(model: Any, texts: list[str], batch_size: int) -> tuple[float, np.ndarray]:
    """Raw `SentenceTransformer.encode`: all texts in one call (it sorts them by length), unit vectors."""
    t = time.perf_counter()
    out = model.encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return time.perf_counter() - t, np.asarray(out, dtype=np.float32)


def _wrap_import(service: PostmortemService) -> Timers:
    """Time the stages of `import_incidents`: embedding, duplicate lookup, inserts, index sync (the rest: building
    and classifying the incidents)."""
    timers = Timers()
    timers.wrap(service.knowledge, "embed_documents", "embedding")
    timers.wrap(service.knowledge, "sync", "index_sync")
    lookup = "existing_hashes"
    timers.wrap(service.store, lookup, "duplicate_lookup")
    insert_ = next(n for n in ("create_many", "create") if hasattr(service.store, n))
    timers.wrap(service.store, insert_, "store_insert")
    return timers


def bench_import(
    embedder: Embedder,
    reference: SentenceTransformerEmbedder,
    rows: list[SeedIncident],
    home: Path,
    progress: Progress,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Import rate against the raw encode rate of sentence-transformers (A-B-A: encode, import into a fresh store,
    encode) and against the service's own embedder called directly on the same texts. Returns the figures and the
    embedder's vectors by text, reused as the real part of the search corpora."""
    model = reference._model  # the SentenceTransformer itself
    texts = [search_text(r) for r in rows]
    batch = int(getattr(embedder, "batch_size", reference.batch_size))
    progress("import", 0, 5)
    _encode(model, texts[:batch], batch)  # warm-up
    embedder.embed(texts[:batch], kind="document")
    before, raw = _encode(model, texts, batch)
    progress("import", 1, 5)
    if embedder is reference:
        direct_s, direct = before, raw
    else:
        t = time.perf_counter()
        direct = embedder.embed(texts, kind="document")
        direct_s = time.perf_counter() - t
    progress("import", 2, 5)
    service = bench_service(home, embedder)
    timers = _wrap_import(service)
    t = time.perf_counter()
    result = service.import_incidents(rows)  # the product's own chunk size
    import_s = time.perf_counter() - t
    timers.restore()
    progress("import", 3, 5)
    after, _ = _encode(model, texts, batch)
    progress("import", 4, 5)
    t = time.perf_counter()
    one_chunk_service = bench_service(home.with_name(home.name + "-one-chunk"), embedder)
    one_chunk = one_chunk_service.import_incidents(rows, batch=len(rows))
    one_chunk_rate = one_chunk.imported / (time.perf_counter() - t)
    progress("import", 5, 5)
    first = next(iter(service.store.feed.index_rows(model=embedder.model_id)), None)
    raw_rate = len(texts) / ((before + after) / 2)
    import_rate = result.imported / import_s
    breakdown = {k: round(v, 3) for k, v in timers.spent.items()}
    breakdown["other"] = round(import_s - sum(timers.spent.values()), 3)
    figures = {
        "embedder": embedder.model_id,
        "rows": len(rows),
        "imported": result.imported,
        "batch_size": batch,
        "import_chunk": IMPORT_BATCH,
        "import_s": round(import_s, 2),
        "import_per_s": round(import_rate, 1),
        "raw_sentence_transformers_encode_s_before": round(before, 2),
        "raw_sentence_transformers_encode_s_after": round(after, 2),
        "raw_sentence_transformers_encode_per_s": round(raw_rate, 1),
        "ratio": round(import_rate / raw_rate, 3),
        "embedder_direct_per_s": round(len(texts) / direct_s, 1),
        "ratio_vs_embedder_direct": round(import_rate / (len(texts) / direct_s), 3),
        "import_breakdown_s": breakdown,
        "store_overhead_ms_per_incident": round(
            1000 * (import_s - timers.spent["embedding"]) / max(result.imported, 1), 3
        ),
        "embedding_inside_import_per_s": round(result.imported / max(timers.spent["embedding"], 1e-9), 1),
        "stored_vs_direct_vector_cosine": None if first is None else round(float(first[1] @ direct[0]), 6),
        "import_in_one_chunk_per_s": round(one_chunk_rate, 1),
        "ratio_in_one_chunk": round(one_chunk_rate / raw_rate, 3),
        "ratio_in_one_chunk_vs_embedder_direct": round(one_chunk_rate / (len(texts) / direct_s), 3),
    }
    return figures, dict(zip(texts, direct, strict=True))


# --- 5. the embedders side by side ---------------------------------------------------------------


def compare_embedders(
    settings: Settings,
    chosen: Embedder,
    reference: SentenceTransformerEmbedder,
    docs: list[str],
    queries: list[str],
    progress: Progress,
) -> dict[str, dict[str, Any]]:
    """Each way to run the model: one-query latency (warm), documents per second on the import texts (one call),
    mean cosine of its document vectors to sentence-transformers', and, in a fresh process, load time and peak RSS
    of the model alone after one query."""
    out: dict[str, dict[str, Any]] = {}
    torch_vectors: np.ndarray | None = None
    names = ("torch", *[e for e in EMBEDDERS if e != "torch"])
    for i, name in enumerate(names):
        progress("embedders", i, len(names))
        if name == settings.embedder:
            model: Embedder = chosen
        elif name == "torch":
            model = reference
        else:
            model = make_embedder(replace(settings, embedder=name))
            timed_load(model)
        for text in queries[:WARMUP]:
            model.embed([text], kind="query")
        times = []
        for text in queries:
            t = time.perf_counter()
            model.embed([text], kind="query")
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        vectors = model.embed(docs, kind="document")
        docs_s = time.perf_counter() - t
        torch_vectors = vectors if torch_vectors is None else torch_vectors
        fresh = peak_rss(settings, name, "model", Path(tempfile.gettempdir()), queries[0])
        out[name] = {
            "model_id": model.model_id,
            "query": latency_stats(times),
            "documents_per_s": round(len(docs) / docs_s, 1),
            "mean_cosine_to_torch": round(float(np.einsum("ij,ij->i", vectors, torch_vectors).mean()), 5),
            "fresh_process_load_s": fresh["load_model_s"],
            "model_only_peak_rss_mb": fresh["model_only_peak_rss_mb"],
        }
    progress("embedders", len(names), len(names))
    return out


# --- 1. search at each size ----------------------------------------------------------------------
