"""`postmortem bench perf`, the parts about growth: the dense path's recall against exact float32 at each size, the
server-side cost of a capture by stage, references measured in the same run (bare numpy, bm25s, bare ONNX, a bare
fsync), how each cost grows with the size (log-log slope), and large knowledge bases kept between runs.

A knowledge base of 500k incidents or more takes long to build on two cores (its synthetic rows are written in
minutes, then the product indexes them), so it is built once into the model cache (`perf-corpus/`, keyed by the
seed, the data and the database schema) with its build figures, and reused as it is by later runs: its search figures
are measured afresh each time, its build figures come from the run that built it.
"""

import hashlib
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from agent_postmortem.service import capture as capture_module
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.records.revision import head_revision

K = 10
CACHE_FROM = 500_000  # knowledge bases this large are built once and kept in the model cache
CORPUS_VERSION = 1  # bump when the synthetic corpus changes


# --- large knowledge bases, kept between runs ----------------------------------------------------


def corpus_dir(model_cache: Path, n: int, *, seed: int, data: Path) -> Path:
    """Where the knowledge base of `n` incidents for this seed, data and schema is kept."""
    stat = (data / "incidents.jsonl").stat()
    key = f"v{CORPUS_VERSION}-{seed}-{stat.st_size}-{head_revision()}"
    return model_cache / "perf-corpus" / hashlib.sha256(key.encode()).hexdigest()[:12] / f"kb-{n}"


def kept_build(home: Path) -> dict[str, Any] | None:
    """The build figures of a kept knowledge base, or None when it is missing or was not finished."""
    marker = home / "built.json"
    return dict(json.loads(marker.read_text(encoding="utf-8"))) if marker.is_file() else None


def keep_build(home: Path, figures: dict[str, Any]) -> None:
    (home / "built.json").write_text(json.dumps(figures), encoding="utf-8")


# --- the dense path against exact float32 ----------------------------------------------------------


def dense_recall(
    service: PostmortemService, pks: np.ndarray, matrix: np.ndarray, queries: np.ndarray
) -> dict[str, Any]:
    """The product's dense candidates (KnowledgeBase._dense, n=K) against the exact float32 top K over the same
    vectors (bare numpy: `matrix @ q` + argpartition), per query: recall@K (ties within 1e-6 count) and both
    latencies."""
    knowledge = service.knowledge
    recalls, product_s, numpy_s = [], [], []
    for q in queries:
        t = time.perf_counter()
        scores = matrix @ q
        top = np.argpartition(-scores, K - 1)[:K]
        numpy_s.append(time.perf_counter() - t)
        kth = float(np.partition(-scores, K - 1)[K - 1]) * -1
        t = time.perf_counter()
        found = [pk for pk, _ in knowledge._dense(q, K, SearchFilters())]
        product_s.append(time.perf_counter() - t)
        rows = np.searchsorted(pks, found)
        recalls.append(float((scores[rows] >= kth - 1e-6).sum()) / K)
        del top
    exact = knowledge.exact.count() <= knowledge.exact_limit
    dense_path = knowledge.exact.describe() if exact else "chromadb HNSW"
    return {
        "dense_path": dense_path,
        f"recall_at_{K}_vs_exact_float32": round(statistics.fmean(recalls), 4),
        "product_dense_top10": stats(product_s),
        "reference_numpy_float32_top10": stats(numpy_s),
    }


def stats(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds, dtype=np.float64) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3)}


# --- references ------------------------------------------------------------------------------------


def bm25s_reference(service: PostmortemService, texts: list[str]) -> dict[str, Any]:
    """bm25s alone over the same incident texts: its build time and its scoring time for the same queries, next to
    the product's lexical scoring (store/search/lexical.py)."""
    import bm25s

    lexical = service.knowledge.lexical
    rows = [text for _, text in service.store.feed.lexical_rows()]
    t = time.perf_counter()
    corpus = bm25s.tokenize(rows, stopwords="en", stemmer=lexical._stem, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    build_s = time.perf_counter() - t
    ours, theirs = [], []
    for text in texts:
        terms = lexical.tokens(text)
        known = [w for w in terms if w in retriever.vocab_dict]
        t = time.perf_counter()
        if known:
            retriever.get_scores(known)
        theirs.append(time.perf_counter() - t)
        t = time.perf_counter()
        lexical.scores(text)
        ours.append(time.perf_counter() - t)
    return {"bm25s_build_s": round(build_s, 2), "bm25s_scores": stats(theirs), "product_bm25_scores": stats(ours)}


def fsync_reference(folder: Path, commits: int = 50) -> dict[str, float]:
    """One small committed insert in a scratch SQLite database with the store's settings (WAL, synchronous=FULL) on
    the same disk: what a durable write costs here, whatever the product does around it."""
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        conn = sqlite3.connect(Path(scratch) / "fsync.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (x BLOB)")
        times = []
        for _ in range(commits):
            t = time.perf_counter()
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t VALUES (?)", (os.urandom(2048),))
            conn.execute("COMMIT")
            times.append(time.perf_counter() - t)
        conn.close()
    return stats(times)


# --- capture, stage by stage -----------------------------------------------------------------------


class StageTimers:
    """Adds up the time spent in wrapped callables (methods of live objects, or functions of a module), and puts
    everything back on `restore`."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner: object, name: str, label: str) -> None:
        inner = getattr(owner, name)
        spent = self.spent

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t

        had = isinstance(owner, ModuleType) or name in vars(owner)
        setattr(owner, name, timed)
        self._undo.append((lambda: setattr(owner, name, inner)) if had else (lambda: delattr(owner, name)))

    def restore(self) -> None:
        while self._undo:
            self._undo.pop()()


CAPTURE_STAGES = (
    "redaction",
    "duplicate_signature_lookup",
    "embedding",
    "classification_similar_search",
    "classification_pattern_lookup",
    "classification_category_and_rest",
    "write_with_fsync",
    "index_sync_vector_index",
    "index_sync_search_caches",
)


def _wrap_capture(service: PostmortemService, timers: StageTimers) -> None:
    kb, capture = service.knowledge, service.capture
    timers.wrap(capture_module, "redact_model", "redaction")
    timers.wrap(service.store, "find_open_by_signature", "duplicate_signature_lookup")
    timers.wrap(kb, "embed_documents", "embedding")
    timers.wrap(capture, "_classify", "classification")
    timers.wrap(capture.retrieval, "similar", "classification_similar_search")
    timers.wrap(capture.recurrence, "joined", "classification_pattern_lookup")
    timers.wrap(service.store, "create", "write_with_fsync")
    timers.wrap(kb.holder, "_drain", "index_sync_vector_index")
    timers.wrap(kb.exact, "refresh", "exact_refresh")
    timers.wrap(kb.lexical, "refresh", "lexical_refresh")


def capture_breakdown(
    service: PostmortemService, sentences: list[str], rng: np.random.Generator, captures: int = 60
) -> dict[str, Any]:
    """Server-side capture (PostmortemService.capture_incident, new incidents, no LLM) by stage, p50/p95 of each,
    with the same document embedded by the bare embedder and a bare SQLite commit as references."""
    texts = [" ".join(rng.choice(sentences, 3)) for _ in range(captures + 5)]
    data = [
        IncidentCreate(title=f"{t[:80]} #{i}", description=t, error_message=f"E{i:05d} {t[:40]}", agent="bench")
        for i, t in enumerate(texts)
    ]
    for item in data[:5]:  # warm-up
        service.capture_incident(item)
    timers = StageTimers()
    _wrap_capture(service, timers)
    per: dict[str, list[float]] = {label: [] for label in (*CAPTURE_STAGES, "other", "total")}
    try:
        for item in data[5:]:
            timers.spent.clear()
            t = time.perf_counter()
            service.capture_incident(item)
            total = time.perf_counter() - t
            _record(per, timers.spent, total)
    finally:
        timers.restore()
    bare = []
    for item in data[5:25]:
        t = time.perf_counter()
        service.knowledge.embedder.embed([item.title + "\n" + (item.description or "")], kind="document")
        bare.append(time.perf_counter() - t)
    return {
        "captures": captures,
        "stages": {label: stats(values) for label, values in per.items()},
        "reference_bare_embedding": stats(bare),
    }


def _record(per: dict[str, list[float]], spent: dict[str, float], total: float) -> None:
    similar, pattern = spent.get("classification_similar_search", 0.0), spent.get("classification_pattern_lookup", 0.0)
    spent = dict(spent)
    spent["classification_category_and_rest"] = spent.pop("classification", 0.0) - similar - pattern
    spent["index_sync_search_caches"] = spent.pop("exact_refresh", 0.0) + spent.pop("lexical_refresh", 0.0)
    for label in CAPTURE_STAGES:
        per[label].append(spent.get(label, 0.0))
    per["other"].append(total - sum(spent.get(label, 0.0) for label in CAPTURE_STAGES))
    per["total"].append(total)


# --- growth ----------------------------------------------------------------------------------------


def slopes(sizes: Sequence[int], figures: Mapping[str, Sequence[float | None]]) -> dict[str, float | None]:
    """log-log slope of each figure against the size (1: linear, 0: flat), over the sizes where it was measured."""
    out: dict[str, float | None] = {}
    for name, values in figures.items():
        pairs = [(n, v) for n, v in zip(sizes, values, strict=True) if v is not None and v > 0]
        if len(pairs) < 2:
            out[name] = None
            continue
        x, y = np.log([p[0] for p in pairs]), np.log([p[1] for p in pairs])
        out[name] = round(float(np.polyfit(x, y, 1)[0]), 2)
    return out
