"""The dashboard's figures from the service's reads."""

from datetime import timedelta

from agent_postmortem.store.models import ActionItem, ActionStatus
from agent_postmortem.web.metrics import owners
from tests.factories import FIXED_NOW


def _item(n: int, owner: str | None, status: ActionStatus = "open", overdue: bool = False) -> ActionItem:
    return ActionItem(
        id=f"AI-{n}",
        incident_id="INC-1",
        title=f"Item {n}",
        owner=owner,
        status=status,
        overdue=overdue,
        created_at=FIXED_NOW + timedelta(minutes=n),
    )


def test_completion_per_owner_counts_an_owner_spelled_in_two_cases_once() -> None:
    """The owner filter matches "dana" and "Dana" as one owner, but the dashboard drew a bar for each spelling."""
    items = [_item(3, "Dana", "completed"), _item(1, "dana", overdue=True), _item(2, "lee"), _item(4, None)]
    assert owners(items) == [("Dana", 2, 1, 1), ("(none)", 1, 0, 0), ("lee", 1, 0, 0)]
