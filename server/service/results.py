"""What the service returns: flat, bounded pydantic models shared by the MCP tools, the CLI and the SDK."""

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent_postmortem.analysis.decision import Decision
from agent_postmortem.analysis.effectiveness import PatternEffect
from agent_postmortem.analysis.learn import RegressionCase, RunbookEntry
from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.models import ActionItem, Category, Severity, SimilarIncident, Status, Triage


class IncidentSummary(BaseModel):
    id: str
    title: str
    category: Category
    severity: Severity
    status: Status
    created_at: datetime
    triage: Triage | None = None
    occurrences: int = 1
    last_seen_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None


class ClassifyResult(Decision):
    similar: list[SimilarIncident]
    open_action_items: list[ActionItem] = Field(
        description="unfinished items on similar past incidents: follow these up rather than drafting new ones"
    )
    fixed_action_items: list[ActionItem] = Field(
        default_factory=list,
        description="when recurred_after_fix: the completed items on the pattern that did not prevent this failure",
    )
    redacted: dict[str, int] = Field(
        default_factory=dict, description="secrets and personal data replaced by placeholders before storage, by type"
    )


class CaptureResult(ClassifyResult):
    id: str = Field(description="the incident's id, e.g. INC-42")
    deduplicated: bool = Field(
        default=False,
        description="true when this capture was counted as one more occurrence of an open incident with the same "
        "failure signature (agent, tool, error) instead of creating a new one",
    )
    occurrences: int = 1
    replayed: bool = Field(
        default=False,
        description="true when this idempotency key was used before: the answer of that capture again (a new "
        "incident's, or a repeat's with the occurrence it counted)",
    )


class SearchResult(BaseModel):
    query: str = Field(
        description="what was searched: the query redacted (a long one: its start and its length), "
        "or the title of the incident whose neighbours these are"
    )
    hits: list[SimilarIncident]
    offset: int
    next_offset: int | None = Field(description="pass as offset for the next page; null when there is none")
    empty_because: str | None = Field(default=None, description="why the page has no hits, in words (None when it has)")
    best_score: float | None = Field(
        default=None, description="the cosine of the search's best hit (its first, whatever the page); null: no hit"
    )
    weak_match: bool = Field(
        default=False,
        description="true when even the best hit is weak (below the calibrated cosine): the hits may be unrelated",
    )
    match_note: str | None = Field(default=None, description="when weak_match: why, in words")
    named: str | None = Field(
        default=None,
        description="when the query names stored incidents in a sentence: how to read them or search their neighbours",
    )
    named_ids: list[str] = Field(
        default_factory=list,
        description="the stored incidents the query names in a sentence, as ids (what `named` speaks of): empty when "
        "it names none",
    )


class IncidentList(BaseModel):
    incidents: list[IncidentSummary]
    offset: int
    next_offset: int | None
    empty_because: str | None = Field(
        default=None, description="why the page has no incidents, in words (None when it has)"
    )


def why_no_incidents(count: Callable[[SearchFilters | None], int], offset: int, filters: SearchFilters | None) -> str:
    """Why a page of the incident list has no incidents: a page past the end, filters that match none, or none at
    all (a model paging on with offset got `[]` and could not tell the end from a failure). `count`: the store's."""
    if matching := count(filters):
        return f"offset {offset} is past the end: {matching} incident(s) match (offsets 0 to {matching - 1})"
    if filters and (in_all := count(None)):
        return f"no incident matches these filters ({in_all} in all); leave some out"
    return "there are no incidents yet: capture one, or import past incidents with postmortem import"


class ActionItemList(BaseModel):
    items: list[ActionItem]
    offset: int
    next_offset: int | None
    completion_rate: float | None = Field(description="completed / all items matching the filters, on every page")
    total: int = Field(0, description="items matching the filters, on every page")
    empty_because: str | None = Field(None, description="why the page has no items, in words (None when it has)")


class Stats(BaseModel):
    incidents: int
    by_category: dict[str, int]
    by_severity: dict[str, int]
    by_status: dict[str, int]
    action_items: dict[str, int]
    indexed: int | None = Field(description="vectors in the index; None in a process that does not own it")
    index_pending: int
    index_owner: bool = Field(description="whether this process owns the vector index (one process does)")


class ImportResult(BaseModel):
    imported: int
    skipped_duplicates: int
    ids: list[str] = Field(description="the new incident ids, in file order")


class Report(BaseModel):
    incident_id: str
    format: str
    text: str


class Pattern(BaseModel):
    id: str = Field(description="PAT- plus the pattern's oldest incident number")
    label: str
    size: int
    category: Category = Field(description="the most common category among the members")
    incident_ids: list[str] = Field(description="members, oldest first (at most 50)")
    first_seen: datetime
    last_seen: datetime
    open_action_items: list[ActionItem] = Field(description="unfinished items on any member (at most 10)")
    open_items: int = Field(default=0, description="how many unfinished items the members have, all of them")


class PatternList(BaseModel):
    patterns: list[Pattern]
    incidents_considered: int
    min_size: int
    total: int = Field(default=0, description="patterns found, the ones past the limit included")
    left_out: str | None = Field(default=None, description="how many patterns the limit left out, and how to see them")


class Completion(BaseModel):
    items: int
    completed: int
    overdue: int = Field(description="unfinished items past their due date")
    rate: float | None = Field(description="completed / items; null when there are none")

    @classmethod
    def of(cls, items: int, completed: int, overdue: int) -> "Completion":
        return cls(
            items=items, completed=completed, overdue=overdue, rate=round(completed / items, 3) if items else None
        )


class PatternCompletion(Completion):
    pattern_id: str
    label: str


class ActionStats(BaseModel):
    overall: Completion
    by_owner: dict[str, Completion]
    by_priority: dict[str, Completion]
    by_pattern: list[PatternCompletion] = Field(description="recurring patterns that have action items")
    owners_note: str | None = Field(
        default=None, description="what an owner shown as a redaction placeholder counts: every owner redacted so"
    )


class EffectivenessReport(BaseModel):
    patterns: list[PatternEffect]
    total: int = Field(default=0, description="patterns found, the ones past the limit included")
    left_out: str | None = Field(
        default=None, description="how many patterns the limit left out (the counts below are of those given)"
    )
    holding: int = Field(description="fixed patterns with no incident or occurrence since the fix")
    recurred: int = Field(description="fixed patterns that came back after the fix")
    in_progress: int
    without_items: int
    fix_date_unknown: int = Field(
        default=0,
        description="fixed patterns with an item whose completion date is unknown: whether they came back after the "
        "fix cannot be told (neither holding nor recurred)",
    )
    smaller_recurred: int = Field(
        default=0,
        description="patterns smaller than min_size (of 2 incidents and up) that came back after their fix, as "
        "capture's recurred_after_fix says: not listed nor counted above",
    )
    note: str | None = Field(default=None, description="what smaller_recurred means and how to list those patterns")


class Learned(BaseModel):
    eval_case: RegressionCase
    runbook: RunbookEntry
    runbook_markdown: str


class InitResult(BaseModel):
    home: str = Field(description="the team's data directory")
    team: str
    database: str = Field(description="sqlite or postgresql")
    incidents: int = Field(description="incidents stored now")
    seeded: int = Field(description="incidents this run loaded from the seed (0 without --seed)")
    made_private: bool = Field(description="an existing home was readable by others and was made 0700")


class WriteItYourself(BaseModel):
    """`draft_analysis` when no model can draft on the server: what the assistant needs to write the analysis
    itself and store it with record_analysis. Nothing is stored until it does."""

    status: Literal["write_it_yourself"] = "write_it_yourself"
    incident_id: str
    next_tool: Literal["record_analysis"] = "record_analysis"
    instructions: str = Field(description="what to do, in order")
    rules: str = Field(description="the rules of a good analysis (the drafting prompt's system part)")
    context: str = Field(description="the incident, its timeline and similar incidents, inside data delimiters")
    analysis_schema: dict[str, Any] = Field(description="the JSON schema analysis_json must follow")
    text: str = Field(exclude=True, description="all of it as one readable text, for the calling model")
