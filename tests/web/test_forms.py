"""The web view's forms as a browser submits them: every field the page put in the form, posted back over real HTTP."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from agent_postmortem.evals.replicas import free_port, in_thread
from agent_postmortem.http.security import http_security
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import ActionItemCreate, IncidentCreate
from agent_postmortem.web import pages, reads
from agent_postmortem.web.app import Web
from agent_postmortem.web.auth import Sessions
from agent_postmortem.web.site import web_view
from tests.factories import make_service
from tests.http_server import TOKEN
from tests.web.site import csrf_of, draft, sign_in


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


@pytest.fixture
def client(site: tuple[str, PostmortemService, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site[0], timeout=60) as c:
        yield c


def test_a_card_left_open_in_another_tab_does_not_undo_a_change_made_since(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    _, service, drafted = site
    sign_in(client, TOKEN)
    # the draft's own item (another test of this module's site adds one to the same incident)
    [item] = [a for a in service.get_incident(drafted).action_items if a.title == "Cap fares retries at three"]
    action = f"/actions/{item.id}"
    stale = card_form(client.get("/actions").text, action)  # the first tab
    fresh = card_form(client.get("/actions").text, action)  # the second tab completes it and gives it to dana
    assert client.post(action, data={**fresh, "status": "completed", "owner": "dana", "by": "b"}).status_code == 303
    answer = client.post(action, data={**stale, "priority": "P0", "by": "a"})  # the first tab only raises priority
    assert answer.status_code == 303
    now = service.get_action_item(item.id)
    assert (now.status, now.owner, now.priority) == ("completed", "dana", "P0")
    assert {(c.field, c.by) for c in now.history[-3:]} == {("status", "b"), ("owner", "b"), ("priority", "a")}


def test_emptying_a_cards_owner_unassigns_the_item(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    """The emptied field was read as "not changed": the card saved, and the wrong person stayed the owner."""
    _, service, drafted = site
    sign_in(client, TOKEN)
    item = service.add_action_item(drafted, ActionItemCreate(title="Cap retries per run", owner="dana"))
    action = f"/actions/{item.id}"
    card = card_form(client.get("/actions").text, action)
    assert card["owner"] == "dana"
    assert client.post(action, data={**card, "owner": "", "by": "lee"}).status_code == 303
    now = service.get_action_item(item.id)
    last = now.history[-1]
    assert now.owner is None and (last.field, last.old, last.new, last.by) == ("owner", "dana", None, "lee")
    assert client.post(action, data={**card_form(client.get("/actions").text, action)}).status_code == 303
    assert service.get_action_item(item.id).history == now.history  # the empty field left empty: nothing changes


def test_a_cards_due_date_is_set_and_taken_off_and_refused_as_the_command_line_refuses_it(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    """The card changed the owner but had no due date: a slipped date could only be moved with `actions --due`."""
    _, service, drafted = site
    sign_in(client, TOKEN)
    item = service.add_action_item(drafted, ActionItemCreate(title="Write the fares runbook", owner="dana"))
    action = f"/actions/{item.id}"
    card = card_form(client.get("/actions").text, action)
    assert (card["due"], card["shown_due"]) == ("", "")
    assert client.post(action, data={**card, "due": "2026-12-20", "by": "lee"}).status_code == 303
    now = service.get_action_item(item.id)
    assert now.due_at == datetime(2026, 12, 20, 23, 59, 59, tzinfo=UTC)  # a day is due by its end, as --due reads it
    assert (now.history[-1].field, now.history[-1].by) == ("due_at", "lee")
    card = card_form(client.get("/actions").text, action)
    assert (card["due"], card["shown_due"]) == ("2026-12-20", "2026-12-20")
    assert client.post(action, data={**card, "owner": "lee"}).status_code == 303  # the date left alone stays
    assert service.get_action_item(item.id).due_at == now.due_at
    said = {
        "tomorrow": "invalid input: Due: expected an ISO 8601 day (2026-12-15) or time (2026-12-15T10:00:00Z)",
        "2026-13-01": "invalid input: Due: no such month: a month is 01 to 12",
        "1900-01-01": "invalid input: Due: out of range: a time from 1970 up to 3000 is expected",
        "<script>alert(1)</script>": "invalid input: Due: expected an ISO 8601 day",
    }
    for typed, words in said.items():  # the words of `postmortem actions --item AI-n --due ...` (tests/cli)
        refused = client.post(action, data={**card, "due": typed})
        assert refused.status_code == 400 and words in refused.text, typed
        assert "<script>alert" not in refused.text and "tomorrow" not in refused.text  # never echoed
    assert service.get_action_item(item.id).due_at == now.due_at
    card = card_form(client.get("/actions").text, action)
    assert client.post(action, data={**card, "due": ""}).status_code == 303
    taken_off = service.get_action_item(item.id)
    assert taken_off.due_at is None and (taken_off.history[-1].old, taken_off.history[-1].new) == (
        "2026-12-20T23:59:59+00:00",
        None,
    )


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


def test_an_address_typed_by_hand_that_is_no_page_gets_the_site_error_page_with_its_navigation(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    _, _, drafted = site
    sign_in(client, TOKEN)
    typed = (("/incidents/INC-1/nope", 404), ("/actions/AI-1/x", 404), (f"/incidents/{drafted}/events", 405))
    for path, status in typed:
        answer = client.get(path)
        assert answer.status_code == status, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert 'href="/dashboard"' in answer.text and "team default" in answer.text, path
        assert "<h1>" in answer.text and "Traceback" not in answer.text, path


def test_a_page_number_past_the_end_says_so_and_leads_to_the_first_page(client: httpx.Client) -> None:
    sign_in(client, TOKEN)
    for typed in ("/incidents?page=99", "/incidents?page=999999&sort=oldest"):
        page = client.get(typed).text
        assert "is past the last page" in page and "No incidents match" not in page, typed
        assert 'rel="prev"' not in page, typed  # a Previous to page 98, just as empty, is no way back
    assert 'href="?sort=oldest">go to the first page' in page
    assert "No incidents match" in client.get("/incidents?q=fares&category=timeout&status=open&agent=nobody").text


def test_the_deepest_page_offers_no_next_page_that_would_show_it_again(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(client, TOKEN)
    monkeypatch.setattr(reads, "MAX_PAGE", 1)  # the seed's 46 incidents are two pages
    page = client.get("/incidents?page=2").text
    assert 'rel="next"' not in page and "Pages stop at 1: search or filter" in page


def test_without_tokens_a_used_link_and_the_sign_in_page_say_how_to_get_a_new_link(tmp_path: Path) -> None:
    """`postmortem ui` after Sign out, an idle expiry or a link opened twice: its printed link is spent."""
    sessions, port, service = Sessions(), free_port(), make_service(tmp_path / "home")
    link = sessions.issue_link("default")
    security = http_security(host="127.0.0.1", port=port, token=None, allowed_hosts=[], allowed_origins=[])
    app = web_view(Web(lambda team: service, security, sessions=sessions))
    with in_thread(app, port, lifespan="off") as base, httpx.Client(base_url=base) as c:
        assert c.get(f"/login/link?token={link}").status_code == 303
        assert c.post("/logout", data={"csrf": csrf_of(c.get("/incidents").text)}).status_code == 303
        for answer in (c.get(f"/login/link?token={link}"), c.get("/login")):
            assert "stop postmortem ui (Ctrl-C) and start it again" in answer.text, answer.url


def test_a_wrong_date_range_is_told_with_the_form_labels_and_the_dates_as_typed(client: httpx.Client) -> None:
    sign_in(client, TOKEN)
    told = {
        ("2026-12-01", "2026-01-01"): "From (2026-12-01) is after To (2026-01-01)",
        ("2026-02-30", ""): "From: no such day: February 2026 has days 01 to 28",
        ("", "2026-02-30"): "To: no such day: February 2026 has days 01 to 28",  # told as From is, not "day is out"
        ("", "12/31/2026x"): "To must be an ISO 8601 year (2026), a month (2026-12), a day (2026-12-15) or a time",
        ("", "275760-01-01"): "To must be an ISO 8601 year",  # a six-digit year typed in the date field
        ("2026-13", ""): "From: no such month: a month is 01 to 12",
        ("", "2026-13-01"): "To: no such month: a month is 01 to 12",
        ("0001-01-01", "9999-12-31"): "From: out of range",
    }
    for (since, until), said in told.items():
        answer = client.get("/incidents", params={"since": since, "until": until})
        assert answer.status_code == 400 and said in answer.text, (since, until, answer.text[-400:])
        message = answer.text.split('role="alert">')[1].split("</p>")[0]
        assert "T00:00:00" not in message and "since" not in message and "until" not in message
    page = client.get("/incidents").text  # and the browser refuses those years before sending them
    for name in ("since", "until"):
        assert f'name="{name}" type="date" value="" min="1970-01-01" max="2999-12-31"' in page


def test_from_and_to_take_a_month_a_year_or_a_time_as_the_cli_and_mcp_do(client: httpx.Client) -> None:
    """A hand-typed `/incidents?until=2026-12` was refused ("To must be a date (YYYY-MM-DD)"), though `search
    --until 2026-12` and the MCP search take a month or a year for the whole of it."""
    sign_in(client, TOKEN)

    def shown(**bounds: str) -> list[str]:
        answer = client.get("/incidents", params={**bounds, "sort": "oldest"})
        assert answer.status_code == 200, (bounds, answer.text[-400:])
        return re.findall(r'<td><a href="/incidents/(INC-\d+)">', answer.text)

    december = shown(since="2025-12-01", until="2025-12-31")
    assert len(december) == 5  # the seed's December 2025
    assert shown(since="2025-12", until="2025-12") == december
    assert shown(since="2025-12-01T00:00:00Z", until="2025-12") == december
    assert shown(since="2025", until="2025") == shown(since="2025-01-01", until="2025-12-31")
    page = client.get("/incidents", params={"until": "2025-12"}).text  # shown as typed, kept by the next search
    assert card_form(page, "/incidents")["until"] == "2025-12" and 'name="until" type="text" value="2025-12"' in page


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
    assert stale.status_code == 400 and "A newer analysis was recorded since this page was shown" in stale.text
    now = service.get_incident(incident.id).analysis
    assert now is not None and now.state == "draft" and now.generated_by == "second-writer"
    fresh = card_form(client.get(f"/incidents/{incident.id}").text, action)
    assert client.post(action, data={**fresh, "decision": "accept", "by": "lee"}).status_code == 303
    accepted = service.get_incident(incident.id).analysis
    assert accepted is not None and accepted.state == "accepted" and accepted.generated_by == "second-writer"


def test_a_search_refused_for_one_field_comes_back_with_everything_typed_and_what_is_wrong(
    client: httpx.Client,
) -> None:
    sign_in(client, TOKEN)
    typed = {"q": 'fares <b>"429"</b>', "agent": "fares-agent", "status": "open", "since": "2026-12-01"}
    answer = client.get("/incidents", params={**typed, "until": "2026-01-01", "sort": "oldest"})
    page = answer.text
    assert answer.status_code == 400 and 'role="alert">From (2026-12-01) is after To (2026-01-01)' in page
    assert 'value="fares &lt;b&gt;&#34;429&#34;&lt;/b&gt;"' in page and 'value="fares-agent"' in page
    assert "<option selected>open</option>" in page and 'value="2026-01-01"' in page
    assert 'value="oldest" selected' in page and "<b>" not in page.split("<main")[1]


def test_a_page_whose_template_fails_gets_the_site_error_page_not_a_bare_server_error(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(client, TOKEN)
    monkeypatch.setattr(pages, "LISTS", {})  # the list's template then misses its choices while rendering
    answer = client.get("/incidents")
    assert answer.status_code == 500 and "Something went wrong on the server; it has been logged." in answer.text
    assert 'href="/dashboard"' in answer.text and "Traceback" not in answer.text and "choices" not in answer.text


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
