"""Changes to an incident that exists: one more occurrence, a timeline event, a status, an analysis and its review,
each in one transaction with what it implies (the outbox row, the idempotency key, the post-mortem's completion).
IncidentStore (records/incidents.py) is made of these and its reads."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import Engine, and_, case, func, insert, literal, select, update

from agent_postmortem.store.errors import IncidentNotFound
from agent_postmortem.store.ids import incident_pk
from agent_postmortem.store.models import (
    Analysis,
    Status,
    TimelineEvent,
)
from agent_postmortem.store.records import db, schema
from agent_postmortem.store.records.idempotency import KeyDigests
from agent_postmortem.store.records.rows import analysis_row, event_row


class IncidentChanges:
    """The writes of the record store to an incident that exists."""

    engine: Engine
    key_digest: KeyDigests

    def add_occurrence(
        self,
        incident_id: str,
        event: TimelineEvent,
        *,
        key: str | None = None,
        also: Sequence[TimelineEvent] = (),
        decision: dict[str, Any] | None = None,
    ) -> int:
        """Count one more occurrence of an incident's failure, with a timeline event (and the events `also`),
        atomically (with the capture's idempotency key, if any: a duplicate key rolls it back); `decision` replaces
        those fields of its triage (a repeat after its fix: recurred_after_fix, triage, triage_reasons). The count of
        occurrences this one made, which the key records so that a retry of it answers as this capture did."""
        pk = self.existing_pk(incident_id)
        cols = schema.incidents.c
        rows, digest = [event_row(pk, e) for e in (event, *also)], None if key is None else self.key_digest(key)
        at = literal(event.at, schema.UTCDateTime())  # an older occurrence (a backlog imported late) keeps the latest
        last_seen = case((cols.last_seen_at > at, cols.last_seen_at), else_=at)
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.incidents)
                .where(cols.pk == pk)
                .values(occurrences=cols.occurrences + 1, last_seen_at=last_seen)
            )
            counted = int(conn.execute(select(cols.occurrences).where(cols.pk == pk)).scalar_one())
            if digest is not None:
                key_row = {"key": digest, "incident_pk": pk, "created_at": event.at, "occurrence": counted}
                conn.execute(insert(schema.idempotency_keys).values(key_row))
            conn.execute(insert(schema.timeline_events), rows)
            if decision:
                body = conn.execute(select(cols.body).where(cols.pk == pk).with_for_update()).scalar_one()
                conn.execute(update(schema.incidents).where(cols.pk == pk).values(body={**body, **decision}))
        return counted

    def add_event(self, incident_id: str, event: TimelineEvent) -> None:
        pk = self.existing_pk(incident_id)
        row = event_row(pk, event)
        with self.engine.begin() as conn:
            conn.execute(insert(schema.timeline_events).values(row))

    def set_status(
        self,
        incident_id: str,
        *,
        status: str,
        clock: Callable[[], datetime],
        event: TimelineEvent | None,
        unchanged: TimelineEvent | None = None,
    ) -> None:
        """Set the status with `event` on the timeline; when the incident already has that status (read in the same
        transaction, under a row lock), `unchanged` instead (a note, or nothing). The change and its event are dated
        by `clock` read under that lock: dated before it, a resolve and a reopen made at once were committed in one
        order and shown on the timeline in the other (resolved, with "Reopened" as its last word)."""
        pk = self.existing_pk(incident_id)
        if status not in get_args(Status):
            raise ValueError("the status must be open, mitigated or resolved")
        t = schema.incidents.c
        with self.engine.begin() as conn:
            current = conn.execute(select(t.status).where(t.pk == pk).with_for_update()).scalar_one()
            at = clock()
            conn.execute(update(schema.incidents).where(t.pk == pk).values(**_status_change(current, status, at)))
            if (kept := event if current != status else unchanged) is not None:
                conn.execute(insert(schema.timeline_events).values(event_row(pk, kept.model_copy(update={"at": at}))))
            conn.execute(insert(schema.index_outbox).values(incident_pk=pk, op="upsert"))

    def save_analysis(self, incident_id: str, analysis: Analysis) -> int:
        """Store the incident's new latest analysis; its number (`Analysis.id`)."""
        pk = self.existing_pk(incident_id)
        row = analysis_row(pk, analysis)
        with self.engine.begin() as conn:
            number = db.insert_returning_pk(conn, insert(schema.analyses).values(row))
            if analysis.state == "accepted":
                conn.execute(
                    update(schema.incidents).where(schema.incidents.c.pk == pk).values(postmortem_completed=True)
                )
        return number

    def review_analysis(self, incident_id: str, analysis: Analysis, event: TimelineEvent, *, was: str) -> bool:
        """Replace the incident's latest analysis with its reviewed version (same analysis, new state, reviewer, time
        and note) and add the review to its timeline, in one transaction. The incident's post-mortem is complete while
        it has an accepted analysis. False, with nothing changed, when the latest analysis is no longer the one
        reviewed (another process stored a newer one meanwhile: the verdict is not its own), or no longer in the
        state `was` the verdict was given on (another review was stored meanwhile: it would be replaced unseen)."""
        pk = self.existing_pk(incident_id)
        reviewed, row = analysis_row(pk, analysis), event_row(pk, event)
        rows = schema.analyses.c
        with self.engine.begin() as conn:
            latest = select(func.max(rows.pk)).where(rows.incident_pk == pk).scalar_subquery()
            same = and_(rows.pk == latest, rows.created_at == reviewed["created_at"], rows.state == was)
            done = conn.execute(update(schema.analyses).where(same).values(body=reviewed["body"], state=analysis.state))
            if done.rowcount == 0:
                return False
            conn.execute(insert(schema.timeline_events).values(row))
            complete = select(rows.pk).where(rows.incident_pk == pk, rows.state == "accepted").exists()
            conn.execute(
                update(schema.incidents).where(schema.incidents.c.pk == pk).values(postmortem_completed=complete)
            )
        return True

    def existing_pk(self, incident_id: str) -> int:
        """The key of an incident that exists, or IncidentNotFound."""
        pk = incident_pk(incident_id)
        with self.engine.connect() as conn:
            if conn.execute(select(schema.incidents.c.pk).where(schema.incidents.c.pk == pk)).first() is None:
                raise IncidentNotFound(incident_id)
        return pk


def _status_change(current: str, status: str, at: datetime) -> dict[str, Any]:
    """The columns a status change sets. Marking an incident as it already is keeps its times (a second `resolved`
    does not move the time to resolve); leaving `resolved` clears `resolved_at` (a resolved incident marked mitigated
    again was counted as resolved by every metric); the first mitigation time is kept."""
    if status == current:
        return {"status": status}
    values: dict[str, Any] = {"status": status, "resolved_at": at if status == "resolved" else None}
    if status == "mitigated":
        values["mitigated_at"] = func.coalesce(schema.incidents.c.mitigated_at, at)
    return values
