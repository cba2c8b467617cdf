"""Whole incidents (with their timeline, latest analysis and action items) read by primary key, a chunk at a time:
four statements per chunk of `CHUNK` incidents (five with the items' changes), not four per incident.
`IncidentStore.get` reads one this way, and a backup every incident (one by one, 2,800 incidents took 14,001
statements and 3.5 ms of CPU each)."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam, func, select

from agent_postmortem.store.errors import CorruptRecord
from agent_postmortem.store.ids import action_pk, to_incident_id
from agent_postmortem.store.models import ActionItemChange, Incident, utcnow
from agent_postmortem.store.records import schema
from agent_postmortem.store.records.actions import ITEMS, change_from_row
from agent_postmortem.store.records.columns import analysis_from_body, event_from_row, incident_from_row, readable

CHUNK = 500  # keys per IN list: within SQLite's bound on parameters, and a chunk's rows are all that is held

_PKS: BindParameter[list[int]] = bindparam("pks", expanding=True)
_INCIDENTS = select(schema.incidents).where(schema.incidents.c.pk.in_(_PKS)).order_by(schema.incidents.c.pk)
_EVENTS = (
    select(schema.timeline_events)
    .where(schema.timeline_events.c.incident_pk.in_(_PKS))
    .order_by(schema.timeline_events.c.incident_pk, schema.timeline_events.c.at, schema.timeline_events.c.pk)
)
_ITEMS = ITEMS.where(schema.action_items.c.incident_pk.in_(_PKS)).order_by(schema.action_items.c.pk)
_CHANGES = (
    select(schema.action_item_changes)
    .join(schema.action_items, schema.action_items.c.pk == schema.action_item_changes.c.action_pk)
    .where(schema.action_items.c.incident_pk.in_(_PKS))
    .order_by(schema.action_item_changes.c.pk)
)


@dataclass
class _Rows:
    """The rows of one incident: what `incident_from_row` makes it of."""

    incident: Any
    events: list[Any] = field(default_factory=list)
    analysis: Any = None
    actions: list[Any] = field(default_factory=list)
    changes: list[Any] = field(default_factory=list)


def _latest_analyses(accepted: bool) -> Any:
    """Each incident's newest analysis (or newest accepted one), with its key and body."""
    t = schema.analyses.c
    latest = select(t.incident_pk, func.max(t.pk).label("pk")).where(t.incident_pk.in_(_PKS))
    if accepted:
        latest = latest.where(t.state == "accepted")
    newest = latest.group_by(t.incident_pk).subquery()
    return select(t.incident_pk, t.pk, t.body).join(newest, newest.c.pk == t.pk)


_ANALYSES = {flag: _latest_analyses(flag) for flag in (False, True)}


def _rows(conn: Connection, pks: Sequence[int], accepted: bool, history: bool = False) -> list[_Rows]:
    keys = {"pks": [int(pk) for pk in pks]}
    found = {int(r.pk): _Rows(r) for r in conn.execute(_INCIDENTS, keys)}
    if not found:
        return []
    for r in conn.execute(_EVENTS, keys):
        found[int(r.incident_pk)].events.append(r)
    for r in conn.execute(_ANALYSES[accepted], keys):
        found[int(r.incident_pk)].analysis = r
    for r in conn.execute(_ITEMS, keys):
        found[int(r.incident_pk)].actions.append(r)
    if history:
        owner = {int(r.pk): int(r.incident_pk) for rows in found.values() for r in rows.actions}
        for r in conn.execute(_CHANGES, keys):
            found[owner[int(r.action_pk)]].changes.append(r)
    return list(found.values())


def _incident(rows: _Rows) -> Incident:
    """The incident of its rows; raises CorruptRecord when its own row is damaged beyond repair."""
    name, now, analysis = to_incident_id(rows.incident.pk), utcnow(), rows.analysis
    incident = incident_from_row(
        rows.incident,
        timeline=[e for e in (event_from_row(name, r) for r in rows.events) if e is not None],
        analysis=None if analysis is None else analysis_from_body(name, analysis.body, analysis.pk),
        actions=readable(rows.actions, now),
    )
    changes: dict[int, list[ActionItemChange]] = {}
    for r in rows.changes:
        changes.setdefault(int(r.action_pk), []).append(change_from_row(r))
    for item in incident.action_items:
        item.history = changes.get(action_pk(item.id), [])
    return incident


def read_one(conn: Connection, pk: int, *, accepted: bool = False) -> Incident | None:
    """The incident `pk`, or None when there is none; raises CorruptRecord when it is damaged beyond repair."""
    found = _rows(conn, [pk], accepted)
    return _incident(found[0]) if found else None


def read_many(
    conn: Connection, pks: Sequence[int], *, accepted: bool = False, history: bool = False
) -> Iterator[tuple[int, Incident | None]]:
    """Each stored incident of `pks` in key order, with None for one damaged beyond repair (logged; the others are
    read): a chunk of `CHUNK` at a time, so memory holds one chunk whatever the number of incidents. With `history`,
    each action item carries its changes (the audit trail a backup takes along)."""
    ordered = sorted({int(pk) for pk in pks})
    for start in range(0, len(ordered), CHUNK):
        for rows in _rows(conn, ordered[start : start + CHUNK], accepted, history):
            try:
                yield int(rows.incident.pk), _incident(rows)
            except CorruptRecord:
                yield int(rows.incident.pk), None
