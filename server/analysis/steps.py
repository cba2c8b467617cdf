"""Failed multi-agent runs: the run and its steps, and the attribution of each failure to an agent and a decisive
step (with the step quoted as evidence). Reading runs from a file and capturing them is `ingest.steps`.

A run, in the shape of the Who&When traces (Zhang et al. 2025):
`{"id", "title"?, "task"|"text"?, "steps"|"trace": [{"step"?, "agent"|"name"|"role", "content"}],
"failed"? | "final_answer_correct"?, "labels"?: {"mistake_agent", "mistake_step"}}`. Other keys (dataset
metadata, reference answers) are ignored and never stored. Runs marked as successful are not imported.

Two attributors:
- `heuristic` (no LLM): the first substantive action of the run. See `heuristic_attribution` for the rule and
  `postmortem bench attribution` (README) for what it scores.
- `llm`: the configured LLM reads shortened steps and answers a small bounded JSON schema; an answer that is not
  valid JSON, names an agent that is not in the run or a step that does not exist falls back to the heuristic,
  and the stored attribution says why.
"""

import logging
import re
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from agent_postmortem import prompts
from agent_postmortem.errors import DraftError, LLMUnavailable
from agent_postmortem.llm.base import LLM
from agent_postmortem.store.models import Attribution, Model

logger = logging.getLogger(__name__)

MAX_STEPS = 2_000
PROMPT_CHARS = 12_000  # the steps' share of the attribution prompt: fits the bundled model's 8k-token context
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


# --- the heuristic --------------------------------------------------------------------------------------

# Steps that are not an agent's own decision: tool and code-execution output, the human asking, routing.
_TOOL_AGENT = re.compile(r"terminal|computer|executor|\btool|interpreter|proxy", re.IGNORECASE)
_HUMAN = re.compile(r"^(human|user)$", re.IGNORECASE)
_ROUTING = re.compile(
    r"^\s*(next speaker|initial plan|updated ledger|request satisfied|no agent selected|terminate\b)", re.IGNORECASE
)
_TOOL_OUTPUT = re.compile(r"^\s*exit ?code\s*:", re.IGNORECASE)
# What the reason mentions when the chosen step shows it (they do not change the choice: see README).
_ERROR = re.compile(r"exit ?code:? *[1-9]|traceback|\berror\b|exception|failed|not found|\b404\b|timed? ?out", re.I)
_GUESS = re.compile(
    r"simulat\w*|assum\w*|hypothetical\w*|placeholder|for demonstration|example data|pretend\w*|manually \w+", re.I
)


def _is_action(step: Step, task: str | None) -> bool:
    text = step.content
    if _TOOL_AGENT.search(step.who) or _HUMAN.match(step.who) or _TOOL_OUTPUT.match(text):
        return False
    if any(arrow in f"{step.role or ''} {step.name or ''}" for arrow in ("->", "→")):
        return False  # a message addressed to another agent delegates: the addressee acts
    if not text.strip() or _ROUTING.match(text):
        return False
    head = (task or "").strip()[:80]
    return not (head and head in text)  # the task statement handed to the first agent


def excerpt(text: str, *, around: re.Match[str] | None = None, limit: int = 300) -> str:
    flat = " ".join(text.split())
    start = 0
    if around is not None:
        start = max(0, len(" ".join(text[: around.start()].split())) - 80)
    piece = flat[start : start + limit]
    return ("…" if start else "") + piece + ("…" if start + limit < len(flat) else "")


def heuristic_attribution(run: StepRun) -> Attribution:
    """The first substantive action: the earliest step by an agent that is not tool or code output, not the human
    asking, not a routing, planning or delegating message (a role like "Orchestrator (-> WebSurfer)"), and not the
    task statement handed to the first agent. A wrong
    first move (a bad search, wrong code, an assumption) is what the later steps build on. Falls back to the
    first non-tool step, then to the first step."""
    actions = [s for s in run.steps if _is_action(s, run.task)]
    fallback = [s for s in run.steps if not _TOOL_AGENT.search(s.who) and not _HUMAN.match(s.who)]
    chosen = (actions or fallback or run.steps)[0]
    after = run.steps[run.steps.index(chosen) + 1 :]
    notes = ["it is the run's first substantive action" if actions else "no substantive action was found"]
    reply = after[0] if after else None
    if reply is not None and (_TOOL_AGENT.search(reply.who) or _TOOL_OUTPUT.match(reply.content)):
        if _ERROR.search(reply.content[:500]):
            notes.append(f"the tool output right after it (step {run.number(reply)}) reports an error")
    guess = _GUESS.search(chosen.content)
    if guess:
        notes.append(f"it works from a guess ('{guess.group(0)[:40]}')")
    return Attribution(
        responsible=chosen.who[:120],
        decisive_step=run.number(chosen),
        evidence=excerpt(chosen.content, around=guess),
        reason=(f"Step {run.number(chosen)} by {chosen.who}: " + "; ".join(notes) + ".")[:600],
        method="heuristic",
    )


# --- the LLM ---------------------------------------------------------------------------------------------


class AttributionAnswer(Model):
    """What the LLM must answer: small and bounded, so a small model cannot ramble past its budget."""

    responsible: Annotated[str, Field(min_length=1, max_length=120, description="one of the run's agents")]
    decisive_step: Annotated[int, Field(ge=0, le=100_000, description="the number of the step that went wrong")]
    evidence: Annotated[str, Field(max_length=300, description="a short quote from that step")]
    reason: Annotated[str, Field(min_length=3, max_length=400, description="one sentence: what went wrong there")]


def attribution_prompt(run: StepRun, *, nonce: str) -> tuple[str, str]:
    budget = max(80, min(600, PROMPT_CHARS // len(run.steps)))
    steps = [{"step": run.number(s), "agent": s.who, "text": excerpt(s.content, limit=budget)} for s in run.steps]
    task = excerpt(run.task or run.title or "", limit=1500)
    system = prompts.render("attribute_steps_system", nonce=nonce)
    user = prompts.render("attribute_steps", task=task, agents=run.agents, steps=steps, nonce=nonce)
    return system, user


def _resolve_agent(name: str, agents: Sequence[str]) -> str | None:
    wanted = name.strip().lower()
    exact = [a for a in agents if a.lower() == wanted]
    if exact:
        return exact[0]
    partial = [a for a in agents if wanted and (wanted in a.lower() or a.lower() in wanted)]
    return partial[0] if len(partial) == 1 else None


def check_answer(run: StepRun, answer: AttributionAnswer, *, llm_model: str) -> Attribution:
    """The LLM's answer as an attribution, or ValueError when it names an agent or a step the run does not have.
    A quote that is not in the step is replaced by the step's own opening (the stored evidence is always real)."""
    by_number = {run.number(s): s for s in run.steps}
    step = by_number.get(answer.decisive_step)
    if step is None:
        raise ValueError(f"step {answer.decisive_step} is not in the run (steps {min(by_number)}-{max(by_number)})")
    agent = _resolve_agent(answer.responsible, run.agents)
    if agent is None:
        raise ValueError("the answer names an agent that is not in the run")
    quote = " ".join(answer.evidence.split())
    found = bool(quote) and quote.lower() in " ".join(step.content.split()).lower()
    return Attribution(
        responsible=agent[:120],
        decisive_step=answer.decisive_step,
        evidence=f"…{quote}…" if found else excerpt(step.content),
        reason=answer.reason,
        method="llm",
        llm_model=llm_model[:200],
    )


def llm_attribution(run: StepRun, llm: LLM, *, nonce: str) -> Attribution:
    """Ask the LLM; on an invalid answer (or an endpoint error on this run) keep the heuristic's, saying why."""
    system, user = attribution_prompt(run, nonce=nonce)
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
