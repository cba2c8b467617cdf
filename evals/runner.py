"""`postmortem eval`: draft every case N times with a backend, score each draft, and report pass rates with Wilson
95% intervals per scorer, per case and overall; compare two runs and flag regressions.

Each case gets its own knowledge base (the seed incidents, so drafts have similar incidents to ground on) and is
drafted through the product's own path (`PostmortemService`), so the scores measure what users get.
"""

import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel

from agent_postmortem.analysis.verify import wilson
from agent_postmortem.config import Settings
from agent_postmortem.errors import DraftError, DraftTimeout, LLMUnavailable
from agent_postmortem.evals.cases import Case, LoadedCase
from agent_postmortem.evals.judge import judge
from agent_postmortem.evals.scorers import SCORERS, Score, score
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.llm.base import LLM
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import (
    Analysis,
    AnalysisAction,
    AnalysisDraft,
    DraftFactor,
    DraftWhy,
    ProposedAction,
    SeedIncident,
    TimelineEventCreate,
)
from agent_postmortem.store.search.embedding import Embedder

Backend = Literal["server", "reference", "generic", "assistant", "assistant-model"]
BACKENDS: tuple[Backend, ...] = ("server", "reference", "generic", "assistant", "assistant-model")
Drafter = Callable[[PostmortemService, str, Case, Path], Analysis]
"""Writes and stores one draft: (the case's service, its incident id, the case, the case's home)."""
SCHEMA = "schema_valid"


class Interval(BaseModel):
    passed: int
    scored: int
    rate: float | None
    low: float
    high: float


class ScorerSummary(Interval):
    mean_value: float | None = None


class CaseResult(BaseModel):
    name: str
    kind: str
    samples: list[list[Score]]
    summary: dict[str, ScorerSummary]


class EvalRun(BaseModel):
    backend: str
    model: str | None
    samples: int
    cases: list[CaseResult]
    overall: dict[str, ScorerSummary]
    started_at: datetime
    seconds: float
    assistant: dict[str, float] | None = None  # the assistant path: how long draft_analysis took to answer (s)


def interval(passed: int, scored: int) -> Interval:
    r = wilson(scored - passed, scored)  # wilson() counts failures
    return Interval(
        passed=passed,
        scored=scored,
        rate=round(passed / scored, 3) if scored else None,
        low=round(1 - r.high, 3),
        high=round(1 - r.low, 3),
    )


def summarize(samples: list[list[Score]]) -> dict[str, ScorerSummary]:
    by_name: dict[str, list[Score]] = defaultdict(list)
    for sample in samples:
        for s in sample:
            by_name[s.name].append(s)
    out = {}
    for name, scores in by_name.items():
        scored = [s for s in scores if s.passed is not None]
        values = [s.value for s in scored if s.value is not None]
        out[name] = ScorerSummary(
            **interval(sum(bool(s.passed) for s in scored), len(scored)).model_dump(),
            mean_value=round(float(np.mean(values)), 3) if values else None,
        )
    return out


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _reference_steps(case: Case) -> list[str]:
    """The reference's causal steps as whys: its factors, then its root cause. A reference with fewer than two
    factors gives the sentences of its root cause, after what the incident says happened (the sentences of its
    description, timeline and impact) while those are fewer than three: never one text repeated (not a chain)."""
    ref = case.reference
    steps = [*ref.contributing_factors[:5], ref.root_cause]
    if len(steps) >= 3:
        return steps
    sentences = [s.strip() for s in _SENTENCE.split(ref.root_cause) if len(s.strip()) >= 3]
    steps = list(dict.fromkeys([*ref.contributing_factors, *sentences]))[-6:]
    told = [case.incident.description, *(e.description for e in case.incident.timeline), case.incident.impact or ""]
    happened = [s.strip() for text in told for s in _SENTENCE.split(text) if len(s.strip()) >= 3]
    return [*happened[: max(0, 3 - len(steps))], *steps]


def _reference_draft(case: Case) -> AnalysisDraft:
    """The human analysis in the draft schema: the ceiling the scorers should rate highly (its whys are the
    reference's factors or its root cause's sentences, so whys_depth says little about it)."""
    ref = case.reference
    whys = [
        DraftWhy(question=f"Why, at level {n}?", answer=text[:240]) for n, text in enumerate(_reference_steps(case), 1)
    ]
    items = ref.action_items or [f"Add a check that stops this before it reaches users: {ref.root_cause}"]
    return AnalysisDraft(
        whys=whys[:6],
        root_cause=ref.root_cause[:400],
        contributing_factors=[DraftFactor(factor=f[:160], effect="the failure") for f in ref.contributing_factors[:4]],
        action_items=[
            ProposedAction(
                title=title[:160].ljust(10),
                owner_role="owning team",
                priority="P1",
                due_in_days=14,
                addresses="root cause",
            )
            for title in items[:4]
        ],
        model_behavior=None,
        determinism=ref.determinism,
        runs_to_verify=None,
        responsible=ref.responsible_agent,
        decisive_step=ref.decisive_step,
    )


GENERIC = AnalysisDraft(
    whys=[
        DraftWhy(question="Why did the incident happen?", answer="A configuration error caused the service to fail."),
        DraftWhy(question="Why was there a configuration error?", answer="A change was deployed."),
        DraftWhy(question="Why did the change cause a failure?", answer="The system allowed an untested change."),
    ],
    root_cause="A configuration error caused the service to fail.",
    contributing_factors=[],
    action_items=[
        ProposedAction(
            title="Improve testing and monitoring",
            owner_role="engineering",
            priority="P1",
            due_in_days=30,
            addresses="root cause",
        )
    ],
    model_behavior=None,
    determinism="unknown",
    runs_to_verify=None,
    responsible=None,
    decisive_step=None,
)


def _seed(case: Case) -> SeedIncident:
    i = case.incident
    fields = i.model_dump(exclude={"timeline", "occurred_at"})
    timeline = [TimelineEventCreate.model_validate(e.model_dump()) for e in i.timeline]
    return SeedIncident.model_validate({**fields, "status": "open", "timeline": [t.model_dump() for t in timeline]})


def draft_once(service: PostmortemService, incident_id: str, case: Case, backend: Backend) -> Analysis:
    if backend == "server":
        return service.draft_analysis(incident_id)
    if backend == "generic":  # the scorers' floor, scored as written: the product's draft guard refuses it on most
        return _as_written(GENERIC)  # cases (its root cause and item name nothing of them: `postmortem bench guard`)
    return service.record_analysis(incident_id, _reference_draft(case), generated_by=backend)


def _as_written(draft: AnalysisDraft) -> Analysis:
    return Analysis(
        **draft.model_dump(exclude={"action_items"}),
        action_items=[AnalysisAction(**a.model_dump()) for a in draft.action_items],
        generated_by="generic",
        created_at=datetime.now().astimezone(),
    )


def drafter(backend: Backend, settings: Settings, llm: Callable[[], LLM | None], seconds: list[float]) -> Drafter:
    """How a backend writes one draft. The assistant backends go through the real server over stdio
    (evals/assistant.py), written by the case's reference analysis or by the configured model; each
    draft_analysis answer time is added to `seconds`."""
    if backend not in ("assistant", "assistant-model"):
        return lambda service, incident_id, case, home: draft_once(service, incident_id, case, backend)
    from agent_postmortem.evals.assistant import Scripted, write

    def through_mcp(service: PostmortemService, incident_id: str, case: Case, home: Path) -> Analysis:
        writer = Scripted(_reference_draft(case)) if backend == "assistant" else llm()
        if writer is None:
            raise LLMUnavailable("--backend assistant-model needs a configured model (docs/drafting.md)")
        written = write(home, incident_id, writer, settings)
        seconds.append(written.seconds)
        return written.analysis

    return through_mcp


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
) -> CaseResult:
    service = make_service(home / loaded.name)
    if seed:
        service.import_incidents(seed)
    incident_id = service.import_incidents([_seed(loaded.case)]).ids[0]
    results: list[list[Score]] = []
    for _ in range(samples):
        try:
            analysis = draft(service, incident_id, loaded.case, home / loaded.name)
        except (DraftError, DraftTimeout, ValueError) as e:
            reason = f"no valid draft: {str(e)[:200]}"
            results.append([Score(name=SCHEMA, passed=False, reason=reason)] + _unscored(reason))
            continue
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
        assistant=_answer_times(seconds),
    )


def _answer_times(seconds: list[float]) -> dict[str, float] | None:
    if not seconds:
        return None
    ordered = sorted(seconds)
    return {
        "p50": round(float(np.median(ordered)), 3),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "max": round(ordered[-1], 3),
    }


def regressions(old: EvalRun, new: EvalRun) -> list[str]:
    """Scorers whose overall pass rate dropped with non-overlapping 95% intervals."""
    found = []
    for name, before in old.overall.items():
        after = new.overall.get(name)
        if after is not None and after.scored and before.scored and after.high < before.low:
            found.append(
                f"{name}: {before.rate} [{before.low}, {before.high}] -> {after.rate} [{after.low}, {after.high}]"
            )
    return found
