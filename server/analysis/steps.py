"""Failed multi-agent runs: the run and its steps, and the attribution of each failure to an agent and a decisive
step (with the step quoted as evidence). Reading runs from a file and capturing them is `ingest.steps`.

A run, in the shape of the Who&When traces (Zhang et al. 2025):
`{"id", "title"?, "task"|"text"?, "steps"|"trace": [{"step"?, "agent"|"name"|"role", "content"}],
"failed"? | "final_answer_correct"?, "labels"?: {"mistake_agent", "mistake_step"}}`. Other keys (dataset
metadata, reference answers) are ignored and never stored. Runs marked as successful are not imported.

Two attributors:
- `heuristic` (no LLM): eight rules over the steps (`server/analysis/attribution_rules.py`);
  `postmortem bench attribution` (docs/multi-agent.md) says what they score.
- `llm`: the configured LLM reads the steps, shortened to fit, and answers a small bounded JSON schema
  (`server/attribution_llm.py`); an answer that is not valid JSON, or that cannot be grounded in a real step of
  the run, falls back to the heuristic, and the stored attribution says why.
"""

import json
import logging
import re
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from agent_postmortem.analysis import attribution_llm as judge
from agent_postmortem.analysis import attribution_rules as rules
from agent_postmortem.analysis.attribution_llm import ENDPOINT_PROMPT_CHARS, LOCAL_PROMPT_CHARS, AttributionAnswer
from agent_postmortem.analysis.attribution_rules import Pick
from agent_postmortem.errors import DraftError, LLMUnavailable
from agent_postmortem.llm.base import LLM
from agent_postmortem.store.models import Attribution

logger = logging.getLogger(__name__)

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

    @model_validator(mode="before")
    @classmethod
    def _content_as_text(cls, raw: object) -> object:
        """A step as a chat log holds it: an assistant's tool call is `"content": null` with its `tool_calls`, a message
        in parts is a list of `{"type": "text", "text"}`, a tool's answer may be an object. Each was refused ("Input
        should be a valid string"), and with it the whole file; now the text it stands for."""
        if not isinstance(raw, dict) or isinstance(raw.get("content"), str):
            return raw
        calls = raw.get("tool_calls") or ([raw["function_call"]] if raw.get("function_call") else [])
        if "content" not in raw and not calls:  # a step that says nothing: refused, saying so
            return raw
        text = _as_text(raw.get("content"))
        if text is None:
            return raw
        if isinstance(calls, list) and calls:
            text = "\n".join([text, *(_call(c) for c in calls)]).strip()
        return {**raw, "content": text}

    @property
    def who(self) -> str:
        return (self.agent or self.name or self.role or "").strip()

    @model_validator(mode="after")
    def _has_actor(self) -> "Step":
        if not self.who:
            raise ValueError("a step needs an agent, name or role")
        return self


def _as_text(content: object) -> str | None:
    """The text of a message's content that is not a string; None when there is none to read (the step is refused)."""
    if content is None:
        return ""
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        parts = [p.get("text", p.get("content")) for p in content]
        if all(isinstance(t, str) for t in parts):
            return "\n".join(t for t in parts if isinstance(t, str))
    try:
        return json.dumps(content, ensure_ascii=False, default=str)
    except ValueError:  # a number that is not finite, a cycle: the step is refused, as before
        return None


def _call(call: object) -> str:
    """`calls search({"q": "x"})` for an OpenAI-style tool call, else the call as JSON."""
    function = call.get("function", call) if isinstance(call, dict) else None
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):
            arguments = _as_text(arguments) or ""
        return f"calls {function['name']}({arguments})"
    return f"calls {_as_text(call)}"


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


def excerpt(text: str, *, around: re.Match[str] | None = None, limit: int = 300) -> str:
    flat = " ".join(text.split())
    start = 0
    if around is not None:
        start = max(0, len(" ".join(text[: around.start()].split())) - 80)
    piece = flat[start : start + limit]
    return ("…" if start else "") + piece + ("…" if start + limit < len(flat) else "")


_RULE_NOTES = {
    "verdict": "the coordinator declared the request satisfied there, on an answer the run had not verified",
    "unread_source": "it reports reading or watching a source that no tool in the run opened",
    "stuck": "its tool output was the first of the failures the run ended on, never recovered from",
    "last_attempt": "the run ended on its tool output, read by no one, and its agent had taken the task on",
    "null_result": "it concludes the run by accepting a zero or empty result as the answer, without questioning it",
    "invented_brief": "it hands on an earlier round's results that it says were mocked, simulated or checked by hand",
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
    the first step that states figures found nowhere earlier, else the first claim to read a source no tool opened,
    else the action whose tool output began the failures the run ended on, else the last action when its tool output
    ended the run and its agent also wrote the first action, else a conclusion that accepts a zero or empty result,
    else a brief handing on results it says were invented or checked by hand, else the first substantive action),
    its agent, the step quoted, and why."""
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
