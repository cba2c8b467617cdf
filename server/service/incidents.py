"""Incidents as records: read and list them, add to their timeline, mitigate or resolve them; the knowledge base's
counts and the rebuild of its vector index."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent_postmortem.errors import AnalysisChanged, InTheFuture, NoteTooLong, NothingToReview, NotTheLatestAnalysis
from agent_postmortem.service.results import IncidentList, IncidentSummary, Stats, why_no_incidents
from agent_postmortem.service.retrieval import as_stored, no_such_name
from agent_postmortem.store.errors import StoreBusy
from agent_postmortem.store.filters import ListOrder, SearchFilters
from agent_postmortem.store.models import Analysis, AnalysisReview, Incident, TimelineEvent, TimelineEventCreate
from agent_postmortem.store.records.actions import ActionStore
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.records.reredact import Reredaction, reredact
from agent_postmortem.store.search.knowledge import KnowledgeBase
from agent_postmortem.store.vocabulary import EVENT_LIMIT, REOPEN_NOTE_LIMIT, REOPENED, EventKind

REVIEW_ATTEMPTS = 20  # compare-and-set rounds before a review gives up (as an action item's update)
CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of this server's clock a reported time may be (another host's clock)


def refuse_future(at: datetime | None, now: datetime, what: str) -> None:
    """Refuse a reported time later than now (beyond clock skew): dated 2030, it would sort after everything."""
    if at is not None and at > now + CLOCK_SKEW:
        raise InTheFuture(what)


@dataclass(kw_only=True)
class Incidents:
    store: IncidentStore
    actions: ActionStore
    knowledge: KnowledgeBase
    clock: Callable[[], datetime]

    def get_incident(self, incident_id: str) -> Incident:
        return self.store.get_or_raise(incident_id)

    def get_incidents(self, incident_ids: Sequence[str]) -> list[Incident]:
        """The incidents of `incident_ids` in that order, as `get_incident` reads each, in a few statements."""
        return self.store.get_many_or_raise(incident_ids)

    def list_incidents(
        self, *, limit: int = 20, offset: int = 0, filters: SearchFilters | None = None, order: ListOrder = "newest"
    ) -> IncidentList:
        # an agent or tool in another spelling, as the search reads it (the web view's list found none of them)
        filters, unknown = as_stored(self.store, filters)
        rows = self.store.list_incidents(limit=limit + 1, offset=offset, filters=filters, order=order)
        items = [
            IncidentSummary.model_validate(r.model_dump(include=set(IncidentSummary.model_fields)))
            for r in rows[:limit]
        ]
        if items:
            empty = None
        elif unknown is not None:  # the names there are, not "leave some out"
            empty = no_such_name(self.store, *unknown)
        else:
            empty = why_no_incidents(self.store.count, offset, filters)
        return IncidentList(
            incidents=items,
            offset=offset,
            next_offset=offset + limit if len(rows) > limit else None,
            empty_because=empty,
        )

    def add_timeline_event(self, incident_id: str, event: TimelineEventCreate) -> Incident:
        """An event at `event.at` (now when not given); a time later than now (beyond clock skew) is refused."""
        now = self.clock()
        refuse_future(event.at, now, "the event's time")
        self.store.add_event(
            incident_id, TimelineEvent(at=event.at or now, kind=event.kind, description=event.description)
        )
        return self.store.get_or_raise(incident_id)

    def resolve_incident(self, incident_id: str, *, status: str = "resolved", note: str | None = None) -> Incident:
        """Mark an incident mitigated or resolved, or open again (a wrong resolution, or the failure is back), with a
        timeline event. Marking it as it already is adds nothing but the note, when there is one (a client's retry
        or two people resolving at once leave one "resolved" event)."""
        if status == "open" and note and len(note) > REOPEN_NOTE_LIMIT:
            raise NoteTooLong(len(note), REOPEN_NOTE_LIMIT, why=f"the timeline keeps it after {REOPENED.strip()!r}")
        now = self.clock()
        kind: EventKind = "mitigated" if status == "mitigated" else "resolved" if status == "resolved" else "note"
        if status == "open":  # a note has no kind of its own to say so
            said = f"{REOPENED}{note}" if note else "Reopened."
        else:
            said = note or f"Marked {status}."
        event = TimelineEvent(at=now, kind=kind, description=said)
        unchanged = TimelineEvent(at=now, kind="note", description=note) if note else None
        self.store.set_status(incident_id, status=status, clock=self.clock, event=event, unchanged=unchanged)
        self.knowledge.sync()
        return self.store.get_or_raise(incident_id)

    def review_analysis(
        self, incident_id: str, review: AnalysisReview, *, check: Callable[[Analysis], None] | None = None
    ) -> Analysis:
        """Accept or reject the incident's latest analysis, with who and why, kept on the analysis and in the
        timeline. Only an accepted analysis feeds anything else (similar incidents, runbooks, reviews, later
        drafts); a newer draft leaves the last accepted one in use until it is reviewed itself. The verdict the
        analysis already has, given again without `by` or `note`, changes nothing: it keeps who decided and why.
        A review that names its analysis (`review.analysis_id`) is refused when that is no longer the latest.
        A compare-and-set: the verdict is written only over the state it was given on, else read again; `check`
        sees the analysis as read for the write (it raises to refuse it): a form's "not reviewed since shown"."""
        for _ in range(REVIEW_ATTEMPTS):
            reviewed = self._reviewed_once(incident_id, review, check)
            if reviewed is not None:
                return reviewed
        raise StoreBusy(f"{incident_id}'s analysis kept being reviewed under this review; try again")

    def _reviewed_once(
        self, incident_id: str, review: AnalysisReview, check: Callable[[Analysis], None] | None
    ) -> Analysis | None:
        """One attempt: None when another review was stored since the analysis was read (nothing written)."""
        incident = self.store.get_or_raise(incident_id)
        read = incident.analysis
        if read is None:
            raise NothingToReview(incident.id)
        if review.analysis_id is not None and review.analysis_id != read.id:
            raise NotTheLatestAnalysis(incident.id, given=review.analysis_id, latest=read.id, state=read.state)
        if check is not None:
            check(read)
        now = self.clock()
        state = "accepted" if review.decision == "accept" else "rejected"
        if state == read.state and review.by is None and review.note is None:
            return read  # the same verdict again, from no one (a retried script): the review stands
        verdict = {"state": state, "reviewed_by": review.by, "reviewed_at": now, "review_note": review.note}
        reviewed = Analysis.model_validate({**read.model_dump(), **verdict})
        said = f"Analysis ({read.generated_by}) {state}" + (f" by {review.by}" if review.by else "")
        event = TimelineEvent(at=now, kind="note", description=_reviewed(said, review.note))
        written = self.store.review_analysis(incident.id, reviewed, event, was=read.state)
        latest = self.store.get_or_raise(incident.id).analysis
        if written and latest is not None:  # as stored (or a draft stored just after it)
            return latest
        if latest is None or latest.id != read.id:
            raise AnalysisChanged(incident.id)
        return None

    def knowledge_stats(self) -> Stats:
        return Stats(
            incidents=self.store.count(),
            by_category=self.store.counts_by("category"),
            by_severity=self.store.counts_by("severity"),
            by_status=self.store.counts_by("status"),
            action_items=self.actions.counts(),
            indexed=self.knowledge.indexed(),
            index_pending=len({pk for _, pk, _ in self.knowledge.feed.pending_outbox(limit=100_000)}),  # incidents
            index_owner=self.knowledge.owns_index,
        )

    def reindex(self) -> int:
        return self.knowledge.reindex()

    def redact_stored(self, *, apply: bool) -> Reredaction:
        """What today's redaction rules find in the stored records (replaced with `apply`; then `reindex` embeds the
        changed incidents again)."""
        return reredact(self.store.engine, apply=apply)


_WHOLE_NOTE = " … (the whole note is on the analysis)"


def _reviewed(said: str, note: str | None) -> str:
    """The review's timeline event: the note whole when it fits after `said`, else as much as fits, saying where the
    rest is (the analysis keeps the whole note)."""
    if not note:
        return f"{said}."
    whole = f"{said}: {note}"
    return whole if len(whole) <= EVENT_LIMIT else whole[: EVENT_LIMIT - len(_WHOLE_NOTE)] + _WHOLE_NOTE
