"""Domain records: what an incident, its timeline, its analysis and its action items are.

Input variants (`*Create`) carry the limits every entry point enforces; stored variants add ids and
times. Everything parsed from a user, a file or an LLM forbids unknown keys, and validation errors
never echo the rejected value (it may hold a secret).
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue

from agent_postmortem.store.signature import (
    failure_signature as failure_signature,  # where the service has always found it
)


class Category(StrEnum):
    LLM_HALLUCINATION = "llm_hallucination"
    LLM_REFUSAL = "llm_refusal"
    TOOL_FAILURE = "tool_failure"
    PROMPT_INJECTION = "prompt_injection"
    TIMEOUT = "timeout"
    RATE_LIMIT = "rate_limit"
    DATA_CORRUPTION = "data_corruption"
    BUSINESS_LOGIC = "business_logic"
    INFRASTRUCTURE = "infrastructure"


# The same nine names as a Literal: enums become `$ref` in JSON schemas, which some MCP clients cannot follow.
CategoryName = Literal[
    "llm_hallucination",
    "llm_refusal",
    "tool_failure",
    "prompt_injection",
    "timeout",
    "rate_limit",
    "data_corruption",
    "business_logic",
    "infrastructure",
]
LLM_CATEGORIES = frozenset({Category.LLM_HALLUCINATION, Category.LLM_REFUSAL, Category.PROMPT_INJECTION})
# Who decided an incident's category: the caller (the reporter, the assistant, a CLI flag, agent code), the
# configured model, the learned classifier, or the keyword rules (a past incident imported without one).
CategorySource = Literal["caller", "model", "classifier", "rules"]


class CategoryCheck(BaseModel):
    """The learned classifier's reading of a capture whose category the caller or a model decided, when the two
    disagree: kept as a check."""

    category: Category
    confidence: float = Field(description="its calibrated probability for that category")


Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
Priority = Literal["P0", "P1", "P2"]
Status = Literal["open", "mitigated", "resolved"]
Determinism = Literal["deterministic", "probabilistic", "unknown"]
Triage = Literal["full", "lightweight"]
ActionStatus = Literal["open", "in_progress", "completed"]
EventKind = Literal["detected", "escalated", "investigating", "mitigated", "resolved", "note"]


def _clean(value: str) -> str:
    """Reject text that cannot be stored faithfully: NUL bytes and lone surrogates."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains an unpaired surrogate") from None
    return value


# Every stored time falls in this range: far-off dates would overflow on conversion to UTC (9999-12-31T23:59-14:00)
# or in date arithmetic later (due dates, windows), so they are refused where they come in.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def _aware(value: datetime) -> datetime:
    out_of_range = f"out of range: a time from {EARLIEST.year} up to {LATEST.year} is expected"
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError(out_of_range) from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(out_of_range)
    return utc


Title = Annotated[str, Field(min_length=3, max_length=200), AfterValidator(_clean)]
Short = Annotated[str, Field(max_length=200), AfterValidator(_clean)]
Body = Annotated[str, Field(max_length=20_000), AfterValidator(_clean)]
Medium = Annotated[str, Field(max_length=2_000), AfterValidator(_clean)]
When = Annotated[datetime, AfterValidator(_aware)]
# Compared exactly as sent: not stripped, not redacted (the store keeps a keyed digest: store/idempotency.py)
OpaqueKey = Annotated[
    str, StringConstraints(strip_whitespace=False), Field(min_length=8, max_length=200), AfterValidator(_clean)
]


MAX_CAPTURE_BYTES = 40 * 1024


class Model(BaseModel):
    """Shared config: strict input, values never echoed in validation errors."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, str_strip_whitespace=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- timeline ---------------------------------------------------------------------------------


class TimelineEventCreate(Model):
    at: When | None = None
    kind: EventKind = "note"
    description: Annotated[str, Field(min_length=1, max_length=2_000), AfterValidator(_clean)]


class TimelineEvent(TimelineEventCreate):
    at: When


# --- analysis (the LLM's output schema, with bounds so small models cannot ramble) ---------------


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

    whys: Annotated[list[DraftWhy], Field(min_length=3, max_length=6)]
    root_cause: Annotated[str, Field(min_length=10, max_length=400)]
    contributing_factors: Annotated[list[DraftFactor], Field(max_length=4)]
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

    @classmethod
    def __get_pydantic_json_schema__(cls, core: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(handler(core))
        schema["required"] = list(schema["properties"])
        for field in schema["properties"].values():
            field.pop("default", None)
        return schema


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

    whys: Annotated[list[Why], Field(max_length=10)]
    root_cause: Annotated[str, Field(min_length=3, max_length=2_000)]
    contributing_factors: Annotated[list[Factor], Field(max_length=10)] = Field(default_factory=list)
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


# --- action items -----------------------------------------------------------------------------


class ActionItemCreate(Model):
    title: Annotated[str, Field(min_length=3, max_length=300), AfterValidator(_clean)]
    owner: Short | None = None
    priority: Priority = "P1"
    due_at: When | None = None
    status: ActionStatus = "open"


class ChangeAuthor(Model):
    """Who changes an action item, as its history keeps it: checked and redacted like every stored text."""

    by: Short | None = None


class ActionItemChange(BaseModel):
    at: datetime
    field: str = Field(description="created, title, owner, priority, due_at or status")
    old: str | None = None
    new: str | None = None
    by: str | None = None


class ActionItem(ActionItemCreate):
    id: str
    incident_id: str
    created_at: When
    completed_at: When | None = None
    overdue: bool = False
    history: list[ActionItemChange] = Field(
        default_factory=list, description="every change, oldest first (filled when a single item is read)"
    )


# --- incidents --------------------------------------------------------------------------------


class IncidentCreate(Model):
    """A failure as reported: everything optional but the title is context for classification."""

    title: Title
    description: Body = ""
    error_type: Short | None = None
    error_message: Medium | None = None
    stack_trace: Body | None = None
    agent: Short | None = None
    tool: Short | None = None
    tool_args: Medium | None = None
    model: Short | None = None
    prompt_excerpt: Medium | None = None
    environment: Short | None = None
    user_facing: bool = False
    customer_reported: bool = False
    impact: Medium | None = None
    category: Category | None = None
    severity: Severity | None = None
    determinism: Determinism = "unknown"
    occurred_at: When | None = None
    source_id: Short | None = None  # the failure's id where it came from (a tracker, a trace, a dataset)
    idempotency_key: OpaqueKey | None = Field(
        default=None, description="the same key on a retry returns the first capture instead of a duplicate"
    )

    @model_validator(mode="after")
    def _total_size(self) -> Self:
        total = sum(len(v.encode("utf-8")) for v in self.__dict__.values() if isinstance(v, str))
        if total > MAX_CAPTURE_BYTES:
            raise ValueError(
                f"the incident's text fields total more than {MAX_CAPTURE_BYTES // 1024} KiB; "
                "trim the stack trace or description"
            )
        return self


class Incident(Model):
    id: str
    title: str
    description: str = ""
    error_type: str | None = None
    error_message: str | None = None
    stack_trace: str | None = None
    agent: str | None = None
    tool: str | None = None
    tool_args: str | None = None
    model: str | None = None
    prompt_excerpt: str | None = None
    environment: str | None = None
    user_facing: bool = False
    customer_reported: bool = False
    impact: str | None = None
    source_id: str | None = None
    category: Category
    category_confidence: float = 1.0
    category_signals: list[str] = Field(default_factory=list)
    category_source: CategorySource | None = Field(
        default=None, description="who decided the category (None: recorded before the source was kept)"
    )
    classifier_disagrees: CategoryCheck | None = None
    severity: Severity
    severity_reasons: list[str] = Field(default_factory=list)
    triage: Triage
    triage_reasons: list[str] = Field(default_factory=list)
    novel: bool = False
    recurred_after_fix: bool = False
    redactions: dict[str, int] = Field(
        default_factory=dict, description="secrets and personal data replaced before storage, by type (no values)"
    )
    determinism: Determinism = "unknown"
    status: Status = "open"
    created_at: When
    mitigated_at: When | None = None
    resolved_at: When | None = None
    postmortem_completed: bool = False
    signature: str | None = None
    occurrences: int = 1
    last_seen_at: When | None = None
    timeline: list[TimelineEvent] = Field(default_factory=list)
    analysis: Analysis | None = None
    action_items: list[ActionItem] = Field(default_factory=list)
    attribution: Attribution | None = None

    def search_text(self) -> str:
        return search_text(self)


def search_text(item: "Incident | IncidentCreate") -> str:
    """The text that is embedded and searched: what a person would describe the failure with."""
    parts = [item.title, item.description, item.error_type, item.error_message, item.agent, item.tool]
    return "\n".join(p for p in parts if p)


class SimilarIncident(BaseModel):
    id: str
    title: str
    category: Category
    severity: Severity
    status: Status
    score: float = Field(description="semantic similarity (cosine, 0-1) to the query or incident")
    relevance: float = Field(default=0.0, description="the fused hybrid score the ranking used")
    lexical_score: float = Field(default=0.0, description="BM25 score of the shared words and identifiers")
    matched_terms: list[str] = Field(default_factory=list, description="stemmed query terms found in the incident")
    matched_fields: list[str] = Field(default_factory=list, description="the fields those terms were found in")
    why: str = ""
    created_at: datetime
    root_cause: str | None = None
    action_items: list[ActionItem] = Field(default_factory=list)


class SeedIncident(IncidentCreate):
    """A past incident in the JSONL import format: a capture plus its history and analysis."""

    status: Status = "resolved"
    created_at: When | None = None
    resolved_at: When | None = None
    timeline: Annotated[list[TimelineEventCreate], Field(max_length=200)] = Field(default_factory=list)
    analysis: "SeedAnalysis | None" = None
    action_items: Annotated[list["SeedActionItem"], Field(max_length=50)] = Field(default_factory=list)


class SeedAnalysis(Model):
    whys: Annotated[list[Why], Field(max_length=7)]
    root_cause: Annotated[str, Field(min_length=3, max_length=2_000)]
    contributing_factors: Annotated[list[Factor], Field(max_length=10)] = Field(default_factory=list)
    model_behavior: Annotated[str, Field(max_length=2_000)] | None = None


class SeedActionItem(ActionItemCreate):
    pass


SeedIncident.model_rebuild()
