"""The board's action-item cards as a browser submits them: every field the page put in the card, posted back over
real HTTP (a change made since the card was shown, an owner emptied, due dates, the view a save leads back to)."""

import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import ActionItem, ActionItemCreate, IncidentCreate
from tests.factories import make_service
from tests.http_server import TOKEN, serving
from tests.web.site import card_form, sign_in


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


def test_a_card_changing_a_field_someone_changed_since_it_was_shown_is_refused_not_saved_over(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    """Two tabs (or two people) gave the same item to different owners: the later save replaced the earlier owner
    without a word, and the first person believed the item was theirs."""
    _, service, drafted = site
    sign_in(client, TOKEN)
    item = service.add_action_item(drafted, ActionItemCreate(title="Alert on empty retrievals", owner="Søren Ørsted"))
    action = f"/actions/{item.id}"
    first, second = card_form(client.get("/actions").text, action), card_form(client.get("/actions").text, action)
    assert client.post(action, data={**first, "owner": "李雷", "due": "2026-12-24", "by": "a"}).status_code == 303
    refused = client.post(action, data={**second, "owner": "Zoë", "priority": "P0", "by": "b"})
    assert refused.status_code == 409, refused.text
    assert "owner was changed to 李雷 after this card was shown" in refused.text
    assert 'href="/actions"' in refused.text  # Back leads to the board, not the incidents list
    now = service.get_action_item(item.id)
    assert (now.owner, now.priority, now.history[-1].by) == ("李雷", item.priority, "a")  # nothing of it saved
    # the same change twice (a double submit, or both tabs completing it) is no conflict; another field is none
    assert client.post(action, data={**second, "owner": "李雷", "by": "b"}).status_code == 303
    assert client.post(action, data={**second, "priority": "P0", "by": "b"}).status_code == 303
    assert client.post(action, data={**second, "due": "2027-01-05"}).status_code == 409  # the due date moved too
    now = service.get_action_item(item.id)
    assert (now.owner, now.priority, now.due_at and now.due_at.date().isoformat()) == ("李雷", "P0", "2026-12-24")


def test_a_change_landing_between_the_cards_check_and_its_save_is_refused_not_saved_over(
    client: httpx.Client, site: tuple[str, PostmortemService, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card's check read the item, then the save wrote it: an MCP client giving the item to bob in between had
    its owner replaced by the card's, unseen (history: '' -> bob, then bob -> carol from a card that showed ''). A
    card's save now replaces only the value the card showed."""
    _, service, drafted = site
    sign_in(client, TOKEN)
    item = service.add_action_item(drafted, ActionItemCreate(title="Page on empty retrievals"))
    action, store, read = f"/actions/{item.id}", service.actions, service.actions.get
    form = card_form(client.get("/actions").text, action)

    def read_then_another_writer(action_id: str, **kwargs: object) -> object:
        found = read(action_id, **kwargs)  # type: ignore[arg-type]
        monkeypatch.setattr(store, "get", read)  # once
        store.update(action_id, now=datetime.now(UTC), by="mcp", owner="bob")
        return found

    monkeypatch.setattr(store, "get", read_then_another_writer)
    answer = client.post(action, data={**form, "owner": "carol", "by": "card"})
    owners = [(c.old, c.new, c.by) for c in service.get_action_item(item.id).history if c.field == "owner"]
    assert all(old in (None, "") for old, _, by in owners if by == "card"), (answer.status_code, owners)
    assert answer.status_code == 409 or owners[-1][2] == "mcp", owners


def _dana_s_card(
    client: httpx.Client, site: tuple[str, PostmortemService, str], title: str
) -> tuple[PostmortemService, ActionItem, str, dict[str, str]]:
    """Signed in, a new item of dana's on the drafted incident: the service, the item, its card's action and form."""
    _, service, drafted = site
    sign_in(client, TOKEN)
    item = service.add_action_item(drafted, ActionItemCreate(title=title, owner="dana"))
    action = f"/actions/{item.id}"
    return service, item, action, card_form(client.get("/actions").text, action)


def test_emptying_a_cards_owner_unassigns_the_item(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    """The emptied field was read as "not changed": the card saved, and the wrong person stayed the owner."""
    service, item, action, card = _dana_s_card(client, site, "Cap retries per run")
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
    service, item, action, card = _dana_s_card(client, site, "Write the fares runbook")
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


def test_every_card_of_a_long_column_is_reached_and_a_save_leads_back_to_the_view_it_was_made_in(
    tmp_path: Path,
) -> None:
    """A team with 55 open items saw 50 of them, "50+" and no way to the other 5, which no page could then change;
    and a card saved from the board filtered by owner led to the whole board, the filter and the place lost."""
    service = make_service(tmp_path / "home")
    incident = service.capture_incident(IncidentCreate(title="Retrieval returned nothing for refund questions"))
    items = [
        service.add_action_item(incident.id, ActionItemCreate(title=f"Step {n}", owner="Zoë", priority="P0"))
        for n in range(55)
    ]
    last = service.add_action_item(incident.id, ActionItemCreate(title="Audit the transcripts", priority="P2"))
    card = re.compile(r'<article class="item[^"]*" id="(AI-\d+)"')
    with serving(service) as base, httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, TOKEN)
        board = client.get("/actions").text
        assert len(card.findall(board)) == 50 and '<span class="count">56</span>' in board
        assert 'href="/actions?status=open">all 56 open</a>' in board
        first = client.get("/actions", params={"status": "open"}).text
        second = client.get("/actions", params={"status": "open", "page": 2}).text
        assert set(card.findall(first)) | set(card.findall(second)) == {i.id for i in [*items, last]}
        assert 'id="col-in_progress"' not in first and 'rel="next"' in first and 'rel="prev"' in second
        assert client.get("/actions", params={"status": "done"}).status_code == 400
        # a save from the owner's view, on its second page, leads back there, at the card
        view = {"owner": "zoë", "status": "open", "page": "2"}
        page = client.get("/actions", params=view).text
        [mine] = [i for i in card.findall(page) if i != last.id][-1:]
        answer = client.post(f"/actions/{mine}", data={**card_form(page, f"/actions/{mine}"), "status": "in_progress"})
        assert answer.status_code == 303
        # (moved to in progress, it left the open column: the board says so, test_..._is_said_to_have_left_it)
        assert answer.headers["location"] == "/actions?" + urlencode({**view, "left": mine}) + f"#{mine}"
        assert service.get_action_item(mine).status == "in_progress"
        # the page to return to is only ever the board
        for elsewhere in ("https://evil.example/actions", "/incidents/INC-1", "//evil.example"):
            form = {**card_form(page, f"/actions/{mine}"), "back": elsewhere}
            assert client.post(f"/actions/{mine}", data=form).headers["location"] == f"/actions#{mine}"


def test_a_card_moving_a_due_date_into_the_past_leads_to_the_board_saying_the_item_is_overdue_already(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    """A card given a due date already past saved it without a word, where the command line and the MCP tools say
    the item is overdue already; the board now says it too, once the save leads back to it."""
    _, service, drafted = site
    sign_in(client, TOKEN)
    item = service.add_action_item(drafted, ActionItemCreate(title="Rotate the fares API key", owner="dana"))
    action = f"/actions/{item.id}"
    saved = client.post(action, data={**card_form(client.get("/actions").text, action), "due": "2020-01-15"})
    assert saved.status_code == 303 and saved.headers["location"] == f"/actions?past_due={item.id}#{item.id}"
    board = client.get(saved.headers["location"]).text
    assert f"The due date 2020-01-15 is in the past: {item.id} is overdue already." in board
    owners = {**card_form(board, action), "due": "2020-01-16", "back": "/actions?owner=dana#elsewhere"}
    assert client.post(action, data=owners).headers["location"] == f"/actions?owner=dana&past_due={item.id}#{item.id}"
    later = client.post(action, data={**card_form(client.get("/actions").text, action), "due": "2099-01-15"})
    assert later.headers["location"] == f"/actions#{item.id}"  # a date to come: nothing to say
    assert "overdue already" not in client.get(f"/actions?past_due={item.id}").text  # nor once it is no longer
    assert "overdue already" not in client.get("/actions?past_due=AI-999999").text


def _as_a_browser_posts(card: dict[str, str]) -> dict[str, str]:
    """What a browser sends of a card: a one-line box's value without its line breaks, a hidden field's as CRLF."""
    hidden = {name for name in card if name.startswith("shown_") or name in ("csrf", "back")}
    return {k: v.replace("\n", "\r\n") if k in hidden else v.replace("\n", "") for k, v in card.items()}


@pytest.mark.parametrize("owner", ["Dana  Smith", "payments\nteam"])
def test_a_card_whose_owner_has_a_double_space_or_a_line_break_is_saved(
    client: httpx.Client, site: tuple[str, PostmortemService, str], owner: str
) -> None:
    """Found in chromium: an owner given over MCP as "Dana  Smith" could not be reassigned on the board, and one holding
    a line break could not even be completed: each save was refused (409) as changed meanwhile, naming that owner."""
    _, service, drafted = site
    sign_in(client, TOKEN)
    item = service.add_action_item(drafted, ActionItemCreate(title="Pin the SDK version", owner=owner))
    action = f"/actions/{item.id}"
    card = _as_a_browser_posts(card_form(client.get("/actions").text, action))
    assert client.post(action, data={**card, "status": "in_progress", "by": "lee"}).status_code == 303
    assert (service.get_action_item(item.id).status, service.get_action_item(item.id).owner) == ("in_progress", owner)
    card = _as_a_browser_posts(card_form(client.get("/actions").text, action))
    assert client.post(action, data={**card, "owner": "Eve", "by": "lee"}).status_code == 303
    assert service.get_action_item(item.id).owner == "Eve"


def test_a_card_says_when_its_item_was_completed_and_how_long_an_overdue_one_is_late_as_the_report_does(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    """The board's card said "overdue" with no length and nothing of when an item was completed, while the incident's
    post-mortem now says both: the card says them in the report's words."""
    _, service, drafted = site
    sign_in(client, TOKEN)
    late = service.add_action_item(
        drafted, ActionItemCreate(title="Page on <b>fares</b> 429s", owner="zed", due_at="2020-01-15")
    )
    done = service.add_action_item(
        drafted, ActionItemCreate(title="Alert on fares retries", owner="zed", due_at="2020-01-15")
    )
    done = service.update_action_item(done.id, status="completed")
    assert done.completed_at is not None
    board = client.get("/actions?owner=zed").text
    card = {m[1]: m[2] for m in re.finditer(r'<article class="[^"]*" id="(AI-\d+)">(.*?)</article>', board, re.S)}
    said = re.search(r"overdue by (\d+\.\d) days", card[late.id])
    assert said is not None and float(said[1]) > 365 and "<b>fares" not in card[late.id]
    completed = f"completed {done.completed_at:%Y-%m-%d %H:%M} UTC, "
    assert completed in card[done.id] and "days late" in card[done.id]
    shown = re.search(r"completed [^<]* late", card[done.id])
    assert shown is not None and shown[0] in service.render_report(drafted)  # the report's words for the same item


def test_a_card_saved_out_of_the_view_it_was_made_in_is_said_to_have_left_it(tmp_path: Path) -> None:
    """As found in chromium: on the board filtered by owner, giving a card to someone else (or, in one column alone,
    moving it to another status) led back to a view without it, at an anchor that was not there: the card was gone
    without a word of whether it was saved. The board now says where it went, with its post-mortem's link."""
    service = make_service(tmp_path / "home")
    incident = service.capture_incident(IncidentCreate(title="Retrieval returned nothing for refund questions"))
    item = service.add_action_item(incident.id, ActionItemCreate(title="Audit the transcripts", owner="eve"))
    stays = service.add_action_item(incident.id, ActionItemCreate(title="Rerun the evals", owner="eve"))
    with serving(service) as base, httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, TOKEN)
        page = client.get("/actions", params={"owner": "Eve"}).text
        moved = client.post(f"/actions/{item.id}", data={**card_form(page, f"/actions/{item.id}"), "owner": "lee"})
        assert moved.headers["location"] == f"/actions?owner=Eve&left={item.id}#{item.id}"
        board = client.get(moved.headers["location"]).text
        said = f"{item.id} was saved and is no longer in this view: it is open, owned by lee"
        assert said in board and f'<a href="/incidents/{incident.id}">' in board
        column = client.get("/actions", params={"status": "open"}).text
        done = {**card_form(column, f"/actions/{stays.id}"), "status": "completed"}
        assert client.post(f"/actions/{stays.id}", data=done).headers["location"] == (
            f"/actions?status=open&left={stays.id}#{stays.id}"
        )
        same = {**card_form(page, f"/actions/{stays.id}"), "priority": "P0"}  # still the owner's: back at its card
        assert client.post(f"/actions/{stays.id}", data=same).headers["location"] == f"/actions?owner=Eve#{stays.id}"
        assert "no longer in this view" not in client.get(f"/actions?left={item.id}").text  # the whole board has it
