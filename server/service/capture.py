"""Capture: a failure is redacted, embedded, classified against its nearest past incidents (and the pattern it
joins), stored with its timeline in one transaction, and answered with what is similar and still open; a repeat of
an open incident counts one more occurrence. Past incidents are bulk-imported the same way (importer.py)."""

from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.exc import IntegrityError

from agent_postmortem.analysis.categorize import categorize
from agent_postmortem.analysis.classify import Neighbour, decide
from agent_postmortem.analysis.decision import Decision
from agent_postmortem.analysis.effectiveness import after_fix
from agent_postmortem.analysis.policy import RECURRED, TriagePolicy, repeat_triage
from agent_postmortem.errors import KeyReused
from agent_postmortem.render.timeline import OCCURRED_AGAIN
from agent_postmortem.service.incidents import refuse_future
from agent_postmortem.service.judging import Judging
from agent_postmortem.service.recurrence import Recurrence
from agent_postmortem.service.results import CaptureResult, ClassifyResult
from agent_postmortem.service.retrieval import Retrieval
from agent_postmortem.store.models import (
    ActionItem,
    Attribution,
    Incident,
    IncidentCreate,
    SimilarIncident,
    TimelineEvent,
    TimelineEventCreate,
    failure_signature,
    search_text,
)
from agent_postmortem.store.records.idempotency import KnownKey
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.records.same_failure import FailureLocks
from agent_postmortem.store.redact import redact_model


class Capture:
    def __init__(
        self,
        *,
        store: IncidentStore,
        retrieval: Retrieval,
        recurrence: Recurrence,
        policy: TriagePolicy,
        clock: Callable[[], datetime],
        dedupe_window: timedelta,
        judging: Judging,
    ) -> None:
        self.store = store
        self.judging = judging
        self.retrieval = retrieval
        self.knowledge = retrieval.knowledge
        self.recurrence = recurrence
        self.policy = policy
        self.clock = clock
        self.dedupe_window = dedupe_window
        self._failures = FailureLocks(store.engine)

    def classify_incident(self, data: IncidentCreate) -> ClassifyResult:
        """Classify without storing anything (a dry run of capture)."""
        data, counts = redact_model(data.model_copy(update={"idempotency_key": None}))  # a key is not text to redact
        vector = self.knowledge.embed_documents([search_text(data)])[0]
        return self._classify(data, vector, failure_signature(data)).model_copy(update={"redacted": dict(counts)})

    def capture_incident(
        self,
        data: IncidentCreate,
        *,
        history: Sequence[TimelineEventCreate] = (),
        attribution: Attribution | None = None,
        known: Sequence[tuple[str, str]] = (),
    ) -> CaptureResult:
        """Store a failure: secrets and personal data are redacted before anything is embedded or written.
        `history` (e.g. the steps of a failed run) and `attribution` are stored with a new incident in the same
        transaction; a repeat of an open incident's failure signature only counts one more occurrence. `known`: the
        secrets (value, type) already found in what came with it (a trace's spans), replaced in it too. The
        idempotency key is opaque: compared as sent, never redacted (the store keeps only a keyed digest of it)."""
        now = self.clock()
        refuse_future(data.occurred_at, now, "occurred_at")
        for event in history:
            refuse_future(event.at, now, "a step's time")
        key, known = data.idempotency_key, list(known)
        steps = [redact_model(e, known) for e in history]  # first: a secret a step names goes from the title too
        attribution, found = redact_model(attribution, known) if attribution is not None else (None, Counter[str]())
        data, counts = redact_model(data.model_copy(update={"idempotency_key": None}), known)
        for counted in [found, *(c for _, c in steps)]:
            counts.update(counted)
        if key is not None and (first := self.store.find_by_key(key)) is not None:
            return self._replayed(first, data, counts)
        try:
            with self._same_failure(failure_signature(data)):
                return self._capture(data, counts, key=key, history=[e for e, _ in steps], attribution=attribution)
        except IntegrityError:  # another process stored the same key first: return what it stored
            first = self.store.find_by_key(key) if key is not None else None
            if first is None:
                raise
            return self._replayed(first, data, counts)

    def _replayed(self, first: KnownKey, data: IncidentCreate, counts: Counter[str]) -> CaptureResult:
        """A retried key's answer: what its capture answered, a new incident's or a repeat's (the occurrence it
        counted, not one more). A key sent with another failure (neither its incident's title nor its failure
        signature) is refused: answered as a retry, the new failure was dropped without a word."""
        known = self.store.get_or_raise(first.incident_id)
        signature = failure_signature(data)
        same_source = data.source_id is not None and data.source_id == known.source_id  # a trace's later batch
        same_failure = signature is not None and signature == failure_signature(known)
        if not (same_source or same_failure or data.title == known.title):
            raise KeyReused(known.id)
        if first.occurrence is None:
            return self._result_of(known, replayed=True)
        return self._repeat_result(known, first.occurrence, counts, replayed=True)

    def _same_failure(self, signature: str | None) -> AbstractContextManager[object]:
        """Captures of one failure signature, one at a time, in every process writing the store: the check for an
        open incident to count an occurrence on and the creation of a new one are otherwise apart by the embedding
        and classification, so a burst of the same failure (a retry storm hitting many workers or replicas at once)
        made one incident per concurrent capture (store/records/same_failure.py)."""
        if signature is None:
            return nullcontext()
        return self._failures.hold(signature)

    def _capture(
        self,
        data: IncidentCreate,
        counts: Counter[str],
        *,
        key: str | None,
        history: Sequence[TimelineEventCreate] = (),
        attribution: Attribution | None = None,
    ) -> CaptureResult:
        now = self.clock()
        signature = failure_signature(data)
        if signature is not None:
            # the window around when it happened: an export of last week imported today was an incident per run
            at = min(data.occurred_at, now) if data.occurred_at else now
            repeat = self.store.find_open_by_signature(
                signature, since=at - self.dedupe_window, until=at + self.dedupe_window if data.occurred_at else None
            )
            if repeat is not None:
                return self._count_occurrence(repeat, data, counts, at=data.occurred_at, now=now, key=key)
        vector = self.knowledge.embed_documents([search_text(data)])[0]
        decided = self._classify(data, vector, signature)
        incident = new_incident(data, decided, created_at=data.occurred_at or now)
        incident = incident.model_copy(
            update={
                "signature": signature,
                "last_seen_at": incident.created_at,
                "redactions": dict(counts),
                "attribution": attribution,
            }
        )
        stored = self.store.create(
            incident,
            embedding=vector,
            embedding_model=self.knowledge.embedder.model_id,
            timeline=[*_events(incident, data, decided), *history],
            idempotency_key=key,
        )
        self.knowledge.written()
        return CaptureResult(id=stored.id, **{**dict(decided), "redacted": dict(counts)})

    def _count_occurrence(
        self,
        incident_id: str,
        data: IncidentCreate,
        counts: Counter[str],
        *,
        at: datetime | None,
        now: datetime,
        key: str | None,
    ) -> CaptureResult:
        """One more occurrence; when every item of the incident's own (with none of its own, of its pattern, as its
        first capture answered) was completed before it, the fix did not hold: the items are named on the timeline
        (once per fix) and its triage says so, as a new capture's would. An occurrence dated in the past (`at`) of a
        fix with an item completed on a date not recorded is counted, not flagged: whether it came after the fix is
        not known (`after_fix`)."""
        also: list[TimelineEvent] = []
        decision: dict[str, object] | None = None
        known: Incident | None = None
        similar: list[SimilarIncident] | None = None
        items = self.recurrence.items([incident_id])  # the whole record (its timeline) only when they are all done
        if not items:  # the pattern's fix: a repeat after it was only "occurred again", though effectiveness counted it
            known = self.store.get_or_raise(incident_id)
            similar = self.retrieval.with_items(self.retrieval.similar_to(known))
            items = self.recurrence.joined(similar, known.signature)[1]
        if items and all(a.status == "completed" for a in items) and after_fix(items, at):
            known = known or self.store.get_or_raise(incident_id)  # the fix landed no earlier than its latest date:
            fixed_at = max((a.completed_at for a in items if a.completed_at), default=known.created_at)
            named = [e for e in known.timeline if e.description.startswith(RECURRED_NOTE) and e.at >= fixed_at]
            if not named:
                also.append(TimelineEvent(at=at or now, kind="note", description=_recurred_note(items)))
            if not known.recurred_after_fix:
                decision = {"recurred_after_fix": True}
                if self.policy.full_when_recurred_after_fix:
                    kept = known.triage_reasons if known.triage == "full" else []
                    decision |= {"triage": "full", "triage_reasons": [*kept, RECURRED]}
        occurred = TimelineEvent(at=at or now, kind="note", description=f"{OCCURRED_AGAIN}{data.title}"[:2000])
        counted = self.store.add_occurrence(incident_id, occurred, key=key, also=also, decision=decision)
        # read once: after counting, or (already read for the recurrence) before, with what counting changed
        known = self.store.get_or_raise(incident_id) if known is None else known.model_copy(update=decision or {})
        return self._repeat_result(known, counted, counts, similar=similar)

    def _repeat_result(
        self,
        known: Incident,
        occurrence: int,
        counts: Counter[str],
        *,
        replayed: bool = False,
        similar: list[SimilarIncident] | None = None,
    ) -> CaptureResult:
        """A repeat's answer: the incident's, as its `occurrence`-th occurrence, with its own triage said so, and
        what was redacted from the repeat (`counts`), not from the first capture: a repeat carrying a token was told
        nothing was redacted."""
        result = self._result_of(known, deduplicated=True, replayed=replayed, similar=similar)
        incident = (known.id, occurrence, result.triage, result.triage_reasons)
        kind, reasons = repeat_triage(incident, recurred_after_fix=result.recurred_after_fix, policy=self.policy)
        update = {"novel": False, "triage": kind, "triage_reasons": reasons, "occurrences": occurrence}
        return result.model_copy(update={**update, "redacted": dict(counts)})

    def _result_of(
        self,
        known: Incident,
        *,
        deduplicated: bool = False,
        replayed: bool = False,
        similar: list[SimilarIncident] | None = None,
    ) -> CaptureResult:
        """The capture result of a stored incident, with the decision its first capture made: for a retried
        idempotency key (that capture's result), or to be made a repeat's (`_repeat_result`, with the neighbours it
        may have looked up already)."""
        if similar is None:
            similar = self.retrieval.with_items(self.retrieval.similar_to(known))
        fields = known.model_dump(include=set(Decision.model_fields))
        items = known.action_items
        open_items = [a for a in items if a.status != "completed"]
        fixed = bool(items) and not open_items  # its own items were all completed, yet it happened again
        dated = all(a.completed_at is not None for a in items)  # else the stored flag alone says (_count_occurrence)
        fields["recurred_after_fix"] = fields["recurred_after_fix"] or (fixed and dated)
        if not items:  # a recurrence of its pattern, repeated: the pattern's items, as its first capture answered
            items = self.recurrence.joined(similar, known.signature)[1]
            open_items = [a for a in items if a.status != "completed"][:10]
            fixed = bool(items) and not open_items and fields["recurred_after_fix"]
        return CaptureResult(
            id=known.id,
            **fields,
            similar=similar,
            open_action_items=open_items,
            fixed_action_items=items[:10] if fixed else [],
            deduplicated=deduplicated,
            replayed=replayed,
            occurrences=known.occurrences,
            redacted=known.redactions,
        )

    def _classify(self, data: IncidentCreate, vector: np.ndarray, signature: str | None) -> ClassifyResult:
        """The decision, with the action items of the pattern the failure joins (close neighbours, same signature):
        unfinished ones to follow up, or, when every one was completed, the fix that did not hold."""
        similar = self.retrieval.similar(vector, search_text(data), limit=5)
        nearest_first = sorted(similar, key=lambda s: -s.score)  # novelty and triage go by semantic similarity
        _, items = self.recurrence.joined(similar, signature)
        recurred = bool(items) and all(a.status == "completed" for a in items) and after_fix(items, data.occurred_at)
        neighbours = [Neighbour(s.id, s.category, s.score) for s in nearest_first]
        picked = categorize(data, neighbours, vector=vector, model_id=self.knowledge.embedder.model_id)
        picked = self.judging.category(data, picked)  # a configured model decides, the classifier checks it
        decided = decide(data, neighbours, recurred_after_fix=recurred, policy=self.policy, picked=picked)
        unfinished = [a for a in items if a.status != "completed"]
        return ClassifyResult(
            **decided.model_dump(),
            similar=self.retrieval.with_items(similar),
            open_action_items=unfinished[:10],
            fixed_action_items=items[:10] if recurred else [],
        )


def new_incident(data: IncidentCreate, decided: Decision, *, created_at: datetime) -> Incident:
    """The incident to store for a capture and its decision (the store assigns the id)."""
    skip = {"category", "severity", "occurred_at", "idempotency_key"}
    fields = data.model_dump(include=set(IncidentCreate.model_fields) - skip)
    decision = decided.model_dump(include=set(Decision.model_fields))
    return Incident(id="INC-0", **fields, **decision, created_at=created_at)


def _events(incident: Incident, data: IncidentCreate, decided: ClassifyResult) -> list[TimelineEvent]:
    events = [TimelineEvent(at=incident.created_at, kind="detected", description=f"Captured: {data.title}"[:2000])]
    if decided.recurred_after_fix:
        events.append(
            TimelineEvent(at=incident.created_at, kind="note", description=_recurred_note(decided.fixed_action_items))
        )
    return events


RECURRED_NOTE = "Recurred after fix: "


def _recurred_note(items: Sequence[ActionItem]) -> str:
    return RECURRED_NOTE + ", ".join(f"{a.id} ({a.incident_id})" for a in items) + " completed"
