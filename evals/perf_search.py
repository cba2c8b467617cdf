"""`postmortem bench perf`, search at each size: end to end through `PostmortemService.search_incidents` with a
per-stage breakdown, and the vector index alone against exact brute force in numpy with recall@10."""

import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.evals.draft_overhead import draft_overhead
from agent_postmortem.evals.perf_corpus import bench_service, load_knowledge_base
from agent_postmortem.evals.perf_scale import (
    CACHE_FROM,
    bm25s_reference,
    capture_breakdown,
    corpus_dir,
    dense_recall,
    keep_build,
    kept_build,
)
from agent_postmortem.evals.perf_timing import HNSW_UP_TO, POOL, TIE, WARMUP, K, Progress, Timers, latency_stats
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.index.chroma import VectorIndex
from agent_postmortem.store.models import SeedIncident
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.search.embedding import Embedder


def bench_home(n: int, root: Path, model_cache: Path, seed: int, data: Path) -> Path:
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
    service = bench_service(home, embedder, claim=owner)
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
        out[name] = {**latency_stats(times), f"recall_at_{K}": round(statistics.fmean(recalls), 4)}
    return out


def search_latency(service: PostmortemService, texts: list[str]) -> dict[str, float]:
    for text in texts[:WARMUP]:
        service.search_incidents(query=text, limit=5)
    times = []
    for text in texts:
        t = time.perf_counter()
        service.search_incidents(query=text, limit=5)
        times.append(time.perf_counter() - t)
    return latency_stats(times)


def search_breakdown(service: PostmortemService, texts: list[str]) -> dict[str, dict[str, float]]:
    """A second pass with every stage of `search_incidents` timed (wrappers cost about a microsecond each). BM25's
    top k runs on another thread while the query is embedded and the dense candidates found: its time is reported
    but is not part of the sum; what the search waits for it is in `fusion_and_other_in_knowledge_search`."""
    kb, store = service.knowledge, service.store
    timers = Timers()
    for owner, name, label in (
        (kb, "embed_query", "query_embedding"),
        (kb, "_dense", f"dense_candidates_n{POOL}"),
        (kb.lexical, "rank", "bm25_top_k_alongside"),
        (kb.lexical, "scores_of", "bm25_of_dense_candidates"),
        (kb, "_lexical_pool", "lexical_pool_top_k"),
        (kb, "_exact_cosines", "exact_cosines_of_lexical_only_hits"),
        (kb, "search", "knowledge_search"),
        (store, "summaries", "sqlite_summaries"),
        (service.retrieval, "_explain", "explain_hits"),
    ):
        timers.wrap(owner, name, label)
    lexical_stages = (
        "query_embedding",
        f"dense_candidates_n{POOL}",
        "bm25_of_dense_candidates",
        "lexical_pool_top_k",
        "exact_cosines_of_lexical_only_hits",
    )
    service_stages = ("sqlite_summaries", "explain_hits")
    per_query: dict[str, list[float]] = defaultdict(list)
    try:
        for text in texts:
            timers.spent.clear()
            t = time.perf_counter()
            service.search_incidents(query=text, limit=5)
            total = time.perf_counter() - t
            labels = (*lexical_stages, *service_stages, "bm25_top_k_alongside")
            spent = {label: timers.spent.get(label, 0.0) for label in labels}
            search = timers.spent.get("knowledge_search", 0.0)
            for label, seconds in spent.items():
                per_query[label].append(seconds)
            per_query["fusion_and_other_in_knowledge_search"].append(search - sum(spent[x] for x in lexical_stages))
            per_query["service_other"].append(total - search - sum(spent[x] for x in service_stages))
            per_query["total"].append(total)
    finally:
        timers.restore()
    return {label: latency_stats(values) for label, values in per_query.items()}
