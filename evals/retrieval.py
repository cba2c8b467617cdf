"""`postmortem bench retrieval`: how well search finds the right past incident, dense vs lexical vs hybrid.

Indexes a corpus (JSONL rows with `id`, `title`, `text`) into a fresh knowledge base with the real
embedding model, runs every query (JSONL rows with `text` and `relevant_ids`) through the service's
search in each mode, and reports Recall@1/5/10 and MRR (over the top 100) for each, in one run.
"""

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import numpy as np

from agent_postmortem.config import Settings
from agent_postmortem.evals.novelty import GRID, calibrate
from agent_postmortem.ingest.jsonfile import read_json_lines
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.retrieval import WEAK_MATCH_BELOW
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.ids import incident_pk
from agent_postmortem.store.models import SeedIncident
from agent_postmortem.store.search.knowledge import Mode

REFERENCES = {"tf-idf MRR (AIID dev, README of the data)": 0.534, "plain MiniLM MRR (same)": 0.627}
DEPTH = 100


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return read_json_lines(path)


def corpus_rows(rows: list[dict[str, Any]]) -> list[SeedIncident]:
    return [
        SeedIncident(
            title=(r.get("title") or r["text"])[:200],
            description=r.get("text", "")[:20_000],
            source_id=str(r["id"]),
            status="resolved",
        )
        for r in rows
    ]


def scores(ranks: list[int | None]) -> dict[str, float]:
    """Recall@k and MRR from the 1-based rank of the relevant incident per query (None: not in the top DEPTH)."""
    n = len(ranks)
    recall = {f"recall@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in (1, 5, 10)}
    return {**{k: round(v, 4) for k, v in recall.items()}, "mrr": round(sum(1 / r for r in ranks if r) / n, 4)}


def evaluate(
    service: PostmortemService,
    queries: list[dict[str, Any]],
    by_incident: dict[str, str],
    progress: Callable[[int], None] = lambda n: None,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode in get_args(Mode):
        ranks: list[int | None] = []
        latencies = []
        for query in queries:
            relevant = set(query["relevant_ids"])
            started = time.perf_counter()
            hits = service.search_incidents(query=query["text"][:2000], limit=DEPTH, mode=mode).hits
            latencies.append((time.perf_counter() - started) * 1000)
            found = [i for i, h in enumerate(hits, start=1) if by_incident.get(h.id) in relevant]
            ranks.append(found[0] if found else None)
            progress(1)
        results[mode] = {**scores(ranks), "search_ms_p50": round(statistics.median(latencies), 2)}
    return results


REAL_CALLED_WEAK = 0.10  # the share of searches with a real match that the weak-match note may wrongly flag


def weak_match(
    service: PostmortemService, queries: list[dict[str, Any]], by_incident: dict[str, str]
) -> dict[str, Any]:
    """Calibrate the weak-match threshold: the cosine of the best hit (a hybrid search's first) when the query's
    relevant incident is in the knowledge base, against the same with it left out (a question with no real match).
    The threshold is the highest at which at most REAL_CALLED_WEAK of the real matches are called weak; the one of
    the best balanced accuracy is reported beside it."""
    pks = {source: incident_pk(id_) for id_, source in by_incident.items()}
    best: dict[bool, list[float]] = {True: [], False: []}
    for query in queries:
        text, relevant = query["text"][:2000], {pks[r] for r in query["relevant_ids"] if r in pks}
        for matched, exclude in ((True, set()), (False, relevant)) if relevant else ():
            hits = service.retrieval.similar(None, text, limit=1, exclude=exclude)
            best[matched].append(hits[0].score if hits else 0.0)
    real, none = np.array(best[True]), np.array(best[False])

    def at(t: float) -> dict[str, float]:
        return {
            "threshold": round(float(t), 2),
            "real_match_called_weak": round(float((real < t).mean()), 3),
            "no_match_called_weak": round(float((none < t).mean()), 3),
        }

    chosen = max((t for t in GRID if (real < t).mean() <= REAL_CALLED_WEAK), default=GRID[0])
    balanced = calibrate(real, none)
    return {
        "chosen": at(chosen),
        "best_balanced_accuracy": {**at(balanced["threshold"]), "balanced_accuracy": balanced["balanced_accuracy"]},
        "in_use": at(WEAK_MATCH_BELOW),
        "best_cosine_with_a_match": balanced["known_similarity_quantiles"],
        "best_cosine_without": balanced["novel_similarity_quantiles"],
        "queries": len(real),
    }


def run(
    dataset: Path,
    queries_path: Path,
    *,
    home: Path | None = None,
    progress: Callable[[str, int, int], None] = lambda stage, done, total: None,
) -> dict[str, Any]:
    if home is None:  # a temporary knowledge base, removed after
        with tempfile.TemporaryDirectory(prefix="postmortem-bench-", ignore_cleanup_errors=True) as folder:
            return run(dataset, queries_path, home=Path(folder), progress=progress)
    rows, queries = read_jsonl(dataset), read_jsonl(queries_path)
    service = build_service(Settings.from_env({"POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none"}))
    started = time.perf_counter()
    done = [0]

    def tick(stage: str, total: int) -> Callable[[int], None]:
        def advance(n: int) -> None:
            done[0] += n
            progress(stage, done[0], total)

        return advance

    imported = service.import_incidents(corpus_rows(rows), progress=tick("indexing", len(rows)))
    index_seconds = time.perf_counter() - started
    by_incident = {i.id: i.source_id or "" for i in service.store.list_incidents(limit=len(rows) + 1)}
    done[0] = 0
    modes = evaluate(service, queries, by_incident, progress=tick("searching", 3 * len(queries)))
    best_single = max(modes["dense"]["mrr"], modes["lexical"]["mrr"])
    weak = weak_match(service, queries, by_incident)
    return {
        "dataset": str(dataset),
        "queries": len(queries),
        "incidents": imported.imported,
        "skipped_duplicates": imported.skipped_duplicates,
        "index_seconds": round(index_seconds, 1),
        "modes": modes,
        "hybrid_gain_over_best_single_mrr": round(modes["hybrid"]["mrr"] - best_single, 4),
        "references": REFERENCES,
        "weak_match": weak,
        "embedding_model": service.knowledge.embedder.model_id,
    }
