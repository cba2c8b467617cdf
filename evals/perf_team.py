"""`postmortem bench team`: the team-mode engine at one size: the records in PostgreSQL and the vector index on a
Chroma server (docs/deploy.md), searched end to end through the service as a replica builds it.

The incidents are those `bench perf` searches (perf_corpus: the seed and AIID rows, then synthetic ones), read from
its SQLite knowledge base (kept in the model cache from CACHE_FROM, built here below that) and written with their
vectors into a throwaway PostgreSQL cluster (fsync on) by bulk inserts through the store's tables, in key order:
nothing is embedded again. Then, as a replica starting on that database does, each step timed: its search caches are
built from PostgreSQL (the int8 vectors and BM25, saved in its home) and it takes the vector index, which on an
empty Chroma server means filling a new generation from the stored vectors (store/index/remote.py).

Search is measured twice, each with recall@10 of the dense candidates against exact float32 over the same vectors:
as the product runs (up to EXACT_LIMIT the dense candidates come from the replica's in-memory int8 index, not from the
Chroma server), and with them taken from the Chroma server's HNSW (`exact_limit` 0: the path above EXACT_LIMIT).
Memory: fresh replica processes (owning the index, and not) after a first search and 50 more; the Chroma server's
resident memory from /proc. The PostgreSQL cluster, the Chroma server and their data are removed at the end.
"""

import argparse
import contextlib
import json
import logging
import os
import random
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, func, insert, select, text

from agent_postmortem.config import Settings
from agent_postmortem.evals import postgres
from agent_postmortem.evals.chroma_server import chroma_server, rss
from agent_postmortem.evals.perf_corpus import (
    AIID,
    SEED,
    bench_service,
    load_knowledge_base,
    pick_queries,
    sentence_pool,
)
from agent_postmortem.evals.perf_memory import peak_rss
from agent_postmortem.evals.perf_scale import CACHE_FROM, dense_recall, keep_build, kept_build
from agent_postmortem.evals.perf_search import bench_home, index_vs_exact, search_breakdown, search_latency
from agent_postmortem.evals.perf_summary import CpuMeter
from agent_postmortem.evals.perf_timing import MB, Progress
from agent_postmortem.evals.retrieval import corpus_rows, read_jsonl
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.runtime import build_service, make_embedder
from agent_postmortem.store.models import search_text
from agent_postmortem.store.records import db, schema
from agent_postmortem.store.search.embedding import Embedder

logger = logging.getLogger(__name__)

TABLES = (schema.incidents, schema.timeline_events, schema.analyses, schema.action_items)  # parents first
CHUNK = 5000  # rows per bulk insert (one transaction each)


def run(
    *,
    size: int,
    queries: int = 200,
    seed: int = 0,
    data: Path = AIID,
    index: bool = True,
    progress: Progress = lambda s, d, t: None,
) -> dict[str, Any]:
    """Load `size` incidents into team mode, measure the build, search and memory; the figures as JSON. Without
    `index`, the Chroma server is left empty (nobody takes the index): the records and the replicas' own search, which
    is what serves below EXACT_LIMIT, without the 13 minutes of filling the server at 1M."""
    started, cpu, load_at_start = time.perf_counter(), CpuMeter(), _loadavg()
    settings = Settings.from_env({**os.environ, "POSTMORTEM_LLM": "none"})
    embedder = make_embedder(settings)
    texts = pick_queries(data, read_incidents(SEED), queries, random.Random(seed))
    query_vectors = embedder.embed(texts, kind="query")
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="postmortem-team-")))
        source = source_home(size, folder, settings.model_cache, embedder, seed=seed, data=data, progress=progress)
        database_url = postgres.Databases(stack.enter_context(postgres.cluster(durable=True))).create()
        chroma_url, chroma_pid = stack.enter_context(chroma_server(folder / "chroma"))
        env = {
            **os.environ,
            "POSTMORTEM_HOME": str(folder / "replica"),
            "POSTMORTEM_DATABASE_URL": database_url,
            "POSTMORTEM_CHROMA_URL": chroma_url,
            "POSTMORTEM_LLM": "none",
        }
        service = build_service(Settings.from_env(env), embedder=embedder)
        stack.callback(service.store.engine.dispose)
        stack.callback(service.knowledge.release_index)
        build = fill(service, source, progress, index=index)
        search = measure(service, query_vectors, texts, progress, index=index)
        searched = rss(chroma_pid)  # one generation, searched; a takeover below may hold two while it rebuilds
        build["chroma_disk_mb"] = _du_mb(folder / "chroma")
        service.knowledge.release_index()  # a fresh process may take it now
        progress("memory", 0, 1)
        replicas = {
            mode: peak_rss(settings, settings.embedder, mode, folder / "replica", texts[0], texts[1:51], env=env)
            for mode in ("owner", "reader")[0 if index else 1 :]  # an owner would fill the server first
        }
        progress("memory", 1, 1)
        build["postgres_database_mb"] = _database_mb(service.store.engine)
        memory = {"replica_" + mode: figures for mode, figures in replicas.items()} | {
            "chroma_server_after_search": searched,
            "chroma_server_at_end": rss(chroma_pid),
        }
        return {
            "size": size,
            "queries": len(texts),
            "embedding_model": embedder.model_id,
            "machine": {
                "cpus": os.cpu_count(),
                "loadavg_at_start": load_at_start,
                "loadavg_at_end": _loadavg(),
                **cpu.report(),
                "versions": {"chromadb": metadata.version("chromadb"), "postgresql": _server_version(service)},
            },
            "build": build,
            "search": search,
            "memory": memory,
            "wall_s": round(time.perf_counter() - started, 1),
        }
    raise AssertionError("unreachable")  # mypy: ExitStack may swallow exceptions


def source_home(
    n: int, folder: Path, model_cache: Path, embedder: Embedder, *, seed: int, data: Path, progress: Progress
) -> Path:
    """The SQLite knowledge base of `n` incidents that `bench perf` searches: kept in the model cache from CACHE_FROM
    (built there once when missing), built in `folder` below it. Only the real rows are embedded."""
    home = bench_home(n, folder, model_cache, seed, data)
    if kept_build(home) is not None:
        return home
    progress(f"knowledge base {n:,}", 0, 1)
    seeds, aiid = read_incidents(SEED), corpus_rows(read_jsonl(data / "incidents.jsonl"))
    real = [*seeds, *aiid][:n]
    documents = list(dict.fromkeys(search_text(r) for r in real))
    vectors = dict(zip(documents, embedder.embed(documents, kind="document"), strict=True))
    service = bench_service(home, embedder, claim=False)
    try:
        built = load_knowledge_base(service, n, real, vectors, np.random.default_rng(seed), sentence_pool(aiid))
    finally:
        service.store.engine.dispose()
    if n >= CACHE_FROM:
        keep_build(home, built)
    progress(f"knowledge base {n:,}", 1, 1)
    return home


def fill(service: PostmortemService, source: Path, progress: Progress, *, index: bool = True) -> dict[str, Any]:
    """Copy the records into PostgreSQL, build the replica's search caches from there, then take the index (which
    fills the empty Chroma server from the stored vectors) when `index`; each step timed."""
    t = time.perf_counter()
    copied = copy_records(source, service.store.engine, progress)
    copy_s = time.perf_counter() - t
    figures: dict[str, Any] = {"records": copied, "records_copy_s": round(copy_s, 1)}
    figures["records_per_s"] = round(copied / copy_s)
    knowledge = service.knowledge
    for name, cache in (("int8_vectors", knowledge.exact), ("bm25", knowledge.lexical)):
        progress(f"building {name}", 0, 1)
        t = time.perf_counter()
        cache.refresh(force=True)
        figures[f"{name}_from_postgres_s"] = round(time.perf_counter() - t, 1)
        cache.save()
    if not index:
        return figures
    progress("filling the Chroma server", 0, 1)
    t = time.perf_counter()
    owned = knowledge.claim_index()
    claim_s = time.perf_counter() - t
    vectors = knowledge.index
    if not owned or vectors is None or knowledge.claimed is None:
        raise RuntimeError("the benchmark could not take the vector index (see the log)")
    indexed = vectors.count()
    progress("filling the Chroma server", 1, 1)
    return figures | {
        "index_owner": type(knowledge.owner).__name__,
        "index_found_on_claim": knowledge.claimed.found,
        "chroma_vectors": indexed,
        "chroma_fill_s": round(claim_s, 1),
        "chroma_vectors_per_s": round(indexed / claim_s),
    }


def copy_records(source: Path, engine: Engine, progress: Progress) -> int:
    """Every row of TABLES from the SQLite knowledge base (opened read-only) into `engine`, CHUNK rows per insert, keys
    kept (then the key sequences moved past them, as a restore does). Returns the incidents copied."""
    reader = create_engine(f"sqlite:///file:{source / 'postmortem.db'}?mode=ro&uri=true")
    try:
        with reader.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(schema.incidents)).scalar_one())
        for table in TABLES:
            last, done = 0, 0
            while True:
                page = select(table).where(table.c.pk > last).order_by(table.c.pk).limit(CHUNK)
                with reader.connect() as conn:
                    rows = [dict(r._mapping) for r in conn.execute(page)]
                if not rows:
                    break
                with engine.begin() as conn:
                    conn.execute(insert(table), rows)
                last, done = rows[-1]["pk"], done + len(rows)
                if table is schema.incidents:
                    progress("records", done, total)
            with engine.begin() as conn:
                db.advance_sequence(conn, table)
    finally:
        reader.dispose()
    return total


def measure(
    service: PostmortemService, query_vectors: np.ndarray, texts: list[str], progress: Progress, *, index: bool = True
) -> dict[str, Any]:
    """End-to-end latency and dense recall@10 as the product runs, then (with `index`) with the dense candidates
    from the Chroma server, and the Chroma index alone against exact numpy."""
    knowledge, limit = service.knowledge, service.knowledge.exact_limit
    pks, matrix = stored_vectors(service)
    progress("search", 0, 3)
    configured = {
        "end_to_end": search_latency(service, texts),
        "end_to_end_breakdown": search_breakdown(service, texts),
        "dense": dense_recall(service, pks, matrix, query_vectors),
    }
    progress("search", 1, 3)
    if not index:
        return {"as_configured": configured}
    vectors = knowledge.index
    assert vectors is not None
    alone = index_vs_exact(vectors, pks, matrix, query_vectors)
    progress("search", 2, 3)
    knowledge.exact_limit = 0  # what the product does above EXACT_LIMIT
    try:
        hnsw = {
            "end_to_end": search_latency(service, texts),
            "dense": dense_recall(service, pks, matrix, query_vectors),
        }
    finally:
        knowledge.exact_limit = limit
    progress("search", 3, 3)
    return {"as_configured": configured, "chroma_hnsw_path": hnsw, "chroma_index_alone": alone}


def stored_vectors(service: PostmortemService) -> tuple[np.ndarray, np.ndarray]:
    """The keys (ascending) and the float32 vectors of every embedded incident, read from PostgreSQL into one array."""
    model, dimension = service.knowledge.embedder.model_id, service.knowledge.embedder.dimension
    count = service.store.feed.embedded_count(model=model)
    pks, matrix = np.empty(count, dtype=np.int64), np.empty((count, dimension), dtype=np.float32)
    for i, (pk, vector) in enumerate(service.store.feed.vector_rows(model=model)):
        pks[i], matrix[i] = pk, vector
    return pks, matrix


def _loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def _database_mb(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("select pg_database_size(current_database())")).scalar_one()) // (MB * MB)


def _server_version(service: PostmortemService) -> str:
    with service.store.engine.connect() as conn:
        return str(conn.execute(text("show server_version")).scalar_one())


def _du_mb(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) // (MB * MB)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="incidents (from 500,000 kept in the model cache)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-index", action="store_true", help="leave the Chroma server empty (records and replicas)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request to the Chroma server otherwise

    def progress(stage: str, done: int, total: int) -> None:
        logger.info("%s %d/%d", stage, done, total)

    result = run(size=args.size, queries=args.queries, seed=args.seed, index=not args.no_index, progress=progress)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
