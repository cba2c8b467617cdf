"""Action items over time: every edit kept with when and who, an owner or a due date taken off again, owners matched
ignoring case with empty lists that say why, and completion rates per owner, priority and list."""

from datetime import timedelta

import pytest

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import ActionItemCreate
from tests.factories import FIXED_NOW
from tests.service.followup import Clock, planner_timeout

pytestmark = pytest.mark.usefixtures("database")  # the store contract: SQLite and PostgreSQL


def test_every_edit_of_an_item_is_kept_with_when_and_who(svc: PostmortemService, clock: Clock) -> None:
    incident = planner_timeout(svc)
    item = svc.add_action_item(incident, ActionItemCreate(title="Add a deadline to flights.search"), by="dana")
    clock.advance(hours=2)
    svc.update_action_item(item.id, owner="search-team", priority="P0", by="lee")
    svc.update_action_item(item.id, priority="P0")  # no change: nothing recorded
    clock.advance(days=1)
    svc.update_action_item(item.id, status="completed")
    history = svc.get_action_item(item.id).history
    assert [(h.field, h.old, h.new, h.by) for h in history] == [
        ("created", None, "Add a deadline to flights.search", "dana"),
        ("owner", None, "search-team", "lee"),
        ("priority", "P1", "P0", "lee"),
        ("status", "open", "completed", None),
    ]
    assert history[1].at == FIXED_NOW + timedelta(hours=2) and history[3].at == FIXED_NOW + timedelta(days=1, hours=2)
    with pytest.raises(ValueError, match="cannot change"):
        svc.update_action_item(item.id, incident_id="INC-2")


def test_an_owner_given_by_mistake_can_be_taken_off_again(svc: PostmortemService) -> None:
    """`owner=None` meant "no change" and nothing meant "no owner": an item given to the wrong person kept them."""
    incident = planner_timeout(svc)
    item = svc.add_action_item(incident, ActionItemCreate(title="Add a deadline to flights.search", owner="ana"))
    svc.update_action_item(item.id, owner=None, priority="P0")  # not given: left as it is
    assert svc.get_action_item(item.id).owner == "ana"
    svc.update_action_item(item.id, owner="", by="lee")
    now = svc.get_action_item(item.id)
    last = now.history[-1]
    assert now.owner is None and (last.field, last.old, last.new, last.by) == ("owner", "ana", None, "lee")
    svc.update_action_item(item.id, owner="  ")  # already unassigned: nothing recorded
    assert len(svc.get_action_item(item.id).history) == len(now.history)
    assert svc.add_action_item(incident, ActionItemCreate(title="Cap retries", owner="")).owner is None
    assert svc.action_item_stats().by_owner["(none)"].items == 2
    assert [i.id for i in svc.list_action_items(owner="").items] == [item.id, "AI-2"]  # "" lists the unassigned


def test_a_due_date_can_be_taken_off_again(svc: PostmortemService) -> None:
    """`due_at=None` meant "no change" and an empty due date was refused: a date set by mistake could not be undone."""
    incident = planner_timeout(svc)
    item = svc.add_action_item(incident, ActionItemCreate(title="Add a deadline", due_at=FIXED_NOW - timedelta(days=1)))
    assert svc.get_action_item(item.id).overdue
    svc.update_action_item(item.id, due_at=None, priority="P0")  # not given: left as it is
    assert svc.get_action_item(item.id).due_at is not None
    svc.update_action_item(item.id, due_at="", by="lee")
    now = svc.get_action_item(item.id)
    last = now.history[-1]
    assert now.due_at is None and not now.overdue and (last.field, last.new, last.by) == ("due_at", None, "lee")
    svc.update_action_item(item.id, due_at=" ")  # already without a date: nothing recorded
    assert len(svc.get_action_item(item.id).history) == len(now.history)
    assert svc.list_action_items(overdue=True).items == []


def test_owners_are_matched_ignoring_case_and_an_empty_list_says_why(svc: PostmortemService) -> None:
    """`owner="Platform"` found nothing when the stored owner was "platform", and every empty list (filters that
    cannot both hold, an owner no item has, a page past the end) came back with no word of why."""
    incident = planner_timeout(svc)
    for title in ("Add a deadline", "Cap retries", "Add backoff"):
        svc.add_action_item(incident, ActionItemCreate(title=title, owner="platform"))
    svc.add_action_item(incident, ActionItemCreate(title="Page the on-call", owner="Émile"))
    assert [i.owner for i in svc.list_action_items(owner="Platform").items] == ["platform"] * 3
    assert svc.list_action_items(owner=" PLATFORM ").total == 3
    assert [i.title for i in svc.list_action_items(owner="Émile").items] == ["Page the on-call"]
    assert svc.list_action_items(owner="Platform").empty_because is None
    contradiction = svc.list_action_items(overdue=True, status="completed")
    assert contradiction.items == [] and "overdue and completed cannot both hold" in str(contradiction.empty_because)
    assert svc.list_action_items(owner="platfrom").empty_because == (
        "no items owned by 'platfrom' (owners are matched ignoring case); owners: 'platform' has 3, 'Émile' has 1"
    )
    assert svc.list_action_items(owner="Platform", status="completed").empty_because == (
        "no action items match owner 'Platform', status completed (4 in all)"
    )
    svc.add_action_item(incident, ActionItemCreate(title="Rotate the key", owner="ana@example.com"))
    mailed = svc.list_action_items(owner="ana@example.com")  # stored as [REDACTED:email], as every such owner is
    assert mailed.items == [] and "redacted before it is stored, so it cannot be matched" in str(mailed.empty_because)
    assert "redacted before" not in str(svc.list_action_items(owner="platfrom").empty_because)
    past = svc.list_action_items(owner="platform", offset=1000)
    assert past.total == 3 and past.empty_because == (
        "offset 1000 is past the end: 3 action item(s) match owner 'platform' (offsets 0 to 2)"
    )


def test_an_owner_filter_holding_personal_data_or_a_secret_is_not_echoed_in_why_the_list_is_empty(
    svc: PostmortemService,
) -> None:
    """ "no items owned by 'ghp_...'" sent the token or the email address given as an owner back in the answer."""
    incident = planner_timeout(svc)
    svc.add_action_item(incident, ActionItemCreate(title="Cap retries", owner="platform"))
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    for owner in (token, "ana@example.com"):
        for status in (None, "completed"):
            why = str(svc.list_action_items(owner=owner, status=status).empty_because)
            assert owner not in why and "'[REDACTED:" in why, why
    assert "a token) is redacted before it is stored" in str(svc.list_action_items(owner=token).empty_because)


def test_completion_rates_per_owner_and_priority(svc: PostmortemService, clock: Clock) -> None:
    incident = planner_timeout(svc)
    due = FIXED_NOW + timedelta(days=1)
    a = svc.add_action_item(incident, ActionItemCreate(title="Item a", owner="ana", priority="P0", due_at=due))
    svc.add_action_item(incident, ActionItemCreate(title="Item b", owner="ana", priority="P1", due_at=due))
    svc.add_action_item(incident, ActionItemCreate(title="Item c", priority="P1"))
    svc.update_action_item(a.id, status="completed")
    clock.advance(days=2)  # b is now overdue
    stats = svc.action_item_stats()
    assert (stats.overall.items, stats.overall.completed, stats.overall.overdue) == (3, 1, 1)
    assert stats.overall.rate == 0.333
    assert stats.by_owner["ana"].rate == 0.5 and stats.by_owner["ana"].overdue == 1
    assert stats.by_owner["(none)"].items == 1 and stats.by_owner["(none)"].rate == 0.0
    assert stats.by_priority["P0"].rate == 1.0 and stats.by_priority["P1"].rate == 0.0


def test_the_completion_rate_of_a_list_is_of_every_item_it_matches(svc: PostmortemService) -> None:
    """It was of the page shown: an incident with 2 of 3 items done read 1.0 with limit=1, and a page of open ones 0."""
    first = planner_timeout(svc, 1)
    items = [svc.add_action_item(first, ActionItemCreate(title=f"Item {n}", priority="P0")) for n in range(3)]
    for item in items[:2]:
        svc.update_action_item(item.id, status="completed")
    pages = [svc.list_action_items(incident_id=first, limit=1, offset=n) for n in range(3)]
    assert [len(p.items) for p in pages] == [1, 1, 1]
    assert [p.completion_rate for p in pages] == [0.667, 0.667, 0.667]
    assert svc.list_action_items(incident_id=first, status="open").completion_rate == 0.0
    assert svc.list_action_items(owner="nobody").completion_rate is None


def test_stats_say_what_an_owner_shown_as_a_placeholder_counts(svc: PostmortemService) -> None:
    """Two people given by their email addresses were one row "[REDACTED:email]" in the stats, read as one person's
    items; the stats now say the row counts every owner redacted so. Owners by name have no note."""
    incident = planner_timeout(svc)
    svc.add_action_item(incident, ActionItemCreate(title="Document renewal", owner="dana"))
    assert svc.action_item_stats().owners_note is None
    for owner in ("dana.smith@example.com", "bob@corp.example.org"):
        svc.add_action_item(incident, ActionItemCreate(title="Alert before expiry", owner=owner))
    stats = svc.action_item_stats()
    assert stats.by_owner["[REDACTED:email]"].items == 2
    assert stats.owners_note is not None and stats.owners_note.startswith("[REDACTED:email]: every owner given as")
