"""Action items in the record store: the queries behind the owner filter."""

from pathlib import Path
from typing import Any

from sqlalchemy import event

from agent_postmortem.store.models import ActionItemCreate, IncidentCreate
from tests.factories import HomeDatabases, make_service


def test_the_owner_filter_ignoring_case_is_served_by_an_index(tmp_path: Path) -> None:
    """The filter compares the owner without case, which the index on the owner as spelled cannot serve: every
    `actions --owner dana` scanned the whole table. Migration 0012 indexed lower(owner), 0014 the stored owner key
    that replaced it: SQLite's plan of each query must use it."""
    service = make_service(tmp_path)
    incident_id = service.capture_incident(IncidentCreate(title="Fares API returned 429")).id
    for n, owner in enumerate(("dana", "Dana", "lee", None)):
        service.add_action_item(incident_id, ActionItemCreate(title=f"Follow-up number {n}", owner=owner))
    engine = service.store.engine
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "action_items.owner_key" in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        listed = service.list_action_items(owner="DANA")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert listed.total == 2 and {a.owner for a in listed.items} == {"dana", "Dana"}
    assert len(sent) >= 2  # the page and its count
    with engine.connect() as conn:
        for statement, parameters in sent:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            assert any("ix_action_items_owner_key" in str(row[-1]) for row in plan), (statement, plan)


def test_the_owner_filter_folds_case_beyond_ascii_as_the_stats_do(tmp_path: Path, database: HomeDatabases) -> None:
    """`actions --stats` counted "Ärne" and "ärne" as one owner (grouped in Python), but `actions --owner ärne` found
    only the items spelled so: SQLite's lower() folds ASCII letters only (and PostgreSQL's under the C locale)."""
    service = make_service(tmp_path)
    incident_id = service.capture_incident(IncidentCreate(title="Fares API returned 429")).id
    for n, owner in enumerate(("Ärne", "ärne", "ÄRNE", "Straße", "STRASSE", "Øyvind")):
        service.add_action_item(incident_id, ActionItemCreate(title=f"Follow-up number {n}", owner=owner))
    stats = service.action_item_stats().by_owner
    assert {owner: c.items for owner, c in stats.items()} == {"ÄRNE": 3, "STRASSE": 2, "Øyvind": 1}
    for asked, expected in (("ärne", 3), ("ÄRNE", 3), ("straße", 2), ("øyvind", 1), ("arne", 0)):
        assert service.list_action_items(owner=asked).total == expected, asked
    service.update_action_item("AI-6", owner="Ärne")  # a changed owner is found by its new name
    assert service.list_action_items(owner="ärne").total == 4 and service.list_action_items(owner="Øyvind").total == 0
