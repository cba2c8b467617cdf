"""Action items: the tracked follow-ups of incidents (owner, priority P0-P2, due date, status)."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, func, insert, select, update

from store import db
from store.errors import ActionItemNotFound
from store.ids import action_id, action_pk, incident_id
from store.models import ActionItem, ActionItemCreate

if TYPE_CHECKING:
    from store.records import IncidentStore


class ActionStore:
    def __init__(self, incidents: "IncidentStore") -> None:
        self.incidents = incidents
        self.engine = incidents.engine

    def add(self, incident_id_: str, item: ActionItemCreate, *, now: datetime) -> ActionItem:
        pk = self.incidents.existing_pk(incident_id_)
        with self.engine.begin() as conn:
            apk = db.insert_returning_pk(conn, insert(db.action_items).values(action_values(pk, item, now)))
        return self.get(action_id(apk), now=now)

    def get(self, action_id_: str, *, now: datetime) -> ActionItem:
        apk = action_pk(action_id_)
        with self.engine.connect() as conn:
            row = conn.execute(select(db.action_items).where(db.action_items.c.pk == apk)).first()
        if row is None:
            raise ActionItemNotFound(action_id_)
        return action_from_row(row, now)

    def update(self, action_id_: str, *, now: datetime, **changes: Any) -> ActionItem:
        current = self.get(action_id_, now=now)
        values = {k: v for k, v in changes.items() if v is not None}
        if "status" in values:
            values["completed_at"] = now if values["status"] == "completed" else None
            if current.status == "completed" and values["status"] == "completed":
                values["completed_at"] = current.completed_at
        if values:
            with self.engine.begin() as conn:
                conn.execute(
                    update(db.action_items).where(db.action_items.c.pk == action_pk(current.id)).values(**values)
                )
        return self.get(action_id_, now=now)

    def list_items(
        self,
        *,
        now: datetime,
        incident_id_: str | None = None,
        owner: str | None = None,
        status: str | None = None,
        overdue: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[ActionItem]:
        query = select(db.action_items).order_by(
            db.action_items.c.priority, db.action_items.c.due_at, db.action_items.c.pk
        )
        if incident_id_ is not None:
            query = query.where(db.action_items.c.incident_pk == self.incidents.existing_pk(incident_id_))
        if owner is not None:
            query = query.where(db.action_items.c.owner == owner)
        if status is not None:
            query = query.where(db.action_items.c.status == status)
        if overdue:
            query = query.where(db.action_items.c.status != "completed", db.action_items.c.due_at < now)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [action_from_row(r, now) for r in rows]

    def counts(self) -> dict[str, int]:
        col = db.action_items.c.status
        with self.engine.connect() as conn:
            return {str(k): int(v) for k, v in conn.execute(select(col, func.count()).group_by(col)).all()}


def action_values(pk: int, item: ActionItemCreate, now: datetime) -> dict[str, Any]:
    return {
        "incident_pk": pk,
        "title": item.title,
        "owner": item.owner,
        "priority": item.priority,
        "status": item.status,
        "due_at": item.due_at,
        "created_at": now,
        "completed_at": now if item.status == "completed" else None,
    }


def action_from_row(row: Row[Any], now: datetime) -> ActionItem:
    overdue = row.status != "completed" and row.due_at is not None and row.due_at < now
    return ActionItem(
        id=action_id(row.pk),
        incident_id=incident_id(row.incident_pk),
        title=row.title,
        owner=row.owner,
        priority=row.priority,
        status=row.status,
        due_at=row.due_at,
        created_at=row.created_at,
        completed_at=row.completed_at,
        overdue=overdue,
    )
