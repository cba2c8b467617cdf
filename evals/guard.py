"""`postmortem bench guard`: what the draft guard (analysis/draft_guard.py) refuses. It must refuse none of the
reference analyses of the eval cases (in the draft schema, as `postmortem eval --backend reference` drafts them), and
it should refuse the junk a weak model writes (and, on most cases, the eval's generic floor, which names nothing of
the incident): measured on raw drafts of the configured LLM over the same cases,
kept in a JSONL file (one line per case: case, draft or error, seconds, model) so they are drafted once.

`--generate` drafts the cases that the file does not hold yet with the configured LLM (POSTMORTEM_LLM=local: the
bundled SmolLM2-135M, about a minute a draft on one core), through the product's prompt and schema but without the
guard, its repair round or any storing: the answer as the model gave it.
"""

import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent_postmortem.analysis.draft_guard import CHECKS, Similarity, check_draft
from agent_postmortem.analysis.verify import wilson
from agent_postmortem.errors import DraftError, LLMUnavailable
from agent_postmortem.evals.cases import LoadedCase
from agent_postmortem.evals.drafts import GENERIC, seed_of
from agent_postmortem.evals.guard_relevance import case_pairs, nearest, neighbours_of
from agent_postmortem.evals.recurrence import Cached
from agent_postmortem.store.models import AnalysisDraft, Incident
from agent_postmortem.store.search.embedding import Embedder


def _refusals(
    drafts: list[tuple[str, AnalysisDraft]],
    cases: dict[str, Incident],
    similarity: Similarity | None,
    neighbours: dict[str, list[Incident]],
) -> dict[str, Any]:
    refused: dict[str, list[str]] = {}
    by_check: Counter[str] = Counter()
    ran = [c for c in CHECKS if similarity is not None or c != "relevant"]
    for name, draft in drafts:
        verdict = check_draft(draft, cases[name], similarity, neighbours.get(name, []))
        if verdict.problems:
            refused[name] = verdict.problems
            by_check.update(c for c in ran if c not in verdict.passed)
    low, high = _interval(len(refused), len(drafts))
    return {
        "drafts": len(drafts),
        "refused": len(refused),
        "rate": round(len(refused) / len(drafts), 3) if drafts else None,
        "interval": [low, high],
        "by_check": dict(by_check.most_common()),
        "refused_cases": refused,
    }


def _interval(k: int, n: int) -> tuple[float, float]:
    if not n:
        return 0.0, 1.0
    r = wilson(k, n)
    return round(r.low, 3), round(r.high, 3)


def read_drafts(path: Path) -> tuple[list[tuple[str, AnalysisDraft]], list[str], set[str]]:
    """(case, draft) pairs, the cases whose model gave no valid draft, and the models that wrote them."""
    drafts, failed, models = [], [], set()
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        models.add(str(row.get("model")))
        try:
            drafts.append((row["case"], AnalysisDraft.model_validate(row["draft"])))
        except (ValidationError, TypeError):
            failed.append(row["case"])
    return drafts, failed, models


def cosine_of(embedder: Embedder) -> Similarity:
    """The guard's similarity by `embedder`, each text embedded once."""
    cached = Cached(embedder)

    def similarity(a: str, b: str) -> float:
        x, y = cached.embed([a, b], kind="document")
        return float(x @ y)

    return similarity


def run(cases: list[LoadedCase], drafts_path: Path | None, similarity: Similarity | None = None) -> dict[str, Any]:
    """Each draft checked against its case's incident, with (given `similarity`) the relevance check and the
    incident's nearest other cases as its neighbours in the store (evals/guard_relevance.py)."""
    pairs = case_pairs(cases)
    by_name = {name: incident for name, _, incident in pairs}
    near: dict[str, list[Incident]] = {}
    if similarity is not None:
        incidents, ranked = list(by_name.values()), nearest(list(by_name.values()), similarity)
        near = {name: neighbours_of(incidents, ranked, b) for b, name in enumerate(by_name)}
    result: dict[str, Any] = {
        "reference": _refusals([(n, d) for n, d, _ in pairs], by_name, similarity, near),
        "generic": _refusals([(c.name, GENERIC) for c in cases], by_name, similarity, near),
    }
    if drafts_path is not None and drafts_path.is_file():
        drafts, failed, models = read_drafts(drafts_path)
        drafts = [(n, d) for n, d in drafts if n in by_name]
        result["model_drafts"] = {
            "file": str(drafts_path),
            "models": sorted(models),
            "no_valid_draft": [n for n in failed if n in by_name],
            **_refusals(drafts, by_name, similarity, near),
        }
    return result


def generate(
    cases: list[LoadedCase], out: Path, *, seed: Path, progress: Callable[[int, int], None] = lambda d, t: None
) -> None:
    """Draft every case `out` does not hold yet with the configured LLM, as the model answers (no guard, no repair
    for the guard, nothing stored), appending a line per case."""
    from agent_postmortem.config import Settings
    from agent_postmortem.evals.recurrence import Cached
    from agent_postmortem.ingest.jsonl import read_incidents
    from agent_postmortem.llm.registry import llm_factory
    from agent_postmortem.service.runtime import build_service, make_embedder

    settings = Settings.from_env()
    embedder, provider, past = Cached(make_embedder(settings)), llm_factory(settings), read_incidents(seed)
    done = (
        {json.loads(line)["case"] for line in out.read_text(encoding="utf-8").splitlines()} if out.is_file() else set()
    )
    todo = [c for c in cases if c.name not in done]
    with tempfile.TemporaryDirectory(prefix="postmortem-guard-", ignore_cleanup_errors=True) as home:
        for n, loaded in enumerate(todo):
            env = {"POSTMORTEM_HOME": f"{home}/{loaded.name}", "POSTMORTEM_LLM": "none"}
            service = build_service(Settings.from_env(env), embedder=embedder, llm=provider)
            service.import_incidents(past)
            context = service.draft_context(service.import_incidents([seed_of(loaded.case)]).ids[0])
            llm = provider()
            if llm is None:
                raise LLMUnavailable("no LLM is configured: set POSTMORTEM_LLM=local or an endpoint")
            row: dict[str, Any] = {"case": loaded.name, "model": llm.model, "draft": None, "error": None}
            t = time.perf_counter()
            try:
                row["draft"] = llm.parse(system=context.system, user=context.user, output=AnalysisDraft).model_dump(
                    mode="json"
                )
            except DraftError as e:
                row["error"] = str(e)[:300]
            row["seconds"] = round(time.perf_counter() - t, 1)
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            progress(n + 1, len(todo))
