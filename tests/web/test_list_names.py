"""The Incidents page's agent and tool filters without a search read names as the search does: ignoring case and
whether words are joined by spaces, hyphens or underscores, and a name no incident has is said with the names there
are. Without a search (the plain list), `/incidents?agent=Fares_Agent` listed nothing and said only "No incident
matches these filters; leave some out", while the same filter with a search found fares-agent's incidents."""

import httpx

from tests.http_server import TOKEN
from tests.web.site import sign_in


def test_the_list_reads_an_agent_or_tool_in_another_spelling_as_the_search_does(client: httpx.Client) -> None:
    sign_in(client, TOKEN)
    for stored, typed in (
        ("agent=fares-agent", "agent=Fares_Agent"),
        ("agent=fares-agent", "agent=FARES+AGENT&sort=oldest"),
        ("tool=fares.search", "tool=FARES.Search"),
    ):
        exact = client.get(f"/incidents?{stored}").text
        page = client.get(f"/incidents?{typed}").text
        assert "/incidents/INC-" in exact and "No incident" not in page, typed
        assert page.count("/incidents/INC-") == exact.count("/incidents/INC-"), typed


def test_the_list_says_which_agent_no_incident_has_with_the_agents_there_are(client: httpx.Client) -> None:
    sign_in(client, TOKEN)
    page = client.get("/incidents?agent=fares-agnet").text
    assert "No incident has the agent &#39;fares-agnet&#39;" in page and "&#39;fares-agent&#39;" in page, page
