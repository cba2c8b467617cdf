"""Action items: what is to be done about an incident, by whom and when, with every change kept."""

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from agent_postmortem.store.models.fields import Model, Short, When, clean_text
from agent_postmortem.store.vocabulary import ActionStatus, Priority


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def end_of_day(value: Any) -> Any:
    """A due date given as a day (`2026-12-15`) is due by the end of that day (UTC), not from its first second:
    an item due today is not overdue the moment it is added. A time given (`2026-12-15T10:00+05:00`) is kept."""
    if isinstance(value, str) and _DAY.fullmatch(value.strip()):
        value = date.fromisoformat(value.strip())
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(23, 59, 59), tzinfo=UTC)
    return value


Due = Annotated[When, BeforeValidator(end_of_day)]


class ActionItemCreate(Model):
    title: Annotated[str, Field(min_length=3, max_length=300), AfterValidator(clean_text)]
    owner: Short | None = None
    priority: Priority = "P1"
    due_at: Due | None = None
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
