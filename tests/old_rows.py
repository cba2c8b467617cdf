"""Rows as the code at an older schema revision wrote them, for the tests of the migrations after it: the database is
migrated to that revision and the rows are inserted with SQL, column by column, as no current model can write them."""

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from agent_postmortem.store.records import db

WRITTEN_AT = "2026-01-02 03:04:05.000000"
# what a test does not name: every column that an incident or an action item has needed since schema 0001
INCIDENT = {
    "title": "Refund",
    "category": "timeout",
    "severity": "SEV4",
    "status": "open",
    "created_at": WRITTEN_AT,
    "postmortem_completed": False,
    "content_hash": "abc",
    "body": '{"triage": "full"}',
}
ACTION_ITEM = {"incident_pk": 1, "title": "Fix it", "priority": "P1", "status": "open", "created_at": WRITTEN_AT}
DEFAULTS: dict[str, dict[str, Any]] = {"incidents": INCIDENT, "action_items": ACTION_ITEM}


def rows_at(engine: Engine, home: Path, revision: str, **tables: list[dict[str, Any]]) -> None:
    """Migrate `engine` (not migrated yet) to `revision`, then insert each table's rows in the order given, in one
    transaction: `rows_at(engine, home, "0013", incidents=[{}], action_items=[{"owner": "lee"}])`. An incident or
    action item row holds the columns it names over those in INCIDENT or ACTION_ITEM; a column that did not exist
    at `revision` fails the insert, as it should."""
    db.upgrade(engine, lock_dir=home, revision=revision)
    with engine.begin() as conn:
        for table, rows in tables.items():
            for given in rows:
                row = DEFAULTS.get(table, {}) | given
                names = ", ".join(f'"{name}"' for name in row)  # quoted: action_item_changes has a column "by"
                values = ", ".join(f":{name}" for name in row)
                conn.execute(text(f"insert into {table} ({names}) values ({values})"), row)
