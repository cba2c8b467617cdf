"""BM25 in a kept benchmark home: scoring every posting (the dense array, its top k by `argpartition`, the candidates
looked up in it: what search did before) against the pruned top k and the candidates' scores (search/bm25_top.py),
interleaved query by query in one process on the benchmark's queries, and the whole search both ways.

    python -m agent_postmortem.evals.perf_bm25 HOME [--queries 100] [--k 100]

HOME is a home `postmortem bench perf` built (opened read-only, as its searches do); prints JSON: p50/p95 of each way
(ms) and of the per-query ratio pruned / full, and whether every answer was the same.
"""

import argparse
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.config import Settings
from agent_postmortem.evals.perf_corpus import AIID, SEED, bench_service, pick_queries
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.runtime import make_embedder
from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.search.knowledge import POOL
from agent_postmortem.store.search.lexical import LexicalIndex

Ranked = tuple[list[tuple[int, float]], np.ndarray]


def full_ranked(lexical: LexicalIndex) -> Callable[..., Ranked]:
    """`LexicalIndex.ranked` computed the former way: every row scored, then picked from."""

    def ranked(query: str, *, k: int, pks: Sequence[int] = ()) -> Ranked:
        keys, scores = lexical.scores(query)
        best: list[tuple[int, float]] = []
        if len(keys) and k > 0:
            top = np.argpartition(-scores, min(k, len(keys)) - 1)[:k]
            best = [(int(keys[i]), float(scores[i])) for i in top if scores[i] > 0]
        where = np.clip(np.searchsorted(keys, pks), 0, max(len(keys) - 1, 0))
        found = keys[where] == np.asarray(pks) if len(keys) else np.zeros(len(pks), bool)
        return best, np.where(found, scores[where] if len(keys) else 0.0, 0.0)

    return ranked


def _same(a: Ranked, b: Ranked) -> bool:
    """The same scores for the candidates and the same top k (as sets of scores: ties may pick other keys)."""
    return bool(np.array_equal(a[1], b[1])) and sorted(s for _, s in a[0]) == sorted(s for _, s in b[0])


def _stats(times: list[float]) -> dict[str, float]:
    p50, p95 = np.percentile(times, [50, 95]) * 1e3
    return {"p50_ms": round(float(p50), 2), "p95_ms": round(float(p95), 2)}


def _ratio(new: list[float], old: list[float]) -> dict[str, float]:
    ratios = np.asarray(new) / np.asarray(old)
    return {"p50": round(float(np.median(ratios)), 3), "p95": round(float(np.percentile(ratios, 95)), 3)}


def _interleaved(ways: dict[str, Callable[[int], Any]], queries: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in ways}
    for i in range(queries):
        names = list(ways) if i % 2 == 0 else list(ways)[::-1]  # each way first on every other query
        for name in names:
            t = time.perf_counter()
            ways[name](i)
            times[name].append(time.perf_counter() - t)
    return times


def run(home: Path, *, queries: int = 100, k: int = POOL, seed: int = 0) -> dict[str, Any]:
    settings = Settings.from_env(dict(os.environ))
    embedder = make_embedder(settings)
    service = bench_service(home, embedder, claim=False)
    kb = service.knowledge
    kb.warm()
    texts = pick_queries(AIID, read_incidents(SEED), queries, random.Random(seed))
    vectors = embedder.embed(texts, kind="query")
    dense = [[pk for pk, _ in kb._dense(v, POOL, SearchFilters())] for v in vectors]
    lexical, full = kb.lexical, full_ranked(kb.lexical)
    same = all(_same(lexical.ranked(t, k=k, pks=d), full(t, k=k, pks=d)) for t, d in zip(texts, dense, strict=True))
    bm25 = _interleaved(
        {
            "full": lambda i: full(texts[i], k=k, pks=dense[i]),
            "pruned": lambda i: lexical.ranked(texts[i], k=k, pks=dense[i]),
        },
        len(texts),
    )
    pruned_ranked = lexical.ranked

    def search(way: Callable[..., Ranked]) -> Callable[[int], Any]:
        def one(i: int) -> Any:
            lexical.ranked = way  # type: ignore[method-assign]
            return service.search_incidents(query=texts[i], limit=5)

        return one

    try:
        ways = (full, pruned_ranked)
        hits = [[(h.id, h.lexical_score) for h in search(w)(i).hits] for i in range(len(texts)) for w in ways]
        search_times = _interleaved({"full": search(full), "pruned": search(pruned_ranked)}, len(texts))
    finally:
        lexical.ranked = pruned_ranked  # type: ignore[method-assign]
    return {
        "home": str(home),
        "incidents": kb.lexical.count(),
        "queries": len(texts),
        "k": k,
        "same_answers": same and hits[0::2] == hits[1::2],
        "bm25": {name: _stats(times) for name, times in bm25.items()} | {"ratio": _ratio(bm25["pruned"], bm25["full"])},
        "search": {name: _stats(t) for name, t in search_times.items()}
        | {"ratio": _ratio(search_times["pruned"], search_times["full"])},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("home", type=Path)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--k", type=int, default=POOL)
    args = parser.parse_args()
    print(json.dumps(run(args.home, queries=args.queries, k=args.k), indent=2))  # noqa: T201 - a command's output


if __name__ == "__main__":
    main()
