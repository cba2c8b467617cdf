"""`postmortem bench patterns`: do nearby incidents share a human failure label?

On the AIID incidents that carry GMF labels, for each incident take its 5 nearest labelled neighbours
(cosine, the real embedding model) and count the share that has at least one `known_ai_technical_failure`
label in common; the same for 5 random neighbours as the floor. Then the same share among the members of
each recurring pattern that `agent_postmortem.analysis.patterns` finds on those incidents (pattern purity).
"""

import random
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.analysis import patterns
from agent_postmortem.config import Settings
from agent_postmortem.evals.retrieval import read_jsonl
from agent_postmortem.service.runtime import make_embedder
from agent_postmortem.store.search.embedding import Embedder

FIELD = "known_ai_technical_failure"


def _share(labels: list[set[str]], i: int, others: list[int]) -> float:
    return sum(1 for j in others if labels[i] & labels[j]) / len(others)


def run(dataset: Path, *, k: int = 5, embedder: Embedder | None = None, seed: int = 0) -> dict[str, Any]:
    rows = [r for r in read_jsonl(dataset) if (r.get("labels") or {}).get("gmf", {}).get(FIELD)]
    labels = [set(r["labels"]["gmf"][FIELD]) for r in rows]
    vectors = (embedder or make_embedder(Settings.from_env())).embed(
        [f"{r['title']}\n{r['text']}" for r in rows], kind="document"
    )
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -1.0)
    rng = random.Random(seed)
    nearest = [float(_share(labels, i, list(np.argsort(-sims[i])[:k]))) for i in range(len(rows))]
    randomly = [_share(labels, i, rng.sample([j for j in range(len(rows)) if j != i], k)) for i in range(len(rows))]
    members = [patterns.Member(i, r["title"], "aiid", None, None, None) for i, r in enumerate(rows)]
    found = patterns.groups(members, vectors, min_size=3)
    purity = [float(np.mean([_share(labels, i, [j for j in g if j != i]) for i in g])) for g in found]
    return {
        "dataset": str(dataset),
        "labelled_incidents": len(rows),
        f"neighbourhood_label_agreement_at_{k}": round(float(np.mean(nearest)), 3),
        f"random_label_agreement_at_{k}": round(float(np.mean(randomly)), 3),
        "patterns_found": len(found),
        "incidents_in_patterns": sum(len(g) for g in found),
        "mean_pattern_purity": round(float(np.mean(purity)), 3) if purity else None,
        "references": {"MiniLM neighbourhood agreement (data README)": 0.40, "random": 0.17},
    }
