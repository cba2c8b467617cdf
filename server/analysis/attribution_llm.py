"""LLM attribution of a failed multi-agent run: the prompt, and the grounding of the answer in the run.

The model reads the whole run at once (the task, the agents, every step shortened to fit a budget that gives an
agent's step three times the room of a tool's output, each shortened to its head and its end), judges the steps
in order and answers a small bounded schema (`AttributionAnswer`: its reason first, then the agent, the step and
a quote). The answer is then grounded in the run (`ground`): the quote is looked up in the steps, a step of tool
output is moved to the step that wrote the code or request, an answer whose agent and step disagree is settled
by where the quote is, and an answer that cannot be grounded raises `Ungrounded`, so the caller keeps the
rule-based attribution instead (server.steps.llm_attribution).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Protocol

from pydantic import Field

from agent_postmortem import prompts
from agent_postmortem.analysis import attribution_rules as rules
from agent_postmortem.analysis.attribution_rules import StepLike
from agent_postmortem.store.models import Model

LOCAL_PROMPT_CHARS = 12_000  # the steps' share of the prompt for the bundled model's 8k-token context
ENDPOINT_PROMPT_CHARS = 32_000  # about 8k tokens: fits any endpoint model with a 16k context or more
_MIN_STEP, _MAX_STEP = 80, 3_000


class AttributionAnswer(Model):
    """What the LLM must answer: small and bounded, so a small model cannot ramble past its budget. The reason
    comes first, so that a model writing in order judges before it names the step."""

    reason: Annotated[
        str, Field(min_length=3, max_length=400, description="one or two sentences: what went wrong at that step")
    ]
    responsible: Annotated[str, Field(min_length=1, max_length=120, description="one of the run's agents")]
    decisive_step: Annotated[int, Field(ge=0, le=100_000, description="the number of the step that went wrong")]
    evidence: Annotated[str, Field(max_length=300, description="a short quote copied from that step")]


class Ungrounded(ValueError):
    """The answer cannot be tied to a real step of the run (the message says why, without the model's text)."""


class NumberedStep(StepLike, Protocol):
    @property
    def step(self) -> int | None: ...


class RunLike(Protocol):
    @property
    def task(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...
    @property
    def steps(self) -> Sequence[NumberedStep]: ...
    @property
    def agents(self) -> list[str]: ...


def flat(text: str) -> str:
    return " ".join(text.split())


def shorten(text: str, limit: int) -> str:
    """The text on one line, cut to `limit` characters keeping its head and its end (conclusions, final values)."""
    text = flat(text)
    if len(text) <= limit:
        return text
    tail = max(0, limit // 3 - 3)
    return text[: limit - tail - 3] + " … " + (text[-tail:] if tail else "")


def budgets(steps: Sequence[StepLike], total: int) -> list[int]:
    """Characters per step: an agent's step weighs three times a tool's output; room a short step does not use
    goes to the steps that were cut."""
    weights = [3 if rules.is_agent(s) else 1 for s in steps]
    sizes = [len(flat(s.content)) for s in steps]
    shares = [total * w / sum(weights) for w in weights]
    spare = sum(max(0.0, share - size) for share, size in zip(shares, sizes, strict=True))
    cut = sum(share for share, size in zip(shares, sizes, strict=True) if size > share)
    scale = 1 + spare / cut if cut else 1.0
    return [
        max(_MIN_STEP, min(_MAX_STEP, int(share * scale if size > share else share)))
        for share, size in zip(shares, sizes, strict=True)
    ]


def attribution_prompt(run: RunLike, *, nonce: str, budget: int = LOCAL_PROMPT_CHARS) -> tuple[str, str]:
    limits = budgets(run.steps, budget)
    steps = [
        {"step": s.step, "agent": s.who, "tool": rules.is_tool(s), "text": shorten(s.content, limit)}
        for s, limit in zip(run.steps, limits, strict=True)
    ]
    task = shorten(run.task or run.title or "", 1500)
    system = prompts.render("attribute_steps_system", nonce=nonce)
    user = prompts.render("attribute_steps", task=task, agents=run.agents, steps=steps, nonce=nonce)
    return system, user


# --- grounding -------------------------------------------------------------------------------------------

QUOTE_MARKS = "\"'“”‘’«»`…. "
_WORD = re.compile(r"[a-z0-9]{3,}")


def quoted_in(quote: str, text: str, *, exact: bool = True) -> bool:
    """The quote is in the text, ignoring case, spacing and the quote marks or ellipses around it; or, not
    `exact`, when the model left words out: at least six of its words and 80% of them are in the text."""
    wanted = flat(quote).strip(QUOTE_MARKS).lower()
    if not wanted:
        return False
    haystack = flat(text).lower()
    if wanted in haystack or exact:
        return wanted in haystack
    words = set(_WORD.findall(wanted))
    return len(words) >= 6 and len(words & set(_WORD.findall(haystack))) >= 0.8 * len(words)


def quote_holders(quote: str, steps: Sequence[StepLike]) -> list[int]:
    """The steps that hold the quote word for word; failing that, those that hold most of its words."""
    exact = [i for i, s in enumerate(steps) if quoted_in(quote, s.content)]
    return exact or [i for i, s in enumerate(steps) if quoted_in(quote, s.content, exact=False)]


def resolve_agent(name: str, agents: Sequence[str]) -> str | None:
    wanted = name.strip().lower()
    exact = [a for a in agents if a.lower() == wanted]
    if exact:
        return exact[0]
    partial = [a for a in agents if wanted and (wanted in a.lower() or a.lower() in wanted)]
    return partial[0] if len(partial) == 1 else None


@dataclass
class Grounded:
    """Where the answer lands in the run (an index into its steps), whether the quote is there, and what was
    corrected on the way."""

    index: int
    quoted: bool
    notes: list[str] = field(default_factory=list)


def _off_tool(run: RunLike, index: int) -> tuple[int, list[str]]:
    """A tool's output is not a decision: the step that wrote the code or request before it is."""
    if not rules.is_tool(run.steps[index]):
        return index, []
    author = next((i for i in range(index - 1, -1, -1) if rules.is_agent(run.steps[i])), None)
    if author is None:
        raise Ungrounded("the answer names a tool's output, and no agent's step comes before it")
    return author, [
        f"step {run.steps[index].step} is tool output; the step that asked for it is {run.steps[author].step}"
    ]


def _candidates(run: RunLike, answer: AttributionAnswer, holders: list[int]) -> list[tuple[int, str | None]]:
    """Steps the answer may mean, best first, each with the note to keep if it is the one."""
    numbers = [s.step for s in run.steps]
    named = numbers.index(answer.decisive_step) if answer.decisive_step in numbers else None
    found: list[tuple[int, str | None]] = [] if named is None else [(named, None)]
    if len(holders) == 1 and holders[0] != named:
        found.append((holders[0], f"the quote is from step {numbers[holders[0]]}, not step {answer.decisive_step}"))
    return found


def ground(run: RunLike, answer: AttributionAnswer) -> Grounded:
    """Tie the answer to a real step, in this order: the step it names, if that step is by the agent it names (a
    step of tool output counts as the step that asked for it); the one step its quote comes from, if by that
    agent; the step it names, if the quote is there; the one step its quote comes from. Ungrounded otherwise."""
    holders = quote_holders(answer.evidence, run.steps)
    agent = resolve_agent(answer.responsible, run.agents)
    options = []
    for index, note in _candidates(run, answer, holders):
        moved, notes = _off_tool(run, index)
        options.append(Grounded(moved, moved in holders, [n for n in (note, *notes) if n]))
    for option in options:
        if run.steps[option.index].who == agent or (agent is not None and rules.is_tool_name(agent)):
            return option
    for option in options:
        if option.quoted:
            who = run.steps[option.index].who
            return Grounded(option.index, True, [*option.notes, f"the quoted step is by {who}, not the agent named"])
    if not options:
        numbers = [s.step for s in run.steps if s.step is not None]
        raise Ungrounded(f"step {answer.decisive_step} is not in the run (steps {min(numbers)}-{max(numbers)})")
    if agent is None:
        raise Ungrounded("the answer names an agent that is not in the run")
    raise Ungrounded(f"the answer names {agent}, but step {answer.decisive_step} is by another agent")
