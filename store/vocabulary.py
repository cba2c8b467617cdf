"""The stored vocabularies: categories, severities, priorities, statuses. Plain enums and Literals without pydantic, so
that the CLI can offer them in `--help` without building the models (`store/models/` uses them)."""

from enum import StrEnum
from typing import Literal, get_args


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

Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
Priority = Literal["P0", "P1", "P2"]
Status = Literal["open", "mitigated", "resolved"]
Determinism = Literal["deterministic", "probabilistic", "unknown"]
Triage = Literal["full", "lightweight"]
ActionStatus = Literal["open", "in_progress", "completed"]
EventKind = Literal["detected", "escalated", "investigating", "mitigated", "resolved", "note"]
EVENT_LIMIT = 2_000  # characters of a timeline event's description, and of a note that becomes one
# A reopen is a "note" event that says so first; its reason is kept whole after that, within the event's limit.
REOPENED = "Reopened: "
REOPEN_NOTE_LIMIT = EVENT_LIMIT - len(REOPENED)
# How many incidents one search or list returns (at least, at most): the MCP tools' `limit` and the commands' `--limit`.
LIMIT = (1, 50)
# `postmortem list` in a terminal may show more than an assistant's context should hold.
LIST_LIMIT = (1, 200)


def names(vocabulary: object) -> tuple[str, ...]:
    """The values of a Literal vocabulary (`names(Severity)`), in their order."""
    return tuple(get_args(vocabulary))
