"""Reviewing a draft from the incident page while someone else reviews it too (another tab, a colleague, an MCP
client): the later verdict is refused with 409, as an action-item card is, instead of replacing the earlier one
unseen."""

import httpx
import pytest

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import Analysis, IncidentCreate
from tests.http_server import TOKEN
from tests.web.site import card_form, draft, sign_in


def _drafted(service: PostmortemService) -> tuple[str, str]:
    """A new incident with a draft analysis: its id and its review form's address."""
    incident = service.capture_incident(IncidentCreate(title="Booking agent double-charged a card", agent="book-agent"))
    service.record_analysis(incident.id, draft(), generated_by="first-writer")
    return incident.id, f"/incidents/{incident.id}/review"


def _analysis(service: PostmortemService, incident_id: str) -> Analysis:
    found = service.get_incident(incident_id).analysis
    assert found is not None
    return found


def test_the_later_of_two_reviews_of_one_draft_shown_twice_is_refused_not_saved_over(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    _, service, _ = site
    sign_in(client, TOKEN)
    incident_id, action = _drafted(service)
    first = card_form(client.get(f"/incidents/{incident_id}").text, action)  # lee's page
    second = card_form(client.get(f"/incidents/{incident_id}").text, action)  # kim's page, shown at the same time
    assert client.post(action, data={**first, "decision": "accept", "by": "lee", "note": "read"}).status_code == 303
    later = client.post(action, data={**second, "decision": "reject", "by": "kim", "note": "too thin"})
    assert later.status_code == 409, later.text
    assert "was accepted by lee after this page was shown, so your review was not saved" in later.text
    assert f'href="/incidents/{incident_id}">Back' in later.text
    now = _analysis(service, incident_id)
    assert (now.state, now.reviewed_by, now.review_note) == ("accepted", "lee", "read")


def test_a_review_made_by_another_client_after_the_page_was_shown_is_not_saved_over(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    _, service, _ = site
    sign_in(client, TOKEN)
    incident_id, action = _drafted(service)
    shown = card_form(client.get(f"/incidents/{incident_id}").text, action)
    service.review_analysis(incident_id, decision="reject", by="triage-agent")  # as review_analysis over MCP does
    answer = client.post(action, data={**shown, "decision": "accept", "by": "lee"})
    assert answer.status_code == 409 and "was rejected by triage-agent after this page was shown" in answer.text
    assert (_analysis(service, incident_id).state, _analysis(service, incident_id).reviewed_by) == (
        "rejected",
        "triage-agent",
    )
    reloaded = client.get(f"/incidents/{incident_id}").text
    assert action not in reloaded  # a reviewed analysis offers no review form to post again


def test_a_review_landing_between_the_forms_read_and_its_save_is_refused_not_saved_over(
    client: httpx.Client, site: tuple[str, PostmortemService, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The save read the analysis as a draft, then another client reviewed it before the save wrote: the save's
    write is a compare-and-set on what it read, so that review is seen, not replaced."""
    _, service, _ = site
    sign_in(client, TOKEN)
    incident_id, action = _drafted(service)
    shown = card_form(client.get(f"/incidents/{incident_id}").text, action)
    store, read = service.store, service.store.get_or_raise

    def read_then_another_review(wanted: str, **kwargs: bool) -> object:
        found = read(wanted, **kwargs)
        monkeypatch.setattr(store, "get_or_raise", read)  # once
        service.review_analysis(incident_id, decision="accept", by="triage-agent")
        return found

    monkeypatch.setattr(store, "get_or_raise", read_then_another_review)
    answer = client.post(action, data={**shown, "decision": "reject", "by": "lee"})
    now = _analysis(service, incident_id)
    assert answer.status_code == 409 and "was accepted by triage-agent after this page was shown" in answer.text
    assert (now.state, now.reviewed_by) == ("accepted", "triage-agent")
