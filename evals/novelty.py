"""`postmortem bench novelty`: calibrate the cosine threshold below which a failure counts as novel.

For every labelled query, two situations are simulated on the same corpus: its relevant incident is
in the knowledge base (the top similarity should be at or above the threshold: known), or it is not
(the best of all the other incidents should stay below it: novel). The threshold that maximises the
balanced accuracy of that decision is reported with its error rates, from the real embedding model.
"""

from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.config import Settings
from agent_postmortem.ingest.jsonfile import read_json_lines as read_jsonl
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.runtime import make_embedder
from agent_postmortem.store.models import SeedIncident, search_text
from agent_postmortem.store.search.embedding import Embedder

GRID = np.round(np.arange(0.20, 0.90, 0.01), 2)


def similarities(
    embedder: Embedder, docs: list[dict[str, Any]], queries: list[dict[str, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    """(cosine to the relevant incident, best cosine to any other incident), one pair per query."""
    texts = [f"{d.get('title', '')}\n{d.get('text', '')}" for d in docs]
    doc_vectors = embedder.embed(texts, kind="document")
    query_vectors = embedder.embed([q["text"] for q in queries], kind="query")
    position = {str(d["id"]): i for i, d in enumerate(docs)}
    sims = query_vectors @ doc_vectors.T
    known, novel = [], []
    for row, query in enumerate(queries):
        relevant = [position[r] for r in query["relevant_ids"] if r in position]
        if not relevant:
            continue
        known.append(float(sims[row, relevant].max()))
        others = np.delete(sims[row], relevant)
        novel.append(float(others.max()))
    return np.array(known), np.array(novel)


def calibrate(known: np.ndarray, novel: np.ndarray) -> dict[str, Any]:
    """Threshold t: a capture is novel when its best similarity is below t."""
    rows = []
    for t in GRID:
        missed_known = float((known < t).mean())  # a known failure called novel
        missed_novel = float((novel >= t).mean())  # a novel failure matched to something
        rows.append((1 - (missed_known + missed_novel) / 2, float(t), missed_known, missed_novel))
    best = max(rows)
    return {
        "threshold": best[1],
        "balanced_accuracy": round(best[0], 3),
        "known_called_novel": round(best[2], 3),
        "novel_called_known": round(best[3], 3),
        "known_similarity_quantiles": {f"p{q}": round(float(np.percentile(known, q)), 3) for q in (10, 50, 90)},
        "novel_similarity_quantiles": {f"p{q}": round(float(np.percentile(novel, q)), 3) for q in (10, 50, 90)},
        "pairs": len(known),
    }


def recurring_pairs(embedder: Embedder, rows: list[SeedIncident]) -> tuple[np.ndarray, np.ndarray]:
    """Incident against incident: for each member of a recurring group (same category, agent and tool), its best
    cosine to another member (known) and to any non-member (novel)."""
    vectors = embedder.embed([search_text(r) for r in rows], kind="document")
    sims = vectors @ vectors.T
    groups: dict[tuple[str, str | None, str | None], list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault((str(r.category), r.agent, r.tool), []).append(i)
    known, novel = [], []
    for members in (g for g in groups.values() if len(g) > 1):
        outside = [j for j in range(len(rows)) if j not in members]
        for i in members:
            known.append(float(max(sims[i, j] for j in members if j != i)))
            novel.append(float(sims[i, outside].max()))
    return np.array(known), np.array(novel)


def at(threshold: float, known: np.ndarray, novel: np.ndarray) -> dict[str, float]:
    return {
        "known_called_novel": round(float((known < threshold).mean()), 3),
        "novel_called_known": round(float((novel >= threshold).mean()), 3),
    }


def run(
    dataset: Path, queries: Path, seed: Path, *, current: float, embedder: Embedder | None = None
) -> dict[str, Any]:
    embedder = embedder or make_embedder(Settings.from_env())
    q_known, q_novel = similarities(embedder, read_jsonl(dataset), read_jsonl(queries))
    s_known, s_novel = recurring_pairs(embedder, read_incidents(seed))
    return {
        "query_to_incident": {
            "dataset": str(dataset),
            **calibrate(q_known, q_novel),
            "at_current_threshold": at(current, q_known, q_novel),
        },
        "incident_to_incident": {
            "dataset": str(seed),
            **calibrate(s_known, s_novel),
            "at_current_threshold": at(current, s_known, s_novel),
        },
        "current_threshold": current,
    }
