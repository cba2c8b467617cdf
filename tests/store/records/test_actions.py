"""Action items in the record store: the queries behind the owner filter."""

from pathlib import Path
from typing import Any

from sqlalchemy import event

from agent_postmortem.store.models import ActionItemCreate, IncidentCreate
from tests.factories import make_service


def test_the_owner_filter_ignoring_case_is_served_by_an_index(tmp_path: Path) -> None:
    """The filter compares lower(owner), which the index on the owner as spelled cannot serve: every `actions --owner
    dana` scanned the whole table. Migration 0012 indexes lower(owner): SQLite's plan of each query must use it."""
    service = make_service(tmp_path)
    incident_id = service.capture_incident(IncidentCreate(title="Fares API returned 429")).id
    for n, owner in enumerate(("dana", "Dana", "lee", None)):
        service.add_action_item(incident_id, ActionItemCreate(title=f"Follow-up number {n}", owner=owner))
    engine = service.store.engine
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "lower(action_items.owner)" in statement:
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
            assert any("ix_action_items_owner_lower" in str(row[-1]) for row in plan), (statement, plan)
