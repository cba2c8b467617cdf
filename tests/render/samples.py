"""The incidents, similar incidents and action items the report tests render, built directly (no store)."""

from datetime import timedelta

from agent_postmortem.store.models import (
    ActionItem,
    Category,
    Incident,
    SimilarIncident,
    TimelineEvent,
)
from tests.factories import FIXED_NOW


def incident(**changes: object) -> Incident:
    base = Incident(
        id="INC-5",
        title="Agent leaked a discount code",
        category=Category.PROMPT_INJECTION,
        severity="SEV2",
        triage="full",
        created_at=FIXED_NOW,
        resolved_at=FIXED_NOW,
        status="resolved",
        description="A web page told the agent to reveal codes.",
        timeline=[TimelineEvent(at=FIXED_NOW, kind="detected", description="Alert fired")],
    )
    return base.model_copy(update=changes)


def known(id_: str = "INC-2", score: float = 0.91) -> SimilarIncident:
    return SimilarIncident(
        id=id_,
        title="Agent leaked a coupon | after a web page asked",
        category=Category.PROMPT_INJECTION,
        severity="SEV3",
        status="resolved",
        score=score,
        created_at=FIXED_NOW,
        root_cause="The system let page text reach the tool-calling prompt unmarked.",
    )


def item(n: int, status: str = "open", overdue: bool = False) -> ActionItem:
    return ActionItem.model_validate(
        {
            "id": f"AI-{n}",
            "incident_id": "INC-2",
            "title": f"Mark page text as data | step {n}",
            "owner": "platform",
            "status": status,
            "overdue": overdue,
            "created_at": FIXED_NOW,
            "due_at": FIXED_NOW + timedelta(days=3),
        }
    )
