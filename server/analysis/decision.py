"""What capture decides about a failure, as the models the MCP tools return: apart from the rules that decide it
(analysis/classify.py), so that the server lists its tools without compiling those rules first."""

from pydantic import BaseModel, Field

from agent_postmortem.store.models import Category, Severity, Triage


class CategoryCheck(BaseModel):
    """The learned classifier's reading of a capture whose category was given, when the two disagree."""

    category: Category
    confidence: float = Field(description="its calibrated probability for that category")


class Decision(BaseModel):
    """Everything capture decides about a failure, with the reasons for each part."""

    category: Category
    category_confidence: float
    category_signals: list[str]
    severity: Severity
    severity_reasons: list[str]
    triage: Triage = Field(description="full: write a full post-mortem; lightweight: verify the known pattern")
    triage_reasons: list[str]
    classifier_disagrees: CategoryCheck | None = Field(
        default=None,
        description="when the category was given (by the reporter or the assistant) and the learned classifier reads "
        "another one: its category and confidence, as a check",
    )
    novel: bool = Field(description="true when nothing similar enough was in the knowledge base")
    recurred_after_fix: bool = Field(
        default=False,
        description="true when the failure came back after every action item on its pattern was completed",
    )
