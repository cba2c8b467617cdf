"""Failed multi-agent runs as incidents: read step logs, attribute each failure to an agent and a decisive step
(with the step quoted as evidence), and capture the run through the normal path (redaction, classification) with
its steps as the timeline.

Input: JSONL, one run per line, in the shape of the Who&When traces (Zhang et al. 2025):
`{"id", "title"?, "task"|"text"?, "steps"|"trace": [{"step"?, "agent"|"name"|"role", "content"}],
"failed"? | "final_answer_correct"?, "labels"?: {"mistake_agent", "mistake_step"}}`. Other keys (dataset
metadata, reference answers) are ignored and never stored. Runs marked as successful are not imported.

Two attributors:
- `heuristic` (no LLM): three rules over the steps (`server/attribution_rules.py`); `postmortem bench attribution`
  (README) says what they score.
- `llm`: the configured LLM reads the steps, shortened to fit, and answers a small bounded JSON schema
  (`server/attribution_llm.py`); an answer that is not valid JSON, or that cannot be grounded in a real step of
  the run, falls back to the heuristic, and the stored attribution says why.
"""

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator

from server import attribution_llm as judge
from server import attribution_rules as rules
from server.attribution_llm import ENDPOINT_PROMPT_CHARS, LOCAL_PROMPT_CHARS, AttributionAnswer
from server.attribution_rules import Pick
from server.errors import DraftError, LLMUnavailable
from server.json_input import JsonInputError, loads
from server.jsonfile import field_errors, lines
from server.llm import LLM
from store.models import Attribution, IncidentCreate, TimelineEventCreate

logger = logging.getLogger(__name__)

MAX_LINE_BYTES = 5_000_000  # a long web-browsing run with page dumps is a few hundred KB
MAX_STEPS = 2_000
Attributor = Literal["heuristic", "llm"]


class Step(BaseModel):
    """One message or action of a run. The acting agent is `agent`, else `name`, else `role`."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    step: Annotated[int, Field(ge=0, le=100_000)] | None = None
    agent: Annotated[str, Field(max_length=200)] | None = None
    name: Annotated[str, Field(max_length=200)] | None = None
    role: Annotated[str, Field(max_length=200)] | None = None
    content: Annotated[str, Field(max_length=2_000_000)]

    @property
    def who(self) -> str:
        return (self.agent or self.name or self.role or "").strip()

    @model_validator(mode="after")
    def _has_actor(self) -> "Step":
        if not self.who:
            raise ValueError("a step needs an agent, name or role")
        return self


class RunLabels(BaseModel):
    """Human labels, when the run comes from a labelled dataset (used by the benchmark, not stored)."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    mistake_agent: str
    mistake_step: int


class StepRun(BaseModel):
    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    id: Annotated[str, Field(min_length=1, max_length=200)]
    title: Annotated[str, Field(max_length=2_000)] | None = None
    task: Annotated[str, Field(max_length=100_000)] | None = Field(
        default=None, validation_alias=AliasChoices("task", "text")
    )
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)] = Field(
        validation_alias=AliasChoices("steps", "trace")
    )
    subset: Annotated[str, Field(max_length=200)] | None = None
    failed: bool | None = None
    final_answer_correct: bool | None = None
    labels: RunLabels | None = None

    @model_validator(mode="after")
    def _number_steps(self) -> "StepRun":
        """Steps without numbers are numbered by position from 0; numbered steps must be unique, and are sorted."""
        numbers = [s.step if s.step is not None else i for i, s in enumerate(self.steps)]
        seen: set[int] = set()
        for n in numbers:
            if n in seen:
                raise ValueError(f"step {n} appears twice")
            seen.add(n)
        numbered = [s.model_copy(update={"step": n}) for s, n in zip(self.steps, numbers, strict=True)]
        self.steps = sorted(numbered, key=lambda s: s.step or 0)
        return self

    @property
    def is_failure(self) -> bool:
        return self.failed is not False and self.final_answer_correct is not True

    @property
    def agents(self) -> list[str]:
        return list(dict.fromkeys(s.who for s in self.steps))

    def number(self, step: Step) -> int:
        assert step.step is not None  # set by _number_steps
        return step.step


class StepFileError(ValueError):
    """Some lines are invalid; nothing was imported. The message lists the problems by line number."""


def line_problem(number: int, error: Exception) -> str:
    if isinstance(error, JsonInputError):
        return f"line {number}: {error}"
    if isinstance(error, ValidationError):
        return f"line {number}: {field_errors(error)}"
    return f"line {number}: {error}"


def read_runs(path: Path, *, max_errors: int = 20) -> list[StepRun]:
    """Every line validated before anything is used; StepFileError lists the first `max_errors` problems."""
    runs: list[StepRun] = []
    problems: list[str] = []
    for number, line in lines(path):
        if len(line.encode("utf-8")) > MAX_LINE_BYTES:
            problems.append(f"line {number}: longer than {MAX_LINE_BYTES} bytes")
            continue
        try:
            runs.append(StepRun.model_validate(loads(line)))
        except (JsonInputError, ValidationError) as e:
            problems.append(line_problem(number, e))
    if problems:
        shown = "\n  ".join(problems[:max_errors])
        more = f"\n  … and {len(problems) - max_errors} more" if len(problems) > max_errors else ""
        raise StepFileError(f"{len(problems)} invalid line(s) in {path.name}; nothing was imported:\n  {shown}{more}")
    if not runs:
        raise StepFileError(f"{path.name} holds no runs (one JSON object per line)")
    return runs


# --- the heuristic --------------------------------------------------------------------------------------


def excerpt(text: str, *, around: re.Match[str] | None = None, limit: int = 300) -> str:
    flat = " ".join(text.split())
    start = 0
    if around is not None:
        start = max(0, len(" ".join(text[: around.start()].split())) - 80)
    piece = flat[start : start + limit]
    return ("…" if start else "") + piece + ("…" if start + limit < len(flat) else "")


_RULE_NOTES = {
    "verdict": "the coordinator declared the request satisfied there, on an answer the run had not verified",
    "first_action": "it is the run's first substantive action",
    "fallback": "no substantive action was found",
}


def _notes(run: StepRun, pick: Pick) -> list[str]:
    if pick.rule == "new_figures":
        shown = ", ".join(pick.figures[:4])
        return [f"it is the first step to state figures found nowhere earlier in the run ({shown})"]
    notes = [_RULE_NOTES[pick.rule]]
    reply = run.steps[pick.index + 1] if pick.index + 1 < len(run.steps) else None
    if reply is not None and rules.is_tool(reply) and rules.ERROR.search(reply.content[:500]):
        notes.append(f"the tool output right after it (step {run.number(reply)}) reports an error")
    return notes


def heuristic_attribution(run: StepRun) -> Attribution:
    """The step `server.attribution_rules.pick_step` chooses (a coordinator's premature "request satisfied", else
    the first step that states figures found nowhere earlier, else the first substantive action), its agent, the
    step quoted, and why."""
    pick = rules.pick_step(run.steps, run.task)
    chosen = run.steps[pick.index]
    notes = _notes(run, pick)
    guess = rules.GUESS.search(chosen.content)
    if guess:
        notes.append(f"it works from a guess ('{guess.group(0)[:40]}')")
    figure = rules.locate(chosen.content, pick.figures[0]) if pick.figures else None
    return Attribution(
        responsible=chosen.who[:120],
        decisive_step=run.number(chosen),
        evidence=excerpt(chosen.content, around=figure or guess),
        reason=(f"Step {run.number(chosen)} by {chosen.who}: " + "; ".join(notes) + ".")[:600],
        method="heuristic",
    )


# --- the LLM ---------------------------------------------------------------------------------------------


def prompt_budget(llm: LLM) -> int:
    """The steps' share of the prompt: the bundled model's context is 8k tokens; an endpoint's is larger."""
    return LOCAL_PROMPT_CHARS if llm.backend == "local" else ENDPOINT_PROMPT_CHARS


def attribution_prompt(run: StepRun, *, nonce: str, budget: int = LOCAL_PROMPT_CHARS) -> tuple[str, str]:
    return judge.attribution_prompt(run, nonce=nonce, budget=budget)


def check_answer(run: StepRun, answer: AttributionAnswer, *, llm_model: str) -> Attribution:
    """The LLM's answer grounded in the run (`server.attribution_llm.ground`), or Ungrounded (a ValueError). The
    stored evidence is always real: the model's quote when the step holds it word for word, else the step itself."""
    found = judge.ground(run, answer)
    step = run.steps[found.index]
    quote = judge.flat(answer.evidence).strip(judge.QUOTE_MARKS)
    verbatim = bool(quote) and quote.lower() in judge.flat(step.content).lower()
    corrected = f" ({'; '.join(found.notes)})" if found.notes else ""
    return Attribution(
        responsible=step.who[:120],
        decisive_step=run.number(step),
        evidence=f"…{quote}…" if verbatim else excerpt(step.content),
        reason=(answer.reason + corrected)[:600],
        method="llm",
        llm_model=llm_model[:200],
    )


def llm_attribution(run: StepRun, llm: LLM, *, nonce: str) -> Attribution:
    """Ask the LLM; on an answer that is invalid or cannot be grounded in the run (or an endpoint error on this
    run) keep the heuristic's, saying why."""
    system, user = attribution_prompt(run, nonce=nonce, budget=prompt_budget(llm))
    try:
        answer = llm.parse(system=system, user=user, output=AttributionAnswer)
        return check_answer(run, answer, llm_model=llm.model)
    except (DraftError, LLMUnavailable, ValueError) as e:
        logger.info("run %s: LLM attribution not usable, using the heuristic: %s", run.id, e)
        fallback = heuristic_attribution(run)
        return fallback.model_copy(update={"fallback": f"LLM answer not used: {e}"[:300], "llm_model": llm.model})


def attribute(run: StepRun, method: Attributor, *, llm: LLM | None = None, nonce: str = "0") -> Attribution:
    if method == "heuristic":
        return heuristic_attribution(run)
    if llm is None:
        raise LLMUnavailable(
            "--attribute llm needs an LLM: set OPENAI_BASE_URL/OPENAI_API_KEY and POSTMORTEM_MODEL, or "
            "POSTMORTEM_LLM=local with xllamacpp installed; or use --attribute heuristic"
        )
    return llm_attribution(run, llm, nonce=nonce)


# --- import ----------------------------------------------------------------------------------------------


class RunImport(BaseModel):
    run_id: str
    incident_id: str | None = Field(description="null in a dry run")
    already_imported: bool = False
    attribution: Attribution


class StepImportResult(BaseModel):
    runs: int = Field(description="runs in the file")
    imported: int = Field(description="new incidents (0 in a dry run)")
    already_imported: int = Field(description="runs imported before (same steps): not stored again")
    skipped_successful: int = Field(description="runs marked as successful: not incidents")
    dry_run: bool
    results: list[RunImport]


class Capturer(Protocol):
    def capture_incident(
        self,
        data: IncidentCreate,
        *,
        history: Sequence[TimelineEventCreate] = (),
        attribution: Attribution | None = None,
    ) -> Any: ...


def run_key(run: StepRun) -> str:
    """The same run (same id and steps) imported twice is stored once."""
    steps = [[run.number(s), s.who, s.content] for s in run.steps]
    digest = hashlib.sha256(json.dumps([run.id, steps], ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"steps-{digest[:40]}"


def run_incident(run: StepRun, attribution: Attribution) -> tuple[IncidentCreate, list[TimelineEventCreate]]:
    label = run.title or excerpt(run.task or "", limit=120) or run.id
    description = (
        f"Task given to the agents: {excerpt(run.task or run.title or 'not given', limit=3000)}\n"
        f"The run failed. Agents: {', '.join(run.agents)[:1000]}. Its {len(run.steps)} steps are in the timeline.\n"
        f"Attributed ({attribution.method}) to {attribution.responsible} at step {attribution.decisive_step}: "
        f"{attribution.reason}"
    )
    data = IncidentCreate(
        title=f"Multi-agent run failed: {label}"[:200],
        description=description,
        agent=attribution.responsible,
        source_id=run.id,
        determinism="probabilistic",
        idempotency_key=run_key(run),
    )
    events = [
        TimelineEventCreate(kind="note", description=f"step {run.number(s)} [{s.who}]: {s.content}"[:2000] or "-")
        for s in run.steps
    ]
    events.append(
        TimelineEventCreate(
            kind="note",
            description=(
                f"Attribution ({attribution.method}): {attribution.responsible} at step {attribution.decisive_step}. "
                f"{attribution.reason} Evidence: “{attribution.evidence}”"
                + (f" ({attribution.fallback})" if attribution.fallback else "")
            )[:2000],
        )
    )
    return data, events


def import_runs(
    runs: Sequence[StepRun],
    *,
    method: Attributor = "heuristic",
    llm: LLM | None = None,
    service: Capturer | None = None,
    nonce: Callable[[], str] = lambda: "0",
    progress: Callable[[int], None] = lambda n: None,
) -> StepImportResult:
    """Attribute every failed run, then capture each (nothing in a dry run: `service=None`). Every attribution is
    computed before anything is stored, so a slow or failing LLM stores nothing; each run is stored in one
    transaction under an idempotency key, so importing the file again (after an interruption) adds only the
    runs that are missing."""
    failed = [r for r in runs if r.is_failure]
    attributed = []
    for run in failed:
        attributed.append((run, attribute(run, method, llm=llm, nonce=nonce())))
        progress(1)
    results: list[RunImport] = []
    for run, found in attributed:
        incident_id, replayed = None, False
        if service is not None:
            data, events = run_incident(run, found)
            captured = service.capture_incident(data, history=events, attribution=found)
            incident_id, replayed = captured.id, bool(captured.replayed)
        results.append(RunImport(run_id=run.id, incident_id=incident_id, already_imported=replayed, attribution=found))
    known = sum(r.already_imported for r in results)
    return StepImportResult(
        runs=len(runs),
        imported=0 if service is None else len(results) - known,
        already_imported=known,
        skipped_successful=len(runs) - len(failed),
        dry_run=service is None,
        results=results,
    )
