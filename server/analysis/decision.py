"""What capture decides about a failure, as the models the MCP tools return: apart from the rules that decide it
(analysis/classify.py), so that the server lists its tools without compiling those rules first."""

from pydantic import BaseModel, Field

from agent_postmortem.store.models import Category, CategoryCheck, CategorySource, Severity, Triage

__all__ = ["CategoryCheck", "Decision", "category_summary"]

_SOURCES = {
    "caller": "given by the caller",
    "model": "decided by the configured model",
    "classifier": "learned classifier",
    "rules": "keyword rules",
}


class Decision(BaseModel):
    """Everything capture decides about a failure, with the reasons for each part."""

    category: Category
    category_confidence: float = Field(
        description="the classifier's calibrated probability when it decided; 1.0 when the caller or a model did"
    )
    category_signals: list[str]
    category_source: CategorySource | None = Field(
        default="classifier",
        description="who decided the category: caller, model, classifier or rules (null: a record from before this "
        "was kept)",
    )
    severity: Severity
    severity_reasons: list[str]
    triage: Triage = Field(description="full: write a full post-mortem; lightweight: verify the known pattern")
    triage_reasons: list[str]
    classifier_disagrees: CategoryCheck | None = Field(
        default=None,
        description="when the caller or the configured model decided the category and the learned classifier reads "
        "another one: its category and confidence, as a check",
    )
    novel: bool = Field(description="true when nothing similar enough was in the knowledge base")
    recurred_after_fix: bool = Field(
        default=False,
        description="true when the failure came back after every action item on its pattern was completed",
    )


def category_summary(
    category: Category, confidence: float, source: CategorySource | None, check: CategoryCheck | None
) -> str:
    """One line saying what the category is, who decided it and whether the learned classifier disagrees, e.g.
    "tool_failure (given by the caller; the learned classifier reads prompt_injection at 0.91)"."""
    if source in (None, "classifier", "rules"):
        who = _SOURCES[source] + ", " if source else ""
        return f"{category.value} ({who}confidence {confidence:.2f})"
    dissent = f"; the learned classifier reads {check.category.value} at {check.confidence:.2f}" if check else ""
    return f"{category.value} ({_SOURCES[source]}{dissent})"
