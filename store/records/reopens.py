"""When incidents were reopened after being resolved: read from their timelines, where a reopen is the note that
starts "Reopened" (service/incidents.py writes it) and the status change before it is the "resolved" event."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, and_, or_, select

from agent_postmortem.store.records import schema
from agent_postmortem.store.vocabulary import REOPENED

CHUNK = 500  # incident keys per query: SQLite bounds the parameters of one statement


def reopened_after_resolve(engine: Engine, pks: Sequence[int]) -> dict[int, list[datetime]]:
    """Per incident key: the times it was set back to open from resolved (not from mitigated), oldest first."""
    t = schema.timeline_events.c
    changes = or_(
        t.kind.in_(("resolved", "mitigated")),
        and_(t.kind == "note", or_(t.description == "Reopened.", t.description.startswith(REOPENED, autoescape=True))),
    )
    found: dict[int, list[datetime]] = defaultdict(list)
    with engine.connect() as conn:
        for start in range(0, len(pks), CHUNK):
            rows = conn.execute(
                select(t.incident_pk, t.at, t.kind)
                .where(t.incident_pk.in_(pks[start : start + CHUNK]), changes)
                .order_by(t.incident_pk, t.at, t.pk)
            )
            last: dict[int, str] = {}
            for pk, at, kind in rows:
                if kind == "note" and last.get(pk) == "resolved":
                    found[pk].append(at)
                last[pk] = kind
    return dict(found)
