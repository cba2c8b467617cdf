"""`postmortem eval`: draft every case N times with a backend, score each draft, and report pass rates with Wilson
95% intervals per scorer, per case and overall (`summary.py`); compare two runs and flag regressions. The drafts
written without a model (the reference ceiling, the generic floor) are `drafts.py`.

Each case gets its own knowledge base (the seed incidents, so drafts have similar incidents to ground on) and is
drafted through the product's own path (`PostmortemService`), so the scores measure what users get.
"""

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from agent_postmortem.config import Settings
from agent_postmortem.errors import DraftError, DraftTimeout, LLMFailed, LLMUnavailable
from agent_postmortem.evals.cases import Case, LoadedCase
from agent_postmortem.evals.drafts import GENERIC, as_written, reference_draft, seed_of
from agent_postmortem.evals.judge import judge
from agent_postmortem.evals.scorers import SCORERS, Score, score
from agent_postmortem.evals.summary import CaseResult, EvalRun, answer_times, summarize
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.llm.base import LLM
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import (
    Analysis,
    SeedIncident,
)
from agent_postmortem.store.search.embedding import Embedder

Backend = Literal["server", "reference", "generic", "assistant", "assistant-model"]
BACKENDS: tuple[Backend, ...] = ("server", "reference", "generic", "assistant", "assistant-model")
Drafter = Callable[[PostmortemService, str, Case, Path], Analysis]
"""Writes and stores one draft: (the case's service, its incident id, the case, the case's home)."""
SCHEMA = "schema_valid"


def draft_once(service: PostmortemService, incident_id: str, case: Case, backend: Backend) -> Analysis:
    if backend == "server":
        return service.draft_analysis(incident_id)
    if backend == "generic":  # the scorers' floor, scored as written: the product's draft guard refuses it on most
        return as_written(GENERIC)  # cases (its root cause and item name nothing of them: `postmortem bench guard`)
    return service.record_analysis(incident_id, reference_draft(case), generated_by=backend)


def drafter(backend: Backend, settings: Settings, llm: Callable[[], LLM | None], seconds: list[float]) -> Drafter:
    """How a backend writes one draft. The assistant backends go through the real server over stdio
    (evals/assistant.py), written by the case's reference analysis or by the configured model; each
    draft_analysis answer time is added to `seconds`."""
    if backend not in ("assistant", "assistant-model"):
        return lambda service, incident_id, case, home: draft_once(service, incident_id, case, backend)
    from agent_postmortem.evals.assistant import Scripted, write

    def through_mcp(service: PostmortemService, incident_id: str, case: Case, home: Path) -> Analysis:
        writer = Scripted(reference_draft(case)) if backend == "assistant" else llm()
        if writer is None:
            raise LLMUnavailable("--backend assistant-model needs a configured model (docs/drafting.md)")
        written = write(home, incident_id, writer, settings)
        seconds.append(written.seconds)
        return written.analysis

    return through_mcp


@dataclass
class Outage:
    """The model's endpoint failing (HTTP 5xx or 429 after its retries, unreachable): a failed draft costs its sample
    a verdict (unscored), not the run; `limit` failures in a row end the run (the endpoint is down)."""

    limit: int = 3
    in_a_row: int = 0

    def failed(self, error: LLMFailed) -> str:
        self.in_a_row += 1
        if self.in_a_row >= self.limit:
            raise LLMFailed(f"{error} ({self.in_a_row} drafts in a row: the eval stops)")
        return f"unscored: the model's endpoint failed ({str(error)[:200]})"

    def answered(self) -> None:
        self.in_a_row = 0


def run_case(
    loaded: LoadedCase,
    *,
    draft: Drafter,
    samples: int,
    make_service: Callable[[Path], PostmortemService],
    seed: list[SeedIncident],
    similarity: Callable[[list[str], list[str]], list[list[float]]],
    home: Path,
    judge_llm: Callable[[], LLM | None] | None = None,
    outage: Outage | None = None,
) -> CaseResult:
    outage = outage or Outage()
    service = make_service(home / loaded.name)
    if seed:
        service.import_incidents(seed)
    incident_id = service.import_incidents([seed_of(loaded.case)]).ids[0]
    results: list[list[Score]] = []
    for _ in range(samples):
        try:
            analysis = draft(service, incident_id, loaded.case, home / loaded.name)
        except LLMFailed as e:  # the endpoint failed, not the model: no verdict on this sample
            reason = outage.failed(e)
            results.append([Score(name=SCHEMA, passed=None, reason=reason)] + _unscored(reason))
            continue
        except (DraftError, DraftTimeout, ValueError) as e:
            outage.answered()
            reason = f"no valid draft: {str(e)[:200]}"
            results.append([Score(name=SCHEMA, passed=False, reason=reason)] + _unscored(reason))
            continue
        outage.answered()
        scores = [Score(name=SCHEMA, passed=True, reason="valid"), *score(analysis, loaded.case, similarity)]
        if judge_llm is not None:
            scores.append(judge(judge_llm(), analysis, loaded.case))
        results.append(scores)
    return CaseResult(name=loaded.name, kind=loaded.case.kind, samples=results, summary=summarize(results))


def _unscored(reason: str) -> list[Score]:
    return [Score(name=s.__name__, passed=None, reason=reason) for s in SCORERS]


def cosine_similarity(embedder: Embedder) -> Callable[[list[str], list[str]], list[list[float]]]:
    def similarity(a: list[str], b: list[str]) -> list[list[float]]:
        va, vb = embedder.embed(a, kind="document"), embedder.embed(b, kind="document")
        return [[float(x) for x in row] for row in va @ vb.T]

    return similarity


def run(
    cases: list[LoadedCase],
    *,
    backend: Backend = "server",
    samples: int = 1,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    seed_path: Path | None = None,
    judged: bool = False,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> EvalRun:
    from agent_postmortem.evals.recurrence import Cached
    from agent_postmortem.llm.registry import llm_factory
    from agent_postmortem.service.runtime import make_embedder

    started = datetime.now().astimezone()
    settings = settings or Settings.from_env()
    shared = Cached(embedder or make_embedder(settings))
    llm = llm_factory(settings)  # one LLM (one llama.cpp server) for every case

    def make_service(path: Path) -> PostmortemService:
        return build_service(
            Settings.from_env({"POSTMORTEM_HOME": str(path), "POSTMORTEM_LLM": "none"}), embedder=shared, llm=llm
        )

    seed = read_incidents(seed_path) if seed_path else []
    seconds: list[float] = []
    draft = drafter(backend, settings, llm, seconds)
    results = []
    outage = Outage()  # across cases: an endpoint that is down ends the run after a few drafts, not after all
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="postmortem-eval-", ignore_cleanup_errors=True) as home:
        for n, loaded in enumerate(cases):
            results.append(
                run_case(
                    loaded,
                    draft=draft,
                    samples=samples,
                    make_service=make_service,
                    seed=seed,
                    similarity=cosine_similarity(shared),
                    home=Path(home),
                    judge_llm=llm if judged else None,
                    outage=outage,
                )
            )
            progress(n + 1, len(cases))
    model = "reference analysis (scripted), through the MCP server over stdio" if backend == "assistant" else None
    if backend in ("server", "assistant-model"):
        from agent_postmortem.llm.registry import choose_llm

        try:
            choice = choose_llm(settings)
        except LLMUnavailable:
            choice = None
        model = choice.describe if choice else None
    return EvalRun(
        backend=backend,
        model=model,
        samples=samples,
        cases=results,
        overall=summarize([s for r in results for s in r.samples]),
        started_at=started,
        seconds=round(time.perf_counter() - t, 1),
        assistant=answer_times(seconds),
    )
