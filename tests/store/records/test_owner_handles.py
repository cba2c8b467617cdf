"""An owner written as a handle ("@alice", as chat and issue trackers write people) is the owner "alice": the
filter, the completion per owner and the board matched "@alice" and "alice" as two owners, so `actions --owner alice`
left out the items assigned to "@alice". The owner is stored as written; only its key (`owner_key`) drops the "@",
and 0017 writes the stored keys again."""

from pathlib import Path

from agent_postmortem.store.models import ActionItemCreate
from agent_postmortem.store.models.actions import owner_key
from agent_postmortem.store.records import db
from tests.factories import HomeDatabases, make_service
from tests.old_rows import rows_at
from tests.service.followup import planner_timeout


def test_a_handle_is_the_owner_it_names() -> None:
    assert owner_key("@Alice") == owner_key("alice") == owner_key(" @@alice ") == "alice"
    assert owner_key("@") == "@"  # nothing after it: kept, not read as no owner
    assert owner_key("alice@example") == "alice@example"


def test_items_of_alice_and_at_alice_are_one_owner_and_keep_their_spelling(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    incident = planner_timeout(service)
    for n, owner in enumerate(("@alice", "alice", "@Alice")):
        service.add_action_item(incident, ActionItemCreate(title=f"Follow-up {n}", owner=owner))
    for asked in ("alice", "@alice", "@ALICE"):
        assert service.list_action_items(owner=asked).total == 3, asked
    assert [i.owner for i in service.list_action_items(owner="alice").items] == ["@alice", "alice", "@Alice"]
    assert {c.items for c in service.action_item_stats().by_owner.values()} == {3}


def test_handles_stored_before_0017_are_one_owner_with_their_name(tmp_path: Path, database: HomeDatabases) -> None:
    engine = database.engine(tmp_path, migrated=False)
    items = [{"title": "Follow-up 0", "owner": "@alice", "owner_key": "@alice"}]
    rows_at(engine, tmp_path, "0016", incidents=[{}], action_items=items)  # as the code at schema 0016 wrote them
    db.upgrade(engine, lock_dir=tmp_path)
    service = make_service(tmp_path)
    service.add_action_item("INC-1", ActionItemCreate(title="Follow-up 1", owner="alice"))
    assert service.list_action_items(owner="alice").total == 2
    assert service.list_action_items(owner="@alice").total == 2
