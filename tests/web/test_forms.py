"""The incident page's forms as a browser submits them, posted back over real HTTP: timeline events, reviewing a
draft, a form over the size limit."""

import httpx
import pytest

from agent_postmortem.errors import AnalysisChanged
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import IncidentCreate
from tests.http_server import TOKEN
from tests.web.site import card_form, draft, sign_in


def test_a_timeline_event_of_many_lines_within_the_textarea_limit_is_kept_whole(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    _, service, drafted = site
    csrf = sign_in(client, TOKEN)
    lines = "\n".join(f"step {i:02d}: " + "w" * 90 for i in range(20))  # 1,999 characters, as the textarea counts
    typed = lines.replace("\n", "\r\n")  # as the browser posts it
    answer = client.post(f"/incidents/{drafted}/events", data={"csrf": csrf, "kind": "note", "description": typed})
    assert answer.status_code == 303, answer.text
    assert service.get_incident(drafted).timeline[-1].description == lines


def test_accepting_a_draft_from_a_page_shown_before_a_newer_draft_accepts_nothing(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    _, service, _ = site
    sign_in(client, TOKEN)
    incident = service.capture_incident(IncidentCreate(title="Booking agent double-charged a card", agent="book-agent"))
    service.record_analysis(incident.id, draft(), generated_by="first-writer")
    action = f"/incidents/{incident.id}/review"
    read = card_form(client.get(f"/incidents/{incident.id}").text, action)  # the draft the person read
    service.record_analysis(incident.id, draft(), generated_by="second-writer")
    stale = client.post(action, data={**read, "decision": "accept", "by": "lee"})
    assert stale.status_code == 409 and "A newer analysis was recorded since this page was shown" in stale.text
    assert f'href="/incidents/{incident.id}">Back' in stale.text  # to the page to reload, not the list
    now = service.get_incident(incident.id).analysis
    assert now is not None and now.state == "draft" and now.generated_by == "second-writer"
    fresh = card_form(client.get(f"/incidents/{incident.id}").text, action)
    assert client.post(action, data={**fresh, "decision": "accept", "by": "lee"}).status_code == 303
    accepted = service.get_incident(incident.id).analysis
    assert accepted is not None and accepted.state == "accepted" and accepted.generated_by == "second-writer"


def test_a_form_larger_than_the_limit_gets_the_site_error_page_with_a_way_back(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    _, service, drafted = site
    csrf = sign_in(client, TOKEN)
    before = len(service.get_incident(drafted).timeline)
    pasted = "x" * (65 * 1024)  # a log pasted past the textarea's limit by a script or an old browser
    for body in ({"csrf": csrf, "kind": "note", "description": pasted}, None):
        if body is None:  # chunked, without a Content-Length to refuse it by
            chunks = iter([f"csrf={csrf}&kind=note&description=".encode(), pasted.encode()])
            answer = client.post(
                f"/incidents/{drafted}/events",
                content=chunks,
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
        else:
            answer = client.post(f"/incidents/{drafted}/events", data=body)
        assert answer.status_code == 413
        assert answer.headers["content-type"].startswith("text/html")
        assert "64 KiB" in answer.text and f'href="/incidents/{drafted}"' in answer.text
        assert 'href="/dashboard"' in answer.text and "team default" in answer.text
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert len(service.get_incident(drafted).timeline) == before


def test_blank_lines_of_a_timeline_event_are_shown_on_the_incident_page(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    _, service, drafted = site
    csrf = sign_in(client, TOKEN)
    typed = "Rolled back the fares deploy.\r\n\r\nThen drained the queue.\r\n\r\n\r\nNo retries since."
    answer = client.post(f"/incidents/{drafted}/events", data={"csrf": csrf, "kind": "note", "description": typed})
    assert answer.status_code == 303, answer.text
    page = client.get(f"/incidents/{drafted}").text
    assert "Rolled back the fares deploy.<br />\n\u00a0<br />\nThen drained the queue.<br />\n\u00a0<br />\n" in page


def test_a_newer_draft_stored_while_the_review_is_written_is_a_conflict_not_a_server_error(
    client: httpx.Client, site: tuple[str, PostmortemService, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store refuses a verdict when a newer analysis arrived between its read and its write (AnalysisChanged);
    the web view gave that the generic 500 page ("something went wrong on the server")."""
    _, service, _ = site
    sign_in(client, TOKEN)
    incident = service.capture_incident(IncidentCreate(title="Booking agent double-charged a card", agent="book-agent"))
    service.record_analysis(incident.id, draft(), generated_by="first-writer")
    action = f"/incidents/{incident.id}/review"
    read = card_form(client.get(f"/incidents/{incident.id}").text, action)

    def raced(incident_id: str, **_: object) -> None:  # the other writer's draft lands inside the review's write
        raise AnalysisChanged(incident_id)

    monkeypatch.setattr(service, "review_analysis", raced)
    answer = client.post(action, data={**read, "decision": "accept", "by": "lee"})
    assert answer.status_code == 409 and "got a newer analysis while this review was being stored" in answer.text
    assert f'href="/incidents/{incident.id}">Back' in answer.text


def test_a_timeline_event_of_invisible_characters_alone_is_told_so_with_a_way_back_to_its_incident(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    """A zero-width space, a direction mark or a terminal escape alone as "What happened" (the browser's `required`
    lets them through) got "Not a valid value for: description." and a Back link to the incidents list, not to the
    incident whose form it was."""
    _, service, drafted = site
    csrf = sign_in(client, TOKEN)
    before = len(service.get_incident(drafted).timeline)
    for typed in ("\u200b", "\u202e", "\x1b", " \u200b\u200d "):
        answer = client.post(f"/incidents/{drafted}/events", data={"csrf": csrf, "kind": "note", "description": typed})
        assert answer.status_code == 400, repr(typed)
        assert "description has no visible character" in answer.text, (repr(typed), answer.text[-400:])
        assert f'<a href="/incidents/{drafted}">Back</a>' in answer.text, repr(typed)
    assert len(service.get_incident(drafted).timeline) == before
    answer = client.post(f"/incidents/{drafted}/events", data={"csrf": csrf, "kind": "note", "description": "a\u200bb"})
    assert answer.status_code == 303


def test_a_mitigated_or_resolved_event_added_on_the_page_marks_the_incident_so(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    """The page's only way to say an incident was mitigated or resolved is its timeline form, whose kinds offer both;
    such an event was stored while the incident stayed open, with no time to mitigate or resolve on the dashboard.
    Now it marks the incident as `postmortem resolve` does; a late "mitigated" does not take a resolved one back."""
    _, service, _ = site
    csrf = sign_in(client, TOKEN)
    incident = service.capture_incident(IncidentCreate(title="Support agent promised a refund it cannot give"))
    events = f"/incidents/{incident.id}/events"
    typed = {"csrf": csrf, "kind": "mitigated", "description": "turned the refund tool off"}
    assert client.post(events, data=typed).status_code == 303
    mitigated = service.get_incident(incident.id)
    assert mitigated.status == "mitigated" and mitigated.mitigated_at is not None
    assert [(e.kind, e.description) for e in mitigated.timeline][-1] == ("mitigated", "turned the refund tool off")
    assert client.post(events, data={**typed, "kind": "resolved", "description": "prompt fixed"}).status_code == 303
    resolved = service.get_incident(incident.id)
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert client.post(events, data={**typed, "description": "the tool was off from 10:05"}).status_code == 303
    late = service.get_incident(incident.id)
    assert late.status == "resolved" and late.resolved_at == resolved.resolved_at
    assert [(e.kind, e.description) for e in late.timeline][-1] == ("mitigated", "the tool was off from 10:05")
