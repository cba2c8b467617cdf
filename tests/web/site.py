"""A knowledge base for the web view's tests (the seed, plus a captured incident with a drafted analysis and tracked
items), and signing in over real HTTP as a browser does (the form, its CSRF cookie, the session cookie)."""

import re
from pathlib import Path

import httpx

from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import (
    ActionItemCreate,
    AnalysisDraft,
    DraftFactor,
    DraftWhy,
    IncidentCreate,
    ProposedAction,
)
from tests.factories import SEED, make_service

DRAFT_TITLE = "Fares search agent looped on HTTP 429 from the fares provider"


def draft(**changes: object) -> AnalysisDraft:
    values: dict[str, object] = {
        "whys": [
            DraftWhy(question="Why did the agent fail?", answer="The fares API answered 429 on every call."),
            DraftWhy(question="Why did it keep calling?", answer="The retry loop had no backoff or budget."),
            DraftWhy(question="Why was there no budget?", answer="The tool wrapper predates the provider's quota."),
        ],
        "root_cause": "Retries without backoff or a budget turned a quota limit into an outage.",
        "contributing_factors": [
            DraftFactor(factor="No retry budget in the tool wrapper", effect="Unbounded retries on 429"),
            DraftFactor(factor="Unbounded retries on 429", effect="Quota exhausted for every user"),
            DraftFactor(factor="Quota shared across environments", effect="Quota exhausted for every user"),
        ],
        "action_items": [
            ProposedAction(
                title="Add jittered backoff and a retry budget to fares calls",
                owner_role="platform",
                priority="P0",
                due_in_days=7,
                addresses="unbounded retries",
            )
        ],
        "model_behavior": None,
        "determinism": "deterministic",
        "runs_to_verify": None,
        "responsible": None,
        "decisive_step": None,
    }
    return AnalysisDraft.model_validate({**values, **changes})


def seeded_service(home: Path) -> tuple[PostmortemService, str]:
    """The seed knowledge base plus one incident whose analysis is a draft; returns the service and that id."""
    service = make_service(home)
    service.import_incidents(read_incidents(SEED))
    captured = service.capture_incident(
        IncidentCreate(title=DRAFT_TITLE, error_type="RateLimitError", agent="fares-agent", tool="fares.search")
    )
    service.record_analysis(captured.id, draft(), generated_by="test-writer")
    service.add_action_item(captured.id, ActionItemCreate(title="Cap fares retries at three", owner="platform"))
    return service, captured.id


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF field on the page"
    return found[1]


def sign_in(client: httpx.Client, token: str) -> str:
    """Sign in with a team token as the sign-in form does; returns the session's CSRF token."""
    form = client.get("/login")
    answer = client.post("/login", data={"csrf": csrf_of(form.text), "token": token})
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/incidents").text)
