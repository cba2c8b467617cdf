"""An incident's analysis: the draft an LLM must produce (bounded, so small models cannot ramble), the stored
analysis with its review, and the attribution of a failed multi-agent run."""

import json
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue

from agent_postmortem.store.models.fields import Medium, Model, Short, When
from agent_postmortem.store.vocabulary import Determinism, Priority

# The question of a why sent as its answer alone (`"whys": ["Because X", ...]`): each why asks about the one before it
FIRST_QUESTION = "Why did this happen?"
NEXT_QUESTION = "What made that possible?"  # "Why was that so?" read as blame to the sentence reader (0.982)
# The effect of a contributing factor sent as its text alone: what it contributed to
UNSTATED_EFFECT = "the incident"


def whys_as_sent(value: Any) -> Any:
    """Whys as assistants write them by hand: a why sent as a string is its answer ("Because X"), or its question and
    answer ("Why did X? Because Y"); the question left out is the chain's own (`FIRST_QUESTION`, `NEXT_QUESTION`)."""
    if not isinstance(value, list):
        return value
    return [_why(item, first=n == 0) for n, item in enumerate(value)]


def _why(item: Any, *, first: bool) -> Any:
    if not isinstance(item, str):
        return item
    text = item.strip()
    asked, mark, answer = text.partition("?")
    if mark and asked.lower().startswith("why") and answer.strip():
        return {"question": f"{asked}?", "answer": answer.strip()}
    return {"question": FIRST_QUESTION if first else NEXT_QUESTION, "answer": text}


def factors_as_sent(value: Any) -> Any:
    """Contributing factors as assistants write them by hand: a factor sent as a string is the factor ("No jitter"),
    or the factor and its effect ("No jitter -> synchronised bursts"); the effect left out is `UNSTATED_EFFECT`."""
    if not isinstance(value, list):
        return value
    return [_factor(item) for item in value]


def _factor(item: Any) -> Any:
    if not isinstance(item, str):
        return item
    for arrow in ("→", "->"):
        factor, mark, effect = item.partition(arrow)
        if mark and len(factor.strip()) >= 3 and len(effect.strip()) >= 3:
            return {"factor": factor.strip(), "effect": effect.strip()}
    return {"factor": item.strip(), "effect": UNSTATED_EFFECT}


class Why(Model):
    question: Annotated[str, Field(min_length=3, max_length=400)]
    answer: Annotated[str, Field(min_length=3, max_length=600)]


class Factor(Model):
    factor: Annotated[str, Field(min_length=3, max_length=300)]
    effect: Annotated[str, Field(min_length=3, max_length=300)]


class ProposedAction(Model):
    title: Annotated[str, Field(min_length=10, max_length=160)]
    owner_role: Annotated[str, Field(min_length=2, max_length=60)]
    priority: Priority
    due_in_days: Annotated[int, Field(ge=1, le=180)]
    addresses: Annotated[str, Field(min_length=3, max_length=120)]

    @model_validator(mode="before")
    @classmethod
    def _owner(cls, data: object) -> object:
        from agent_postmortem.store.models.actions import owner_named

        return owner_named(data, "owner_role", "owner")  # the name a tracked item gives it


class DraftWhy(Model):
    question: Annotated[str, Field(min_length=3, max_length=160)]
    answer: Annotated[str, Field(min_length=3, max_length=240)]


class DraftFactor(Model):
    factor: Annotated[str, Field(min_length=3, max_length=160)]
    effect: Annotated[str, Field(min_length=3, max_length=160)]


class DraftHypothesis(Model):
    cause: Annotated[str, Field(min_length=10, max_length=240)]
    evidence_for: Annotated[str, Field(max_length=240)]
    evidence_against: Annotated[str, Field(max_length=240)]


class AnalysisDraft(Model):
    """What a drafter must produce; the JSON schema sent to the LLM is derived from this. Every string and list
    is bounded, so that a grammar-constrained small model cannot ramble past its token budget."""

    # The schema lists every key as required (strict structured output wants that); the hypotheses default to
    # none in Python, so drafts written before they existed still load.

    whys: Annotated[list[DraftWhy], Field(min_length=3, max_length=6), BeforeValidator(whys_as_sent)]
    root_cause: Annotated[str, Field(min_length=10, max_length=400)]
    contributing_factors: Annotated[list[DraftFactor], Field(max_length=4), BeforeValidator(factors_as_sent)]
    action_items: Annotated[list[ProposedAction], Field(min_length=1, max_length=4)]
    model_behavior: Annotated[str, Field(max_length=400)] | None
    determinism: Determinism
    runs_to_verify: Annotated[int, Field(ge=1, le=1000)] | None
    # required but nullable, like the fields above: strict structured output wants every key listed
    responsible: Annotated[str, Field(max_length=120, description="agent, tool or component where it started")] | None
    decisive_step: Annotated[int, Field(ge=0, le=10_000, description="step where a run went wrong")] | None
    hypotheses: Annotated[
        list[DraftHypothesis],
        Field(max_length=3, description="candidate root causes, the chosen one among them, each with evidence"),
    ] = Field(default_factory=list)
    chosen_because: Annotated[str, Field(max_length=300, description="why the root cause wins")] | None = None

    @model_validator(mode="before")
    @classmethod
    def _as_writers_send_it(cls, data: Any) -> Any:
        """What an assistant writes by hand, read as the schema means it: a nullable key left out is null, a list
        left out or null is empty, an unknown determinism is `unknown`, the enums in any case ("Probabilistic",
        "p1"), and whys and factors sent as strings (`whys_as_sent`, `factors_as_sent`). The schema still lists every
        key (strict structured output wants that). The analysis wrapped in an object of one key (`{"analysis": {...}}`,
        as models name what they send), or its JSON text so wrapped (`{"analysis_json": "{...}"}`: the tool's own
        arguments sent as the argument), is the analysis."""
        if not isinstance(data, dict):
            return data
        inner = next(iter(data.values())) if len(data) == 1 else None
        if isinstance(inner, str) and inner.lstrip().startswith("{"):
            try:
                inner = json.loads(inner)
            except (ValueError, RecursionError):  # text nested past what the parser recurses through is no analysis
                inner = None
        if isinstance(inner, dict) and {"whys", "root_cause"} & inner.keys():
            data = inner
        data = {**dict.fromkeys(_NULLABLE), "determinism": "unknown", **data}
        for key in ("contributing_factors", "hypotheses"):
            if data.get(key) is None:
                data[key] = []
        if isinstance(data["determinism"], str):
            data["determinism"] = data["determinism"].strip().lower()
        if isinstance(data.get("action_items"), list):
            data["action_items"] = [_priority_upper(item) for item in data["action_items"]]
        return data

    @classmethod
    def __get_pydantic_json_schema__(cls, core: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(handler(core))
        schema["required"] = list(schema["properties"])
        for field in schema["properties"].values():
            field.pop("default", None)
        return schema


_NULLABLE = ("model_behavior", "runs_to_verify", "responsible", "decisive_step", "chosen_because")


def _priority_upper(item: Any) -> Any:
    if isinstance(item, dict) and isinstance(item.get("priority"), str):
        return {**item, "priority": item["priority"].strip().upper()}
    return item


class AnalysisAction(ProposedAction):
    duplicate_of: str | None = Field(
        default=None, description="an open action item (AI-n) on this or a similar incident that already covers it"
    )


class Hypothesis(Model):
    cause: Annotated[str, Field(min_length=3, max_length=600)]
    evidence_for: Annotated[str, Field(max_length=600)] = ""
    evidence_against: Annotated[str, Field(max_length=600)] = ""


AnalysisState = Literal["draft", "accepted", "rejected"]


class Analysis(Model):
    """A stored analysis: drafted by an LLM, written by an assistant or imported, plus who wrote it and whether
    a person accepted or rejected it (only an accepted one feeds anything else: similar incidents, runbooks,
    reviews, later drafts). Bounds are looser than the draft's: imported analyses may be longer."""

    id: int | None = Field(
        default=None,
        description="the stored analysis' number: a review that gives it (analysis_id, `review --analysis`) applies "
        "only while it is still the incident's latest",
    )
    whys: Annotated[list[Why], Field(max_length=10), BeforeValidator(whys_as_sent)]
    root_cause: Annotated[str, Field(min_length=3, max_length=2_000)]
    contributing_factors: Annotated[list[Factor], Field(max_length=10), BeforeValidator(factors_as_sent)] = Field(
        default_factory=list
    )
    action_items: Annotated[list[AnalysisAction], Field(max_length=10)] = Field(default_factory=list)
    model_behavior: Annotated[str, Field(max_length=2_000)] | None = None
    determinism: Determinism = "unknown"
    runs_to_verify: Annotated[int, Field(ge=1, le=1000)] | None = None
    responsible: Annotated[str, Field(max_length=120)] | None = None
    decisive_step: Annotated[int, Field(ge=0, le=10_000)] | None = None
    generated_by: Annotated[str, Field(max_length=40)]
    llm_model: Annotated[str, Field(max_length=200)] | None = None
    prompt_version: Annotated[str, Field(max_length=40)] | None = None
    hypotheses: Annotated[list[Hypothesis], Field(max_length=3)] = Field(default_factory=list)
    chosen_because: Annotated[str, Field(max_length=600)] | None = None
    state: AnalysisState = "draft"
    reviewed_by: Annotated[str, Field(max_length=200)] | None = None
    reviewed_at: When | None = None
    review_note: Annotated[str, Field(max_length=2_000)] | None = None
    created_at: When
    cited: list[str] = Field(default_factory=list, description="incident ids the analysis cites (all from its context)")
    removed_citations: list[str] = Field(
        default_factory=list, description="incident ids the writer cited that were not in its context: removed"
    )
    warnings: list[str] = Field(default_factory=list, description="what a reviewer should check")
    checks: list[str] = Field(default_factory=list, description="the draft checks it passed before it was stored")


class AnalysisReview(Model):
    """A person's verdict on an analysis: accepted (it feeds the knowledge base) or rejected, by whom and why."""

    decision: Literal["accept", "reject"]
    by: Short | None = None
    note: Medium | None = None
    analysis_id: Annotated[int, Field(ge=1)] | None = None  # the analysis read: refused when no longer the latest


# --- failure attribution (multi-agent runs) -------------------------------------------------------


class Attribution(Model):
    """Which agent, at which step, a failed multi-agent run went wrong, with the evidence: kept with the incident
    (and not in its analysis, so that drafting the 5 whys later does not replace it)."""

    responsible: Annotated[str, Field(min_length=1, max_length=120, description="the agent at fault")]
    decisive_step: Annotated[int, Field(ge=0, le=100_000, description="the step where the run went wrong")]
    evidence: Annotated[str, Field(max_length=600, description="an excerpt of that step, quoted")]
    reason: Annotated[str, Field(min_length=3, max_length=600)]
    method: Literal["heuristic", "llm"]
    llm_model: Annotated[str, Field(max_length=200)] | None = None
    fallback: Annotated[str, Field(max_length=300)] | None = Field(
        default=None, description="why the LLM's answer was not used (the heuristic's answer is stored instead)"
    )
