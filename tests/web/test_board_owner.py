"""The action-item board filtered by an owner no item has says so, with the owners there are, as list_action_items
and `actions --owner` do: it showed "None." in each of its three columns, so a typo in a name ("alcie") read as
that person having nothing to do."""

import httpx

from agent_postmortem.service.facade import PostmortemService
from tests.http_server import TOKEN
from tests.web.site import sign_in


def test_an_owner_no_item_has_is_said_with_the_owners_there_are(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    sign_in(client, TOKEN)
    owners = [o for o in site[1].action_item_stats().by_owner if o != "(none)"]
    assert owners  # the seeded site has owned items
    page = client.get("/actions", params={"owner": "nobody-at-all"}).text
    assert "no items owned by &#39;nobody-at-all&#39;" in page.lower(), page
    assert f"&#39;{owners[0]}&#39;" in page
    for_one_column = client.get("/actions", params={"owner": "nobody-at-all", "status": "completed"}).text
    assert "no items owned by &#39;nobody-at-all&#39;" in for_one_column.lower()
    assert "no items owned by" not in client.get("/actions", params={"owner": owners[0]}).text.lower()
