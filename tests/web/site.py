"""A knowledge base for the web view's tests (the seed, plus a captured incident with a drafted analysis and tracked
items), signing in over real HTTP as a browser does (the form, its CSRF cookie, the session cookie), and the fields a
browser would submit from a page's form."""

import re
from html.parser import HTMLParser
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


class _Form(HTMLParser):
    """The fields a browser would submit from the form posting to `action`, as the page shows them."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.select = action, False, ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif self.inside and tag == "input":
            self.fields[a["name"]] = a.get("value", "")
        elif self.inside and tag == "select":
            self.select = a["name"]
        elif self.inside and tag == "option" and "selected" in a:
            self.fields[self.select] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def card_form(page: str, action: str) -> dict[str, str]:
    parser = _Form(action)
    parser.feed(page)
    assert parser.fields, f"no form posting to {action}"
    return parser.fields
