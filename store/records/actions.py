"""Action items: the tracked follow-ups of incidents (owner, priority P0-P2, due date, status)."""

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from sqlalchemy import ColumnElement, Connection, case, func, insert, select, update

from agent_postmortem.store.errors import ActionItemNotFound, StoreBusy
from agent_postmortem.store.ids import action_pk, to_action_id
from agent_postmortem.store.models import ActionItem, ActionItemChange, ActionItemCreate, ChangeAuthor, SeedActionItem
from agent_postmortem.store.models.actions import by_owner, owner_key
from agent_postmortem.store.records import db, schema
from agent_postmortem.store.records.columns import READ, action_from_row, readable
from agent_postmortem.store.records.integrity import for_storage, load, validated

EDITABLE = ("title", "owner", "priority", "due_at", "status")
_CHANGE = ("at", "field", "old", "new", "by")
ATTEMPTS = 20  # compare-and-set rounds before an update gives up
# A read of items selects the columns an item is made of (records/columns.py), not the owner's key beside them
ITEMS = select(*(schema.action_items.c[name] for name in READ["action_items"]))

if TYPE_CHECKING:
    from agent_postmortem.store.records.incidents import IncidentStore


class ItemFilters(TypedDict, total=False):
    """What `list_items` and `completion` both filter on: an incident, an owner ("": items without one), a status, a
    priority, and overdue only (open past their due date)."""

    incident_id: str | None
    owner: str | None
    status: str | None
    priority: str | None
    overdue: bool


class ActionStore:
    def __init__(self, incidents: "IncidentStore") -> None:
        self.incidents = incidents
        self.engine = incidents.engine

    def add(self, incident_id: str, item: ActionItemCreate, *, now: datetime, by: str | None = None) -> ActionItem:
        pk = self.incidents.existing_pk(incident_id)
        row, author = action_values(pk, item, now), _author(by)
        with self.engine.begin() as conn:
            apk = db.insert_returning_pk(conn, insert(schema.action_items).values(row))
            _record(conn, apk, now, author, [("created", None, row["title"])])
        return self.get(to_action_id(apk), now=now)

    def get(self, action_id: str, *, now: datetime) -> ActionItem:
        apk = action_pk(action_id)
        with self.engine.connect() as conn:
            row = conn.execute(ITEMS.where(schema.action_items.c.pk == apk)).first()
            if row is None:
                raise ActionItemNotFound(action_id)
            item = action_from_row(row, now)
            item.history = histories(conn, [apk]).get(apk, [])
        return item

    def update(
        self,
        action_id: str,
        *,
        now: datetime,
        by: str | None = None,
        check: Callable[[ActionItem], None] | None = None,
        **changes: Any,
    ) -> ActionItem:
        """Apply the given (non-None) changes and record each one that changes something in the item's history;
        `owner=""` takes the owner off and `due_at=""` the due date (None, as for every field, leaves it as it is).
        The item as changed is validated by the model that creates items, and redacted, before anything is written.
        A compare-and-set: the row is written only if it is still as it was read, else read again and the changes
        worked out anew, so two clients completing an item at once record one `open -> completed`, not two.
        `check` sees the item as read for the write (it raises to refuse it): a form's "unchanged since shown" made
        with a read of its own let a change landing between that read and the write be overwritten unseen."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
        given = {k: v for k, v in changes.items() if v is not None}
        author, apk = _author(by), action_pk(action_id)
        for _ in range(ATTEMPTS):
            if self._changed(apk, given, now=now, author=author, check=check):
                break
        else:
            raise StoreBusy(f"{action_id} kept changing under this update; try again")
        return self.get(action_id, now=now)

    def _changed(
        self,
        apk: int,
        given: dict[str, Any],
        *,
        now: datetime,
        author: str | None,
        check: Callable[[ActionItem], None] | None,
    ) -> bool:
        """One attempt: False when another writer changed the item since it was read (nothing written)."""
        t = schema.action_items.c
        with self.engine.begin() as conn:
            row = conn.execute(ITEMS.where(t.pk == apk)).first()
            if row is None:
                raise ActionItemNotFound(to_action_id(apk))
            current = action_from_row(row, now)
            if check is not None:
                check(current)
            merged = {**current.model_dump(include=set(EDITABLE)), **given}
            checked = for_storage(ActionItemCreate.model_validate(merged))
            values = {k: getattr(checked, k) for k in given if getattr(checked, k) != getattr(current, k)}
            if not values:
                return True
            if "status" in values:
                values["completed_at"] = now if values["status"] == "completed" else None
            keyed(values)
            unchanged = [getattr(t, k).is_not_distinct_from(getattr(row, k)) for k in (*EDITABLE, "completed_at")]
            written = conn.execute(update(schema.action_items).where(t.pk == apk, *unchanged).values(**values))
            if written.rowcount != 1:
                return False
            _record(
                conn,
                apk,
                now,
                author,
                [(k, _text(getattr(current, k)), _text(values[k])) for k in EDITABLE if k in values],
            )
        return True

    def rates(self, by: str, *, now: datetime) -> dict[str, tuple[int, int, int]]:
        """(items, completed, overdue) per owner or priority. Owners are told apart ignoring case, as the owner filter
        matches them, under the spelling of their newest item; items without an owner count under "(none)"."""
        t = schema.action_items.c
        key = {"owner": func.nullif(t.owner, ""), "priority": t.priority}[by]
        done = func.sum(case((t.status == "completed", 1), else_=0))
        late = func.sum(case(((t.status != "completed") & (t.due_at < now), 1), else_=0))
        query = select(key, func.max(t.pk), func.count(), done, late).group_by(key).order_by(key)
        with self.engine.connect() as conn:
            rows = [(k, int(pk), (int(n), int(c or 0), int(o or 0))) for k, pk, n, c, o in conn.execute(query).all()]
        if by == "priority":
            return {str(k): counts for k, _, counts in rows}
        return {k: (n, c, o) for k, (n, c, o) in by_owner(rows).items()}

    def for_incidents(self, incident_pks: list[int], *, now: datetime) -> list[ActionItem]:
        """Every item on the given incidents (in chunks, so any number of incidents works on SQLite)."""
        items: list[ActionItem] = []
        with self.engine.connect() as conn:
            for start in range(0, len(incident_pks), 500):
                chunk = incident_pks[start : start + 500]
                rows = conn.execute(
                    ITEMS.where(schema.action_items.c.incident_pk.in_(chunk)).order_by(schema.action_items.c.pk)
                ).all()
                items += readable(rows, now)
        return items

    def list_items(
        self, *, now: datetime, limit: int = 50, offset: int = 0, **filters: Unpack[ItemFilters]
    ) -> list[ActionItem]:
        query = ITEMS.order_by(schema.action_items.c.priority, schema.action_items.c.due_at, schema.action_items.c.pk)
        query = query.where(*self._conditions(now, filters))
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return readable(rows, now)

    def completion(self, *, now: datetime, **filters: Unpack[ItemFilters]) -> tuple[int, int]:
        """How many items match the filters of `list_items`, and how many of them are completed (every page's)."""
        done = func.sum(case((schema.action_items.c.status == "completed", 1), else_=0))
        query = select(func.count(), done).select_from(schema.action_items).where(*self._conditions(now, filters))
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        return int(row[0]), int(row[1] or 0)

    def _conditions(self, now: datetime, filters: ItemFilters) -> list[ColumnElement[bool]]:
        incident_id, owner, status = filters.get("incident_id"), filters.get("owner"), filters.get("status")
        cols = schema.action_items.c
        conditions: list[ColumnElement[bool]] = []
        if incident_id is not None:
            conditions.append(cols.incident_pk == self.incidents.existing_pk(incident_id))
        if owner is not None:  # "": the items without an owner; else matched by key ("Ärne" is "ärne": owner_key)
            key = owner_key(owner)
            conditions.append(cols.owner_key == key if key else (cols.owner_key.is_(None) | (cols.owner_key == "")))
        if status is not None:
            conditions.append(cols.status == status)
        if (priority := filters.get("priority")) is not None:
            conditions.append(cols.priority == priority)
        if filters.get("overdue"):
            conditions += [cols.status != "completed", cols.due_at < now]
        return conditions

    def counts(self) -> dict[str, int]:
        col = schema.action_items.c.status
        with self.engine.connect() as conn:
            return {str(k): int(v) for k, v in conn.execute(select(col, func.count()).group_by(col)).all()}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _record(
    conn: Connection, apk: int, at: datetime, by: str | None, diffs: list[tuple[str, str | None, str | None]]
) -> None:
    if diffs:
        rows = [{"action_pk": apk, "at": at, "field": f, "old": o, "new": n, "by": by} for f, o, n in diffs]
        conn.execute(insert(schema.action_item_changes), rows)


def histories(conn: Connection, action_pks: list[int]) -> dict[int, list[ActionItemChange]]:
    """Each item's changes, oldest first (in chunks, so any number of items works on SQLite)."""
    t = schema.action_item_changes.c
    found: dict[int, list[ActionItemChange]] = {}
    for start in range(0, len(action_pks), 500):
        chunk = action_pks[start : start + 500]
        for c in conn.execute(select(schema.action_item_changes).where(t.action_pk.in_(chunk)).order_by(t.pk)):
            found.setdefault(int(c.action_pk), []).append(change_from_row(c))
    return found


def change_from_row(c: Any) -> ActionItemChange:
    """One change of an item's history, as its row holds it; raises CorruptRecord when damaged beyond repair."""
    what = f"{to_action_id(c.action_pk)}'s change {c.pk}"
    return load(ActionItemChange, {k: getattr(c, k) for k in _CHANGE}, what=what)


def history_rows(apk: int, history: list[ActionItemChange]) -> list[dict[str, Any]]:
    """The rows of an item's changes as a backup holds them, validated and redacted like every stored text."""
    return [{"action_pk": apk, **for_storage(c).model_dump()} for c in history]


def keyed(values: dict[str, Any]) -> dict[str, Any]:
    """`values` of an item's row with the key of the owner they set, if they set one (`owner_key`): every write of an
    owner goes through here."""
    if "owner" in values:
        values["owner_key"] = owner_key(values["owner"]) if values["owner"] else None
    return values


def _author(by: str | None) -> str | None:
    return for_storage(ChangeAuthor(by=by)).by


def action_values(pk: int, item: ActionItemCreate, now: datetime, *, keep_id: bool = False) -> dict[str, Any]:
    """The row for an item, validated as a new item and redacted; a stored `ActionItem` (from an export) keeps its
    times, and its id with `keep_id`; an imported `SeedActionItem` keeps its completion time, left unknown (None)
    when the file gives none rather than dated at `now`."""
    checked = for_storage(validated(ActionItemCreate, item.model_dump(include=set(ActionItemCreate.model_fields))))
    row = {
        "incident_pk": pk,
        **checked.model_dump(),
        "created_at": now,
        "completed_at": now if checked.status == "completed" else None,
    }
    if isinstance(item, ActionItem):
        row.update(created_at=item.created_at, completed_at=item.completed_at)
        if keep_id:
            row["pk"] = action_pk(item.id)
    elif isinstance(item, SeedActionItem):
        row["completed_at"] = item.completed_at  # a past item's own completion time; None when not given (unknown)
    return keyed(row)
