"""`postmortem bench recurrence`: does capture spot a failure that came back after its fix, on real incidents?

AIID incidents go into a knowledge base, each with one action item. The labelled queries (other news
reports of the same incidents) are split in three, and each query is classified through the real service
(the dry run of capture, so queries never see each other):

- fixed: its incident is in the knowledge base with its item completed -> should be flagged
  `recurred_after_fix`, with that item among the fixed items;
- in progress: its incident's item is still open -> should not be flagged, and the open item should be
  surfaced instead of drafting a new one;
- novel: its incident was left out of the knowledge base -> should not be flagged.

Every other incident's item is completed, so any wrong match of an in-progress or novel query shows up
as a false "recurred after fix". News reports of one event by different outlets are a hard test: they share
the event, not the wording of an incident report.

The seed knowledge base is the product's own setting (incident reports of agent failures, with agent, tool
and error): leave each incident out in turn, load the other 44 with every item completed, and capture the
one left out. It should be flagged exactly when it belongs to a recurring group (same category, agent and
tool), i.e. when a sibling whose fix was completed is in the knowledge base.
"""

import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.analysis.classify import NOVELTY_THRESHOLD
from agent_postmortem.config import Settings
from agent_postmortem.evals.retrieval import corpus_rows, read_jsonl
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import ActionStatus, IncidentCreate, SeedActionItem
from agent_postmortem.store.search.embedding import Embedder, Kind


class Cached:
    """An embedder that embeds each text once (the leave-one-out runs load the same texts 45 times)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.model_id, self.dimension = inner, inner.model_id, inner.dimension
        self.cache: dict[tuple[str, str], np.ndarray] = {}

    def embed(self, texts: list[str], *, kind: Kind) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self.cache))
        if missing:
            for text, vector in zip(missing, self.inner.embed(missing, kind=kind), strict=True):
                self.cache[(kind, text)] = vector
        return np.vstack([self.cache[(kind, t)] for t in texts])


def seed_leave_one_out(seed_path: Path, embedder: Embedder, home: Path) -> dict[str, Any]:
    rows = read_incidents(seed_path)
    group = Counter((str(r.category), r.agent, r.tool) for r in rows)
    cached = Cached(embedder)
    tp = fp = fn = tn = 0
    for i, held in enumerate(rows):
        others = [
            r.model_copy(update={"action_items": [SeedActionItem(title="The fix", status="completed")]}) for r in rows
        ]
        del others[i]
        service = build_service(
            Settings.from_env({"POSTMORTEM_HOME": str(home / str(i)), "POSTMORTEM_LLM": "none"}), embedder=cached
        )
        service.import_incidents(others)
        capture = IncidentCreate.model_validate(held.model_dump(include=set(IncidentCreate.model_fields)))
        flagged = service.classify_incident(capture).recurred_after_fix
        expected = group[(str(held.category), held.agent, held.tool)] > 1
        tp, fp = tp + (flagged and expected), fp + (flagged and not expected)
        fn, tn = fn + (expected and not flagged), tn + (not expected and not flagged)
    return {
        "dataset": str(seed_path),
        "recurring": tp + fn,
        "one_off": fp + tn,
        "recall": _rate(tp, tp + fn),
        "precision": _rate(tp, tp + fp),
        "false_flag_one_off": _rate(fp, fp + tn),
    }


def _rate(hits: int, n: int) -> float | None:
    return round(hits / n, 3) if n else None


def run(
    dataset: Path,
    queries_path: Path,
    seed_path: Path,
    *,
    home: Path | None = None,
    seed: int = 0,
    progress: Callable[[str, int, int], None] = lambda stage, done, total: None,
) -> dict[str, Any]:
    if home is None:  # a temporary knowledge base, removed after
        with tempfile.TemporaryDirectory(prefix="postmortem-bench-", ignore_cleanup_errors=True) as folder:
            return run(dataset, queries_path, seed_path, home=Path(folder), seed=seed, progress=progress)
    rows, queries = read_jsonl(dataset), read_jsonl(queries_path)
    # split by incident (several queries share one), so that each incident is in exactly one condition
    incidents = sorted({r for q in queries for r in q["relevant_ids"]})
    random.Random(seed).shuffle(incidents)
    third = len(incidents) // 3
    fixed_ids, open_ids, kept_out = (
        set(incidents[:third]),
        set(incidents[third : 2 * third]),
        set(incidents[2 * third :]),
    )

    def only(ids: set[str]) -> list[dict[str, Any]]:
        return [q for q in queries if set(q["relevant_ids"]) <= ids]

    fixed, in_progress, novel = only(fixed_ids), only(open_ids), only(kept_out)
    corpus = [r for r in rows if str(r["id"]) not in kept_out]
    seeds = corpus_rows(corpus)
    for row, incident in zip(seeds, corpus, strict=True):
        status: ActionStatus = "open" if str(incident["id"]) in open_ids else "completed"
        row.action_items = [SeedActionItem(title=f"Fix for AIID incident {incident['id']}", status=status)]

    service = build_service(Settings.from_env({"POSTMORTEM_HOME": str(home / "aiid"), "POSTMORTEM_LLM": "none"}))
    done = [0]

    def indexed(n: int) -> None:
        done[0] += n
        progress("indexing", done[0], len(seeds))

    service.import_incidents(seeds, progress=indexed)
    by_incident = {i.id: i.source_id or "" for i in service.store.list_incidents(limit=len(seeds) + 1)}

    def classify(query: dict[str, Any]) -> Any:
        text = query["text"][:20_000]
        return service.classify_incident(IncidentCreate(title=text[:200], description=text))

    started = time.perf_counter()
    counts = {"fixed_flagged": 0, "fixed_item_named": 0, "fixed_full_triage": 0}
    for q in fixed:
        result = classify(q)
        relevant = set(q["relevant_ids"])
        counts["fixed_flagged"] += result.recurred_after_fix
        counts["fixed_item_named"] += any(by_incident.get(a.incident_id) in relevant for a in result.fixed_action_items)
        counts["fixed_full_triage"] += result.triage == "full"
    progress_flags = surfaced = 0
    for q in in_progress:
        result = classify(q)
        progress_flags += result.recurred_after_fix
        surfaced += any(by_incident.get(a.incident_id) in set(q["relevant_ids"]) for a in result.open_action_items)
    novel_flags = sum(classify(q).recurred_after_fix for q in novel)
    seconds = time.perf_counter() - started
    false_flags = progress_flags + novel_flags
    flagged = counts["fixed_flagged"] + false_flags
    progress("seed leave-one-out", 0, 1)
    own = seed_leave_one_out(seed_path, service.knowledge.embedder, home / "seed")
    return {
        "seed_leave_one_out": own,
        "dataset": str(dataset),
        "incidents": len(seeds),
        "queries": {"fixed": len(fixed), "in_progress": len(in_progress), "novel": len(novel)},
        "threshold": NOVELTY_THRESHOLD,
        "recurred_after_fix": {
            "recall": _rate(counts["fixed_flagged"], len(fixed)),
            "precision": _rate(counts["fixed_flagged"], flagged),
            "fixed_item_named": _rate(counts["fixed_item_named"], len(fixed)),
            "full_triage_when_recurred": _rate(counts["fixed_full_triage"], len(fixed)),
            "false_flag_in_progress": _rate(progress_flags, len(in_progress)),
            "false_flag_novel": _rate(novel_flags, len(novel)),
        },
        "open_items_surfaced": _rate(surfaced, len(in_progress)),
        "classify_ms_mean": round(1000 * seconds / max(1, len(fixed) + len(in_progress) + len(novel)), 1),
        "embedding_model": service.knowledge.embedder.model_id,
    }
