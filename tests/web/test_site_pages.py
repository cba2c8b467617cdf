"""The web view's pages over real HTTP: incidents searched, filtered, sorted and paged, a draft accepted and a
timeline event added from the incident page, the incident's pattern shown once grouped, and the cache that keeps
slow reads off the pages (stale while one refresh runs, a peek that never waits)."""

import re
import threading
import time
from pathlib import Path

import httpx

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import IncidentCreate, SeedIncident
from agent_postmortem.web.cache import Memo
from tests.factories import make_service
from tests.http_server import TOKEN, serving
from tests.web.site import DRAFT_TITLE, sign_in


def test_incidents_are_searched_filtered_sorted_and_paged(client: httpx.Client) -> None:
    sign_in(client, TOKEN)
    found = client.get("/incidents", params={"q": "fares provider 429"})
    assert found.status_code == 200 and DRAFT_TITLE in found.text and "Relevance" in found.text
    rate = client.get("/incidents", params={"category": "rate_limit", "sort": "severity"}).text
    categories = re.findall(r"<td class=\"key\">([a-z_]+)</td>\s*<td class=\"key\"><span class=\"sev", rate)
    assert categories and set(categories) == {"rate_limit"}
    first, second = client.get("/incidents").text, client.get("/incidents", params={"page": 2}).text
    ids = re.compile(r'href="/incidents/(INC-\d+)"')
    assert set(ids.findall(first)).isdisjoint(ids.findall(second)) and 'rel="next"' in first
    bad = client.get("/incidents", params={"severity": "<b>SEV9</b>", "since": "yesterday"})
    assert bad.status_code == 400 and "SEV9" not in bad.text
    backwards = client.get("/incidents", params={"since": "2026-12-01", "until": "2026-11-01"})
    assert backwards.status_code == 400 and "From (2026-12-01) is after To (2026-11-01)" in backwards.text


def test_a_draft_is_accepted_and_a_timeline_event_added_from_the_incident_page(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    _, service, drafted = site
    csrf = sign_in(client, TOKEN)
    page = client.get(f"/incidents/{drafted}").text
    assert "Accept draft" in page and "<svg" in page and "Unbounded retries on 429" in page
    client.post(f"/incidents/{drafted}/events", data={"csrf": csrf, "kind": "mitigated", "description": "Paused"})
    accepted = client.post(f"/incidents/{drafted}/review", data={"csrf": csrf, "decision": "accept", "by": "lee"})
    assert accepted.status_code == 303
    incident = service.get_incident(drafted)
    assert incident.analysis is not None and incident.analysis.state == "accepted"
    assert [e.description for e in incident.timeline][-2:] == [
        "Paused",
        f"Analysis ({incident.analysis.generated_by}) accepted by lee.",
    ]
    assert incident.analysis.reviewed_by == "lee"
    # a verdict from a page that still showed the draft would replace lee's unseen: refused; one given on the
    # accepted analysis (the state the page showed) is saved
    stale = client.post(f"/incidents/{drafted}/review", data={"csrf": csrf, "decision": "reject", "note": "wrong"})
    assert stale.status_code == 409 and service.get_incident(drafted).analysis.state == "accepted"  # type: ignore[union-attr]
    shown = {"csrf": csrf, "decision": "reject", "note": "wrong", "state": "accepted"}
    rejected = client.post(f"/incidents/{drafted}/review", data=shown)
    assert rejected.status_code == 303 and service.get_incident(drafted).analysis.state == "rejected"  # type: ignore[union-attr]
    nothing = client.post(f"/incidents/{drafted}/review", data={"csrf": csrf, "decision": "maybe"})
    assert nothing.status_code == 400


def test_slow_reads_are_kept_served_stale_while_one_refresh_runs_and_cleared_by_a_change() -> None:
    now, calls = [0.0], []
    memo = Memo(ttl=60, clock=lambda: now[0])
    started, release = threading.Event(), threading.Event()

    def compute() -> int:
        calls.append(1)
        if len(calls) == 2:  # the background refresh: wait until the test has looked
            started.set()
            release.wait(10)
        return len(calls)

    assert memo.get("alpha", "k", compute) == 1 and memo.get("alpha", "k", compute) == 1
    now[0] = 61
    assert memo.get("alpha", "k", compute) == 1  # expired: served while it refreshes
    assert started.wait(10) and memo.get("alpha", "k", compute) == 1 and len(calls) == 2  # one refresh at a time
    memo.clear("alpha")  # a change: the refresh in flight was computed before it, so it is not kept
    assert memo.get("alpha", "k", compute) == 3
    release.set()  # the old refresh ends now and must not replace it
    for _ in range(200):
        if not memo._refreshing:
            break
        time.sleep(0.01)
    assert memo.get("alpha", "k", compute) == 3 and memo.get("beta", "k", lambda: 9) == 9


def test_a_value_kept_past_twice_its_time_is_not_served_the_view_waits_for_a_new_one() -> None:
    """Nobody looked at the patterns page for 20 minutes: its first view said "out of 2 incidents" while the store
    held 50, and the dashboard's counts disagreed with knowledge_stats, the stale value being served while it
    refreshed. Past twice the ttl a value is as good as none: a page waits for a new one, a peek starts one."""
    now, calls = [0.0], []
    memo = Memo(ttl=60, clock=lambda: now[0])

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert memo.get("alpha", "k", compute) == 1 and memo.peek("alpha", "p", compute) is None
    assert memo.get("alpha", "p", compute) == 2 and memo.peek("alpha", "p", compute) == 2  # the peek's computation
    now[0] = 20 * 60
    assert memo.get("alpha", "k", compute) == 3 and len(calls) == 3  # computed now, not the value of minute 0
    assert memo.peek("alpha", "p", compute) is None  # never waits: the value of minute 0 is not shown either


def test_a_peek_never_waits_it_starts_one_background_computation_and_then_serves_its_value() -> None:
    memo, started, release, calls = Memo(ttl=60), threading.Event(), threading.Event(), []

    def compute() -> int:
        calls.append(1)
        started.set()
        release.wait(10)
        return 7

    assert memo.peek("alpha", "k", compute) is None and started.wait(10)
    assert memo.peek("alpha", "k", compute) is None and len(calls) == 1  # still computing: not started twice
    threading.Timer(0.2, release.set).start()
    assert memo.get("alpha", "k", compute) == 7 and len(calls) == 1  # a page that needs it waits for that one
    assert memo.peek("alpha", "k", compute) == 7 and len(calls) == 1


def test_the_incident_page_shows_its_pattern_on_its_first_view(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    """It said "being grouped into patterns: reload in a few seconds" until the grouping of every incident was kept:
    the page reads its own pattern, from the incidents linked to it."""
    sign_in(client, TOKEN)
    member = site[1].recurring_patterns(limit=1).patterns[0]
    page = client.get(f"/incidents/{member.incident_ids[0]}").text
    assert f'<a href="/patterns#{member.id}">{member.id}</a>' in page and f"{member.size} incidents ·" in page


def test_a_pattern_fixed_on_a_date_not_recorded_is_shown_neither_held_nor_recurred(tmp_path: Path) -> None:
    """A pattern whose item was imported completed without a date was drawn green ("held") or counted as recurred
    after a fix dated at its incident's creation; the dashboard and the patterns page now say the date is unknown."""
    service = make_service(tmp_path / "home")
    same = {"agent": "eks-pipeline", "tool": "terraform", "error_message": "HTTP 503 from ALB", "status": "resolved"}
    done = {"title": "Revert the de-registration delay", "status": "completed"}
    rows = [
        {
            **same,
            "title": f"All services returning 503 in Kubernetes, wave {n}",
            "created_at": f"2021-06-2{n}T09:00:00Z",
        }
        for n in (2, 5, 8)
    ]
    service.import_incidents(
        [SeedIncident.model_validate({**rows[0], "action_items": [done]}), *map(SeedIncident.model_validate, rows[1:])]
    )
    with serving(service) as base, httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, TOKEN)
        patterns = client.get("/patterns").text
        assert 'class="verdict open">Fix: fixed; completion date unknown for 1 item' in patterns
        dashboard = client.get("/dashboard").text
        assert "0 holding, 0 recurred after the fix" in dashboard and "1 fixed on a date not recorded" in dashboard


def test_a_pattern_shows_how_many_items_are_open_past_the_ten_it_lists(tmp_path: Path) -> None:
    """ "10 open items" was the length of the list, which stops at 10: a pattern with 12 unfinished items said 10."""
    service = make_service(tmp_path / "home")
    same = {"agent": "eks-pipeline", "tool": "terraform", "error_message": "HTTP 503 from ALB", "status": "resolved"}
    items = [{"title": f"Follow-up {n}", "status": "open"} for n in range(12)]
    rows = [{**same, "title": f"All services returning 503 in Kubernetes, wave {n}"} for n in range(3)]
    rows[0]["action_items"] = items
    service.import_incidents([SeedIncident.model_validate(row) for row in rows])
    with serving(service) as base, httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, TOKEN)
        patterns = client.get("/patterns").text
        client.get("/patterns")
        incident = client.get("/incidents/INC-1").text
    assert "· 12 open items</p>" in patterns and "10 open items" not in patterns
    assert "· 12 open items</p>" in incident


def test_the_incident_page_shows_the_pattern_a_new_capture_has_just_joined(tmp_path: Path) -> None:
    """The incident page found its pattern in the patterns list kept for a minute: an incident captured after the
    list was made, which joined the pattern, was shown "Not part of a recurring pattern", and its pattern's size was
    the old one. The page reads the incident's own pattern as it is now."""

    service = make_service(tmp_path / "home")
    same = {"agent": "eks-pipeline", "tool": "terraform", "error_message": "HTTP 503 from ALB"}
    rows = [
        {**same, "title": f"All services returning 503 in Kubernetes, wave {n}", "status": "resolved"}
        for n in (1, 2, 3)
    ]
    service.import_incidents([SeedIncident.model_validate(row) for row in rows])
    with serving(service) as base, httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, TOKEN)
        client.get("/patterns")  # the list of patterns, kept for a minute
        before = client.get("/incidents/INC-1").text
        assert '<a href="/patterns#PAT-1">PAT-1</a>' in before and "3 incidents ·" in before, before
        joined = service.capture_incident(
            IncidentCreate(title="All services returning 503 in Kubernetes, wave 4", **same)
        )
        page = client.get(f"/incidents/{joined.id}").text
        first = client.get("/incidents/INC-1").text
    assert '<a href="/patterns#PAT-1">PAT-1</a>' in page and "4 incidents ·" in page, page
    assert "Not part of a recurring pattern" not in page and "being grouped" not in page
    assert "4 incidents ·" in first and f'href="/incidents/{joined.id}"' in first


def test_an_incidents_similar_past_incidents_link_to_their_pages(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    """As found with public post-mortems imported: the incident page listed five similar past incidents by id as
    plain text, so reading one meant going back to the list and searching for it; each id now opens its page (the
    exported file keeps them as plain text: it links to nothing)."""
    _, service, drafted = site
    sign_in(client, TOKEN)
    page = client.get(f"/incidents/{drafted}").text
    table = page.split("Novelty and similar past incidents", 1)[1].split("</table>", 1)[0]
    linked = re.findall(r'<a href="/incidents/(INC-\d+)"', table)
    ranked = re.findall(r"^\| \d \| \[?(INC-\d+)", service.render_report(drafted), re.MULTILINE)
    assert len(linked) == 5 and linked == ranked, table
    exported = client.get(f"/incidents/{drafted}/report.html").text
    assert "<a " not in exported.split("Novelty and similar past incidents", 1)[1].split("</table>", 1)[0]


def test_an_empty_knowledge_base_says_how_to_fill_it_and_filters_that_match_nothing_say_so(tmp_path: Path) -> None:
    """As found with `postmortem ui` on a new home: the first page said "No incidents match." as if a filter had
    left nothing, on a knowledge base with no incident at all, and said nothing of how to add one; a filter that
    matched none of 45 incidents said the same. Each now says why the list is empty, as `list` and `search` do."""
    service = make_service(tmp_path / "home")
    with serving(service) as base, httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, TOKEN)
        for params in ({}, {"q": "fares provider 429"}):
            page = client.get("/incidents", params=params).text
            assert "No incidents match" not in page and "no incidents yet" in page.lower(), params
            assert "postmortem import" in page, params
        service.capture_incident(IncidentCreate(title="Fares agent looped on HTTP 429", agent="fares-agent"))
        filtered = client.get("/incidents", params={"severity": "SEV1"}).text
        assert "no incident matches these filters (1 in all)" in filtered.lower()
