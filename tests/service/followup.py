"""The follow-through tests' clock and the failure they capture again and again: one agent, one tool, one error."""

from datetime import datetime, timedelta

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import IncidentCreate
from tests.factories import FIXED_NOW


class Clock:
    def __init__(self) -> None:
        self.now = FIXED_NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def planner_capture(n: int = 1, **changes: object) -> IncidentCreate:
    """The same failure each time: one agent, one tool, one error (ids masked), so one signature."""
    return IncidentCreate.model_validate(
        {
            "title": f"Planner agent timed out calling flights search (run {n})",
            "agent": "trip-planner",
            "tool": "flights.search",
            "error_type": "TimeoutError",
            "error_message": f"read timed out after 30 s (request {n * 7919})",
            **changes,
        }
    )


def planner_timeout(service: PostmortemService, n: int = 1) -> str:
    return service.capture_incident(planner_capture(n)).id
