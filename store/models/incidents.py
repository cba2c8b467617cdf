"""Incidents: the capture as reported (`IncidentCreate`), the stored record (`Incident`) with its timeline, a
similar incident as search returns it, and the JSONL import format (`Seed*`)."""

import json
from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from agent_postmortem.store.models.actions import ActionItem, ActionItemCreate
from agent_postmortem.store.models.analysis import Analysis, Attribution, Factor, Why
from agent_postmortem.store.models.fields import (
    MAX_CAPTURE_BYTES,
    Body,
    Medium,
    Model,
    OpaqueKey,
    Short,
    Title,
    When,
    clean_text,
    storable,
)
from agent_postmortem.store.vocabulary import Category, CategorySource, Determinism, EventKind, Severity, Status, Triage


class CategoryCheck(BaseModel):
    """The learned classifier's reading of a capture whose category the caller or a model decided, when the two
    disagree: kept as a check."""

    category: Category
    confidence: float = Field(description="its calibrated probability for that category")


def arguments_as_text(value: Any) -> Any:
    """Tool arguments given as a JSON object or list (a JSONL line, a `capture --file`, as an agent logs them) are
    stored as their JSON text, as the MCP tool and the SDK store them; the import refused them ("Input should be a
    valid string")."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


class TimelineEventCreate(Model):
    at: When | None = None
    kind: EventKind = "note"
    description: Annotated[str, Field(min_length=1, max_length=2_000), AfterValidator(clean_text)]


class TimelineEvent(TimelineEventCreate):
    at: When


class IncidentCreate(Model):
    """A failure as reported: everything optional but the title is context for classification."""

    title: Title
    description: Body = ""
    error_type: Short | None = None
    error_message: Medium | None = None
    stack_trace: Body | None = None
    agent: Short | None = None
    tool: Short | None = None
    tool_args: Annotated[Medium | None, BeforeValidator(arguments_as_text)] = None
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

    # what is trimmed, in turn, when placeholders or the SDK's context take the capture past its total size
    trimmed_first: ClassVar[tuple[str, ...]] = (
        "description",
        "stack_trace",
        "tool_args",
        "prompt_excerpt",
        "error_message",
        "impact",
    )

    @model_validator(mode="before")
    @classmethod
    def _escaped(cls, data: Any) -> Any:
        """NUL and lone surrogates in the reported text as escapes (`\\x00`, `\\udcff`: `storable`), as the SDK and
        import-traces store them: a tool's binary answer in an error message refused the whole capture through MCP,
        `capture --file` and `import`. The idempotency key is compared as sent, never rewritten."""
        if not isinstance(data, dict):
            return data
        return {k: storable(v) if isinstance(v, str) and k != "idempotency_key" else v for k, v in data.items()}

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
    action_items: list[ActionItem] = Field(
        default_factory=list, description="up to 3 of its action items, unfinished first (get_incident has them all)"
    )


class SeedIncident(IncidentCreate):
    """A past incident in the JSONL import format: a capture plus its history and analysis."""

    status: Status = "resolved"
    created_at: When | None = None
    resolved_at: When | None = None
    timeline: Annotated[list[TimelineEventCreate], Field(max_length=200)] = Field(default_factory=list)
    analysis: "SeedAnalysis | None" = None
    action_items: Annotated[list["SeedActionItem"], Field(max_length=50)] = Field(default_factory=list)


class SeedAnalysis(Model):
    # A team's past write-ups state a root cause and factors, seldom five whys: an import of them refused every
    # line with "analysis.whys: Field required".
    whys: Annotated[list[Why], Field(max_length=7)] = Field(default_factory=list)
    root_cause: Annotated[str, Field(min_length=3, max_length=2_000)]
    contributing_factors: Annotated[list[Factor], Field(max_length=10)] = Field(default_factory=list)
    model_behavior: Annotated[str, Field(max_length=2_000)] | None = None


class SeedActionItem(ActionItemCreate):
    completed_at: When | None = Field(
        default=None, description="when a completed item was completed; without it, the completion date is unknown"
    )

    @model_validator(mode="after")
    def _completed_when_completed(self) -> Self:
        if self.completed_at is not None and self.status != "completed":
            raise ValueError("completed_at is only for an item whose status is completed")
        return self


SeedIncident.model_rebuild()
