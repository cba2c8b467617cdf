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
"""

import json
import os
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, insert, select

from agent_postmortem.config import EMBEDDERS, Settings
from agent_postmortem.evals.draft_overhead import draft_overhead
from agent_postmortem.evals.perf_scale import (
    CACHE_FROM,
    bm25s_reference,
    capture_breakdown,
    corpus_dir,
    dense_recall,
    fsync_reference,
    keep_build,
    kept_build,
    slopes,
)
from agent_postmortem.evals.perf_start import cli_reads, cold_start, model_env
from agent_postmortem.evals.retrieval import corpus_rows, read_jsonl
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.facade import IMPORT_BATCH, PostmortemService
from agent_postmortem.service.runtime import build_service, make_embedder
from agent_postmortem.store.index.chroma import VectorIndex
from agent_postmortem.store.models import SeedIncident, search_text
from agent_postmortem.store.records import schema
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.records.rows import content_hash
from agent_postmortem.store.redact import redact
from agent_postmortem.store.search.embedding import Embedder, Kind, SentenceTransformerEmbedder

AIID = Path(os.environ.get("POSTMORTEM_AIID") or Path(__file__).resolve().parents[2] / "shared" / "data" / "aiid")
SEED = Path(__file__).resolve().parents[1] / "store" / "seed" / "incidents.jsonl"
K = 10  # recall@K
POOL = 100  # what the service asks chromadb for (agent_postmortem.store.search.knowledge.POOL)
WARMUP = 10
TIE = 1e-6  # a returned id counts when its exact cosine is within TIE of the K-th best
NOISE = (0.3, 0.9)  # synthetic vector = normalise(base + sigma * N(0, I/d)), sigma uniform in this range
TARGETS = {"search_p50_ms": 30.0, "index_recall_at_10": 0.98, "import_ratio": 0.8, "initialize_ms": 1500.0}
MB = 1024  # ru_maxrss and VmHWM are in KiB on Linux
DENSE_RECALL = "recall_at_10_vs_exact_float32"
HNSW_UP_TO = 100_000  # sizes at which the benchmark fills chromadb and compares its HNSW with exact search

Progress = Callable[[str, int, int], None]


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
        loaded[settings.embedder] = _timed_load(chosen)
        reference = chosen if isinstance(chosen, SentenceTransformerEmbedder) else SentenceTransformerEmbedder()
        loaded.setdefault("torch", _timed_load(reference))
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
        homes = {n: _home(n, root, settings.model_cache, seed, data) for n in sizes}
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


def _timed_load(embedder: Embedder) -> float:
    """Seconds to load the model (for ONNX, exporting it first when the model cache does not have it yet)."""
    t = time.perf_counter()
    load = getattr(embedder, "load", None)
    if load is not None:
        load()
    return round(time.perf_counter() - t, 2)


# --- corpus and queries --------------------------------------------------------------------------


def pick_queries(data: Path, seeds: list[SeedIncident], n: int, rng: random.Random) -> list[str]:
    """Real query texts: the AIID development queries (news-report excerpts) and the seed incidents' titles."""
    pool = [q["text"][:2000] for q in read_jsonl(data / "queries_dev.jsonl")] + [s.title for s in seeds]
    return rng.sample(pool, min(n, len(pool)))


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentence_pool(rows: list[SeedIncident]) -> list[str]:
    """Every sentence of four words or more in the AIID texts: the material synthetic incidents are made of."""
    return [s for r in rows for s in _SENTENCE.split(r.description) if len(s.split()) >= 4]


def _first_sentence(text: str) -> str:
    return _SENTENCE.split(text.strip(), maxsplit=1)[0][:400]


class Precomputed:
    """An embedder answering from vectors computed earlier, so that loading a knowledge base times the store."""

    def __init__(self, model_id: str, dimension: int, table: dict[str, np.ndarray]) -> None:
        self.model_id = model_id
        self.dimension = dimension
        self.table = table | {redact(text): vector for text, vector in table.items()}  # what the service embeds

    def embed(self, texts: list[str], *, kind: Kind) -> np.ndarray:
        return np.vstack([self.table[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)


def _service(home: Path, embedder: Embedder, *, claim: bool = True) -> PostmortemService:
    settings = Settings.from_env({"POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none"})
    return build_service(settings, embedder=embedder, claim_index=claim)


# --- timing helpers ------------------------------------------------------------------------------


def _stats(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds, dtype=np.float64) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "mean_ms": round(float(ms.mean()), 3),
    }


class Timers:
    """Wraps methods of live objects (instance attributes shadow the class's) and adds up the time spent in each."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self._wrapped: list[tuple[object, str]] = []

    def wrap(self, owner: object, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter() - t

        setattr(owner, name, timed)
        self._wrapped.append((owner, name))

    def restore(self) -> None:
        for owner, name in reversed(self._wrapped):
            delattr(owner, name)
        self._wrapped.clear()


# --- 2. bulk import ------------------------------------------------------------------------------


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
    service = _service(home, embedder)
    timers = _wrap_import(service)
    t = time.perf_counter()
    result = service.import_incidents(rows)  # the product's own chunk size
    import_s = time.perf_counter() - t
    timers.restore()
    progress("import", 3, 5)
    after, _ = _encode(model, texts, batch)
    progress("import", 4, 5)
    t = time.perf_counter()
    one_chunk = _service(home.with_name(home.name + "-one-chunk"), embedder).import_incidents(rows, batch=len(rows))
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
            _timed_load(model)
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
        fresh = _peak(settings, name, "model", Path(tempfile.gettempdir()), queries[0])
        out[name] = {
            "model_id": model.model_id,
            "query": _stats(times),
            "documents_per_s": round(len(docs) / docs_s, 1),
            "mean_cosine_to_torch": round(float(np.einsum("ij,ij->i", vectors, torch_vectors).mean()), 5),
            "fresh_process_load_s": fresh["load_model_s"],
            "model_only_peak_rss_mb": fresh["model_only_peak_rss_mb"],
        }
    progress("embedders", len(names), len(names))
    return out


# --- 1. search at each size ----------------------------------------------------------------------


def _home(n: int, root: Path, model_cache: Path, seed: int, data: Path) -> Path:
    """Where the knowledge base of `n` incidents is built: the run's folder, or the model cache from CACHE_FROM up
    (kept between runs)."""
    return corpus_dir(model_cache, n, seed=seed, data=data) if n >= CACHE_FROM else root / f"kb-{n}"


def bench_size(
    n: int,
    real: list[SeedIncident],
    vectors: dict[str, np.ndarray],
    embedder: Embedder,
    texts: list[str],
    query_vectors: np.ndarray,
    home: Path,
    rng: np.random.Generator,
    sentences: list[str],
    progress: Progress,
) -> dict[str, Any]:
    """Search at one size. Up to HNSW_UP_TO incidents this process owns the vector index (chromadb is filled and
    compared); above, it searches as a process that does not own it (chromadb is not filled: at ~1,400 vectors/s it
    would take 12 minutes at 1M)."""
    stage = f"search {n:,}"
    progress(stage, 0, 6)
    owner = n <= HNSW_UP_TO
    service = _service(home, embedder, claim=owner)
    load = kept_build(home) if n >= CACHE_FROM else None
    if load is None:
        load = load_knowledge_base(service, n, real, vectors, rng, sentences)
        if n >= CACHE_FROM:
            keep_build(home, load)
    else:
        load = {**load, "kept_from_an_earlier_run": True}
    progress(stage, 1, 6)
    pks, matrix = stored_matrix(service.store, embedder.model_id)
    chroma = service.knowledge.index
    indexed = chroma.count() if chroma is not None else None
    index = index_vs_exact(chroma, pks, matrix, query_vectors) if chroma is not None else {}
    dense = dense_recall(service, pks, matrix, query_vectors)
    del matrix
    progress(stage, 2, 6)
    end_to_end = search_latency(service, texts)
    progress(stage, 3, 6)
    stages = search_breakdown(service, texts)
    progress(stage, 4, 6)
    references = bm25s_reference(service, texts) if n <= HNSW_UP_TO else {}
    drafting = draft_overhead(service, rng) if n < CACHE_FROM else None
    progress(stage, 5, 6)
    capture = capture_breakdown(service, sentences, rng) if n < CACHE_FROM else None
    first_hits = _hits(service, texts[0])  # after the captures: what a new process on this home will find
    progress(stage, 6, 6)
    return {
        "incidents": int(len(pks)),
        "indexed": indexed,
        "load": load,
        "end_to_end": end_to_end,
        "end_to_end_breakdown": stages,
        "dense": dense,
        "references": references,
        "capture": capture,
        "draft_overhead": None
        if drafting is None
        else {**drafting, "vs_search_p50": round(drafting["p50_ms"] / end_to_end["p50_ms"], 2)},
        "warm_first_query_hits": first_hits,
        **index,
    }


def _hits(service: PostmortemService, query: str) -> list[list[Any]]:
    """(id, relevance) of the hits for `query`: compared with a fresh process's first search."""
    return [[h.id, h.relevance] for h in service.search_incidents(query=query[:2000], limit=5).hits]


def load_knowledge_base(
    service: PostmortemService,
    n: int,
    real: list[SeedIncident],
    vectors: dict[str, np.ndarray],
    rng: np.random.Generator,
    sentences: list[str],
) -> dict[str, Any]:
    """The real rows through `import_incidents` (vectors precomputed), the rest synthetic by bulk SQL, then the
    index sync (chromadb) and the BM25 build, each timed."""
    model = service.knowledge.embedder
    service.knowledge.embedder = Precomputed(model.model_id, model.dimension, vectors)
    t = time.perf_counter()
    try:
        imported = service.import_incidents(real[:n]).imported
    finally:
        service.knowledge.embedder = model
    import_s = time.perf_counter() - t
    synthetic = n - service.store.count()
    t = time.perf_counter()
    cosine_to_base = bulk_insert_synthetic(service.store, synthetic, rng, sentences)
    insert_s = time.perf_counter() - t
    kb = service.knowledge
    built = {}
    for name, cache in (("int8_vectors", kb.exact), ("bm25", kb.lexical)):
        t = time.perf_counter()
        cache.refresh(force=True)
        built[f"{name}_build_s"] = round(time.perf_counter() - t, 2)
        built[f"{name}_build_per_s"] = round(n / max(time.perf_counter() - t, 1e-9), 1)
        t = time.perf_counter()
        cache.save()
        built[f"{name}_save_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    synced = kb.sync() if kb.index is not None else 0  # only the owner fills chromadb
    sync_s = time.perf_counter() - t
    return {
        "real_rows": imported,
        "synthetic_rows": synthetic,
        "real_rows_import_s": round(import_s, 2),
        "import_without_embedding_per_s": round(imported / import_s, 1),
        "import_without_embedding_100k_extrapolated_s": round(100_000 * import_s / max(imported, 1), 1),
        "synthetic_bulk_insert_s": round(insert_s, 2),
        "synthetic_bulk_insert_per_s": round(synthetic / insert_s, 1) if synthetic else None,
        "synthetic_mean_cosine_to_base": cosine_to_base,
        "index_sync_rows": synced,
        "index_sync_s": round(sync_s, 2),
        "index_insert_per_s": round(synced / sync_s, 1) if synced else None,
        **built,
    }


def bulk_insert_synthetic(store: IncidentStore, n: int, rng: np.random.Generator, sentences: list[str]) -> float | None:
    """BENCHMARK SHORTCUT: inserts `n` synthetic incidents (and their outbox rows) straight into the SQLAlchemy tables
    in one transaction, because `IncidentStore.create` commits (and fsyncs) once per incident. Returns the mean
    cosine of the synthetic vectors to the real vectors they were made from."""
    if n <= 0:
        return None
    cosines: list[float] = []
    with store.engine.begin() as conn:
        templates = [dict(r._mapping) for r in conn.execute(select(schema.incidents).order_by(schema.incidents.c.pk))]
        start = int(conn.execute(select(func.max(schema.incidents.c.pk))).scalar_one()) + 1
        for chunk in synthetic_rows(templates, n, start, rng, sentences):
            rows, cosine = chunk
            cosines.append(cosine * len(rows))
            _insert_rows(conn, rows)
    return round(sum(cosines) / n, 4)


def _insert_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(schema.incidents), rows)
    conn.execute(insert(schema.index_outbox), [{"incident_pk": r["pk"], "op": "upsert"} for r in rows])


def synthetic_rows(
    templates: list[dict[str, Any]],
    n: int,
    start_pk: int,
    rng: np.random.Generator,
    sentences: list[str],
    chunk: int = 10_000,
) -> Iterator[tuple[list[dict[str, Any]], float]]:
    """Synthetic incidents made from real ones. Each picks a real incident (its base) at random and copies its columns
    (category, severity, status, agent, tool, dates); its vector is the base's vector plus Gaussian noise
    (sigma uniform in NOISE, per dimension sigma/sqrt(d)) renormalised to unit length; its title is the first 6-12
    words of a random AIID sentence and its description the base's first sentence followed by two random AIID
    sentences. Yields chunks of table rows with their mean cosine to the base."""
    base = np.vstack([np.frombuffer(t["embedding"], dtype=np.float32) for t in templates])
    firsts = [_first_sentence(t["body"].get("description") or t["title"]) for t in templates]
    dim = base.shape[1]
    for offset in range(0, n, chunk):
        m = min(chunk, n - offset)
        which = rng.integers(0, len(templates), m)
        sigma = rng.uniform(*NOISE, size=(m, 1)).astype(np.float32)
        noisy = base[which] + sigma * rng.standard_normal((m, dim), dtype=np.float32) / np.float32(np.sqrt(dim))
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        cosine = float(np.einsum("ij,ij->i", noisy, base[which]).mean())
        picks = rng.integers(0, len(sentences), (m, 3))
        lengths = rng.integers(6, 13, m)
        rows = []
        for i in range(m):
            pk = start_pk + offset + i
            template = templates[which[i]]
            title = " ".join(sentences[picks[i, 0]].split()[: lengths[i]])[:200]
            description = " ".join([firsts[which[i]], sentences[picks[i, 1]], sentences[picks[i, 2]]])
            body = {**template["body"], "description": description, "source_id": f"synthetic-{pk}"}
            parts = [title, description, body.get("error_type"), body.get("error_message")]
            text = "\n".join(p for p in [*parts, template["agent"], template["tool"]] if p)
            rows.append(
                {
                    **template,
                    "pk": pk,
                    "title": title,
                    "body": body,
                    "content_hash": content_hash(text),
                    "signature": None,
                    "occurrences": 1,
                    "last_seen_at": template["created_at"],
                    "embedding": noisy[i].tobytes(),
                }
            )
        yield rows, cosine


def stored_matrix(store: IncidentStore, model_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The primary keys (ascending) and the vectors of every indexed incident, as the store holds them."""
    pks: list[int] = []
    vectors: list[np.ndarray] = []
    for pk, vector, _ in store.feed.index_rows(model=model_id):
        pks.append(pk)
        vectors.append(vector)
    return np.array(pks, dtype=np.int64), np.ascontiguousarray(np.vstack(vectors), dtype=np.float32)


def exact_top(matrix: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    """The physical reference: brute force over every vector, row numbers best first."""
    scores = matrix @ query
    top = np.argpartition(-scores, k - 1)[:k]
    ordered: np.ndarray = top[np.argsort(-scores[top])]
    return ordered


def index_vs_exact(index: VectorIndex, pks: np.ndarray, matrix: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    """Latency of chromadb (n=10 and n=POOL) and of exact numpy, and recall@10 of each against float64 truth."""
    k = min(K, len(pks))
    truth = np.empty((len(pks), len(queries)), dtype=np.float64)
    for s in range(0, len(pks), 20_000):
        truth[s : s + 20_000] = matrix[s : s + 20_000].astype(np.float64) @ queries.astype(np.float64).T
    kth = -np.partition(-truth, k - 1, axis=0)[k - 1]

    def recall(qi: int, rows: np.ndarray) -> float:
        return float((truth[rows, qi] >= kth[qi] - TIE).sum()) / k

    def rows_of(ids: list[int]) -> np.ndarray:
        found = np.searchsorted(pks, ids)
        ok = (found < len(pks)) & (pks[np.minimum(found, len(pks) - 1)] == ids)
        return np.asarray(found[ok], dtype=np.int64)

    out: dict[str, Any] = {}
    methods: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "exact_numpy": lambda q: exact_top(matrix, q, k),
        "index_n10": lambda q: rows_of([pk for pk, _ in index.query(q, n=k)]),
        f"index_n{POOL}": lambda q: rows_of([pk for pk, _ in index.query(q, n=POOL)][:k]),
    }
    for name, method in methods.items():
        for q in queries[:WARMUP]:
            method(q)
        times, recalls = [], []
        for qi, q in enumerate(queries):
            t = time.perf_counter()
            rows = method(q)
            times.append(time.perf_counter() - t)
            recalls.append(recall(qi, rows))
        out[name] = {**_stats(times), f"recall_at_{K}": round(statistics.fmean(recalls), 4)}
    return out


def search_latency(service: PostmortemService, texts: list[str]) -> dict[str, float]:
    for text in texts[:WARMUP]:
        service.search_incidents(query=text, limit=5)
    times = []
    for text in texts:
        t = time.perf_counter()
        service.search_incidents(query=text, limit=5)
        times.append(time.perf_counter() - t)
    return _stats(times)


def search_breakdown(service: PostmortemService, texts: list[str]) -> dict[str, dict[str, float]]:
    """A second pass with every stage of `search_incidents` timed (wrappers cost about a microsecond each)."""
    kb, store = service.knowledge, service.store
    timers = Timers()
    for owner, name, label in (
        (kb, "embed_query", "query_embedding"),
        (kb, "_dense", f"dense_candidates_n{POOL}"),
        (kb.lexical, "scores", "bm25_scores"),
        (kb, "_lexical_pool", "lexical_pool_top_k"),
        (kb, "_exact_cosines", "exact_cosines_of_lexical_only_hits"),
        (kb, "search", "knowledge_search"),
        (store, "summaries", "sqlite_summaries"),
        (service.retrieval, "_explain", "explain_hits"),
    ):
        timers.wrap(owner, name, label)
    lexical_stages = (
        f"dense_candidates_n{POOL}",
        "bm25_scores",
        "lexical_pool_top_k",
        "exact_cosines_of_lexical_only_hits",
    )
    service_stages = ("query_embedding", "sqlite_summaries", "explain_hits")
    per_query: dict[str, list[float]] = defaultdict(list)
    try:
        for text in texts:
            timers.spent.clear()
            t = time.perf_counter()
            service.search_incidents(query=text, limit=5)
            total = time.perf_counter() - t
            spent = {label: timers.spent.get(label, 0.0) for label in (*lexical_stages, *service_stages)}
            search = timers.spent.get("knowledge_search", 0.0)
            for label, seconds in spent.items():
                per_query[label].append(seconds)
            per_query["fusion_and_other_in_knowledge_search"].append(search - sum(spent[x] for x in lexical_stages))
            per_query["service_other"].append(total - search - sum(spent[x] for x in service_stages))
            per_query["total"].append(total)
    finally:
        timers.restore()
    return {label: _stats(values) for label, values in per_query.items()}


# --- 4. memory -----------------------------------------------------------------------------------

PEAK_SCRIPT = """
import json, os, sys, time
from pathlib import Path
from agent_postmortem.config import Settings
from agent_postmortem.service.runtime import build_service, make_embedder

def status():  # VmHWM, not ru_maxrss: Linux carries the parent's ru_maxrss across fork and exec
    fields = dict(x.split(":", 1) for x in Path("/proc/self/status").read_text().splitlines() if ":" in x)
    return {k: int(fields[k].split()[0]) for k in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}

mode, home, query = sys.argv[1:4]
settings = Settings.from_env({**os.environ, "POSTMORTEM_HOME": home})
started = time.perf_counter()
embedder = make_embedder(settings)
embedder.load()
embedder.embed([query], kind="query")
model, loaded = status(), time.perf_counter()
figures = {"model_kb": model["VmHWM"], "load_model_s": loaded - started}
if mode != "model":
    service = build_service(settings, embedder=embedder, claim_index=mode == "owner")
    opened = time.perf_counter()
    spent = {}
    for owner, name in ((service.knowledge.lexical, "refresh"), (service.knowledge.exact, "refresh")):
        def timed(*args, _inner=getattr(owner, name), _name=type(owner).__name__, **kwargs):
            t = time.perf_counter()
            try:
                return _inner(*args, **kwargs)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - t
        setattr(owner, name, timed)
    hits = service.search_incidents(query=query, limit=5).hits
    figures |= {"first": status(), "open_s": opened - loaded, "first_search_s": time.perf_counter() - opened}
    figures |= {"hits": [[h.id, h.relevance] for h in hits], "loads": spent}
    for text in sys.argv[4:]:
        service.search_incidents(query=text, limit=5)
    figures["after"] = status()
print(json.dumps(figures))
"""


def _peak(
    settings: Settings, embedder: str, mode: str, home: Path, query: str, more: Sequence[str] = ()
) -> dict[str, Any]:
    """A fresh process: load the model and embed one query (peak = the model alone); in mode "owner" (takes the
    vector index, as a server does) or "reader" (does not), then open the knowledge base in `home`, search once (the
    first search of a new process, timed from the moment the service is built and the model loaded), then search
    `more` and read its memory again."""
    env = {**os.environ, **model_env(settings), "POSTMORTEM_EMBEDDER": embedder}
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, mode, str(home), query[:2000], *(m[:2000] for m in more)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    out = {"model_only_peak_rss_mb": round(figures["model_kb"] / MB), "load_model_s": round(figures["load_model_s"], 2)}
    if mode != "model":
        first, after = figures["first"], figures["after"]
        out |= {
            "peak_rss_mb": round(after["VmHWM"] / MB),
            "rss_mb_after_searches": round(after["VmRSS"] / MB),
            "rss_anon_mb": round(after["RssAnon"] / MB),
            "rss_file_mb": round(after["RssFile"] / MB),
            "peak_rss_mb_at_first_search": round(first["VmHWM"] / MB),
            "open_service_ms": round(figures["open_s"] * 1000, 1),
            "first_search_ms": round(figures["first_search_s"] * 1000, 1),
            "first_search_load_ms": {k: round(v * 1000, 1) for k, v in figures["loads"].items()},
            "first_search_hits": figures["hits"],
            "searches_after": len(more),
        }
    return out


def peak_memory(
    settings: Settings, homes: dict[int, Path], sizes: list[int], queries: Sequence[str], progress: Progress
) -> dict[str, Any]:
    """Fresh processes, so that nothing else this benchmark holds counts: the model alone after one query (the
    reference), then the service with the model after a first search and 50 more, at every size: as a process that
    does not own the vector index, and (up to HNSW_UP_TO) as its owner, which also opens chromadb."""
    services = []
    runs = [(n, mode) for n in sizes for mode in ("reader", "owner") if mode == "reader" or n <= HNSW_UP_TO]
    for i, (n, mode) in enumerate(runs):
        progress("memory", i, len(runs))
        figures = _peak(settings, settings.embedder, mode, homes[n], queries[0], queries[1:51])
        services.append({"incidents": n, "process": mode, **figures})
    progress("memory", len(runs), len(runs))
    return {
        "reference_model_only_peak_rss_mb": services[0]["model_only_peak_rss_mb"],
        "service_after_first_search": [{k: v for k, v in s.items() if k != "model_only_peak_rss_mb"} for s in services],
    }


def _same_as_warm(search: list[dict[str, Any]], memory: dict[str, Any]) -> bool:
    """The first search of every fresh process found what the warm benchmark process found for the same query."""
    warm = {s["incidents"]: s["warm_first_query_hits"] for s in search}
    fresh = memory["service_after_first_search"]
    return all(f["first_search_hits"] == warm.get(f["incidents"], f["first_search_hits"]) for f in fresh)


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
        "are written by a bulk SQL loader in this module (executemany in one transaction; a benchmark shortcut), "
        "then indexed by KnowledgeBase.sync() as the product does.",
        "Queries are real: AIID development queries (news-report excerpts, cut to 2,000 characters) and seed titles. "
        "End-to-end = PostmortemService.search_incidents(query=..., limit=5), warm, including embedding the query; "
        "the index-only and exact runs use the same queries embedded once beforehand.",
        f"recall@{K}: a returned id counts when its exact float64 cosine is at least the {K}th best minus {TIE} (ties "
        "count); the exact method's recall is a sanity check (must be 1.0).",
        "end_to_end_breakdown comes from a second pass with each stage wrapped by a timer; its stages add up to "
        "'total' (mean_ms adds up, p50_ms does not).",
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
