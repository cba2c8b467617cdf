"""The web view's search form, paging and error pages as a browser reaches them: dates bounded as the CLI and MCP
take them and refused with the form's labels, a refused search that keeps what was typed, pages past the end, an
address typed by hand, a template that fails, and a spent sign-in link."""

import re
from pathlib import Path

import httpx
import pytest

from agent_postmortem.evals.replicas import free_port, in_thread
from agent_postmortem.http.security import http_security
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.web import pages, reads
from agent_postmortem.web.app import Web
from agent_postmortem.web.auth import Sessions
from agent_postmortem.web.site import web_view
from tests.factories import make_service
from tests.http_server import TOKEN
from tests.web.site import card_form, csrf_of, sign_in


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
    nobody = client.get("/incidents?q=fares&category=timeout&status=open&agent=nobody").text
    assert "No incident has the agent &#39;nobody&#39;" in nobody  # why none matched, with the agents there are


def test_the_deepest_page_offers_no_next_page_that_would_show_it_again(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(client, TOKEN)
    monkeypatch.setattr(reads, "MAX_PAGE", 1)  # the seed's 46 incidents are two pages
    page = client.get("/incidents?page=2").text
    assert 'rel="next"' not in page and "Pages stop at 1: search or filter" in page


def test_a_page_number_past_where_the_list_stops_is_said_not_shown_silently_as_the_last_page(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/incidents?page=999999` showed "Page 400 is past the last page", and past the 400 pages the list shows, a
    typed page number showed page 400's incidents under the address of another page without a word."""
    sign_in(client, TOKEN)
    page = client.get("/incidents?page=999999").text
    assert "Page 999999 is past the last page of these incidents" in page and "Page 400 is past" not in page
    monkeypatch.setattr(reads, "MAX_PAGE", 1)  # the seed's 46 incidents are two pages
    page = client.get("/incidents?page=7").text
    assert "Page 7 is past page 1, where the list stops: this is page 1" in page
    assert re.findall(r'<td><a href="/incidents/(INC-\d+)">', page) == re.findall(
        r'<td><a href="/incidents/(INC-\d+)">', client.get("/incidents").text
    )


def test_a_board_page_past_the_columns_end_says_so_and_links_its_last_page(client: httpx.Client) -> None:
    """`/actions?status=open&page=20000` showed an empty column as "Page 10000", and any page past the end an empty
    column under a Previous link to another empty page."""
    sign_in(client, TOKEN)
    for asked in (3, 20_000, 10**30):
        answer = client.get("/actions", params={"status": "open", "page": asked})
        assert answer.status_code == 200, answer.text[-400:]
        said = f'Page {asked} is past the last page of these open items: <a href="/actions?status=open">go to the last'
        assert said in answer.text and 'rel="prev"' not in answer.text and "None." not in answer.text, asked
    assert "is past the last page" not in client.get("/actions", params={"status": "open"}).text


def test_an_owner_filter_longer_than_any_owner_comes_back_on_the_board_with_what_is_wrong(
    client: httpx.Client,
) -> None:
    """A 300-character owner in the board's address got the site's bare error page, the board and the filter gone."""
    sign_in(client, TOKEN)
    answer = client.get("/actions", params={"owner": "a" * 300})
    assert answer.status_code == 400 and 'role="alert">Owner must be at most 200 characters' in answer.text
    assert "<h1>Action items</h1>" in answer.text and f'name="owner" value="{"a" * 300}"' in answer.text
    answer = client.get("/actions", params={"status": "done"})
    assert answer.status_code == 400 and 'role="alert">status must be one of: open' in answer.text
    assert "<h1>Action items</h1>" in answer.text


def test_an_id_in_an_address_too_large_for_any_incident_is_told_there_is_no_such_incident(client: httpx.Client) -> None:
    """`/incidents/INC-99999999999999999999` (a well-formed id past the store's integers) was called "not a valid
    incident id"; no incident has it, which is what to say."""
    csrf = sign_in(client, TOKEN)
    for number in ("9999999999999", "9223372036854775808", "99999999999999999999"):
        for path in (f"/incidents/INC-{number}", f"/incidents/inc-{number}/report.html", f"/incidents/{number}"):
            answer = client.get(path)
            assert answer.status_code == 404 and f"no incident &#39;INC-{number}&#39;" in answer.text, path
        answer = client.post(f"/incidents/INC-{number}/events", data={"csrf": csrf, "description": "a note"})
        assert answer.status_code == 404 and f"no incident &#39;INC-{number}&#39;" in answer.text
        answer = client.post(f"/actions/AI-{number}", data={"csrf": csrf, "status": "open"})
        assert answer.status_code == 404 and f"no action item &#39;AI-{number}&#39;" in answer.text
    malformed = {
        "INC-12x": "that is not a valid incident id",
        "AI-3": "that is an action item id, not an incident id",
        "INC-1,INC-2": "that is more than one id",
    }
    for typed, said in malformed.items():
        answer = client.get(f"/incidents/{typed}")
        assert answer.status_code == 404 and said in answer.text and "no incident" not in answer.text, typed


def test_a_pattern_id_in_an_incidents_address_leads_to_the_patterns_page_not_to_a_command(
    client: httpx.Client,
) -> None:
    """`/incidents/PAT-3` said "(see `postmortem runbook PAT-3`)", a command, in a browser."""
    sign_in(client, TOKEN)
    answer = client.get("/incidents/PAT-3")
    assert answer.status_code == 404 and "PAT-3 is a pattern id, not an incident id" in answer.text
    assert "its incidents are on the Patterns page" in answer.text and '<a href="/patterns">Back</a>' in answer.text
    assert "postmortem runbook" not in answer.text and "runbook://" not in answer.text


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


def test_a_search_shows_its_weak_match_note_and_links_the_incident_its_words_name(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    """The search page showed a weak search's hits as plainly as real matches, and a question naming an incident
    ('what happened in INC-3?') ranked its words without a way to INC-3: both were in the search's result
    (`match_note`, `named`) and the page dropped them. On a page the named incident is a link, not a command."""
    _, service, _ = site
    sign_in(client, TOKEN)
    weak = service.search_incidents(query="quantum entanglement of violin strings", limit=25).match_note
    assert weak
    page = client.get("/incidents", params={"q": "quantum entanglement of violin strings"}).text
    assert f'role="status">{weak[:1].upper()}{weak[1:]}.</p>' in page
    assert service.search_incidents(query="what happened in INC-3 and INC-4?", limit=25).named
    page = client.get("/incidents", params={"q": "what happened in INC-3 and INC-4?"}).text
    said = 'role="status">The search names <a href="/incidents/INC-3">INC-3</a>, <a href="/incidents/INC-4">INC-4</a>'
    assert said in page and '<a href="/incidents?q=INC-3">search its id alone</a>' in page
    assert "postmortem show" not in page and "get_incident" not in page
    assert "weak match" not in client.get("/incidents").text.lower()


def test_a_search_with_no_letter_or_digit_or_for_an_unknown_id_comes_back_on_the_form_as_typed(
    client: httpx.Client,
) -> None:
    """'?', '!!!' or a pasted zero-width space in the search box got the site's 500 page ('Something went wrong'),
    and a search for INC-999 the bare 404 page: the form and its filters were gone with no word of what to type."""
    sign_in(client, TOKEN)
    for typed in ("?", "!!!", "\u200b"):
        answer = client.get("/incidents", params={"q": typed, "severity": "SEV2"})
        assert answer.status_code == 400, (typed, answer.text[-300:])
        assert 'role="alert">Search for words, an error message or an incident id' in answer.text, typed
        assert "<h1>Incidents</h1>" in answer.text and "<option selected>SEV2</option>" in answer.text, typed
    answer = client.get("/incidents", params={"q": "INC-999", "status": "open"})
    assert answer.status_code == 404 and 'role="alert">no incident &#39;INC-999&#39;' in answer.text
    assert 'name="q" type="search" value="INC-999"' in answer.text and "<option selected>open</option>" in answer.text


def test_a_page_below_1_or_a_board_page_without_a_status_is_refused_on_the_form_with_the_rule(
    client: httpx.Client,
) -> None:
    """`/actions?page=3` (no status) showed the board's first cards as if page 3 had been read, and `page=0` or
    `page=-2` showed page 1 under its own address, on the board and on the incidents list alike."""
    sign_in(client, TOKEN)
    for where, params in (("/incidents", {"severity": "SEV2"}), ("/actions", {"status": "open"})):
        for asked in ("0", "-2", "two"):
            answer = client.get(where, params={**params, "page": asked})
            assert answer.status_code == 400, (where, asked, answer.text[-300:])
            said = 'role="alert">page must be a whole number of at least 1 (1 is the first page)'
            assert said in answer.text and "<h1>" in answer.text, (where, asked)
    answer = client.get("/actions", params={"owner": "dana", "page": "3"})
    assert answer.status_code == 400 and 'role="alert">page 3 needs a status: the board shows' in answer.text
    assert "<h1>Action items</h1>" in answer.text and 'name="owner" value="dana"' in answer.text
    assert client.get("/actions", params={"page": "1"}).status_code == 200


def test_a_database_that_cannot_be_reached_is_told_on_the_page_with_503_not_the_generic_server_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL down under a running server: MCP clients were told the database could not be reached, while every
    page of the web view said "Something went wrong on the server" (500), and a form's change was lost without a
    word on why. The page now says, with 503, that the store is unreachable and that whoever runs the server should
    check its database settings: not the CLI's "check POSTMORTEM_DATABASE_URL", which a reader of the page cannot
    act on, and nothing of the URL (not even its host and port, in the driver's reason)."""
    from sqlalchemy.exc import OperationalError

    from agent_postmortem.errors import KnowledgeBaseUnavailable

    refused = 'connection failed: connection to server at "127.0.0.1", port 5 failed: Connection refused'
    down = OperationalError("SELECT 1", {}, Exception(refused))
    sessions, port, service = Sessions(), free_port(), make_service(tmp_path / "home")
    opened = {"ok": True}

    def for_team(team: str) -> PostmortemService:
        if not opened["ok"]:
            raise KnowledgeBaseUnavailable(down, retry_in=5.0)
        return service

    def unreachable(*args: object, **kwargs: object) -> None:
        raise down

    security = http_security(host="127.0.0.1", port=port, token=None, allowed_hosts=[], allowed_origins=[])
    app = web_view(Web(for_team, security, sessions=sessions))
    with in_thread(app, port, lifespan="off") as base, httpx.Client(base_url=base) as c:
        assert c.get(f"/login/link?token={sessions.issue_link('default')}").status_code == 303
        csrf = csrf_of(c.get("/incidents").text)
        monkeypatch.setattr(service, "list_action_items", unreachable)
        monkeypatch.setattr(service, "get_action_item", unreachable)
        monkeypatch.setattr(service, "update_action_item", unreachable)
        answers = [c.get("/actions"), c.post("/actions/AI-1", data={"csrf": csrf, "status": "completed"})]
        opened["ok"] = False
        answers.append(c.get("/incidents"))
        for answer in answers:
            assert answer.status_code == 503, answer.url
            assert "The incident store is unreachable: this server could not connect to its database" in answer.text
            assert "Whoever runs this server should check its database settings" in answer.text
            assert re.search(r"POSTMORTEM_DATABASE_URL|127\.0\.0\.1|port 5|Connection refused", answer.text) is None
            assert "Something went wrong" not in answer.text and 'href="/dashboard"' in answer.text
        assert "nothing was changed" in answers[1].text
        assert "It is tried again on the next call made 5 s or more from now." in answers[2].text
