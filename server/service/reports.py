"""Reports: an incident's blameless post-mortem, or the lightweight review of the known pattern it belongs to, as
Markdown (rendered by `render.report` from what this gathers), or that Markdown as one self-contained HTML file
(`render.html_report`)."""

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from agent_postmortem.errors import ActionItemNotFound, InvalidId
from agent_postmortem.render import report
from agent_postmortem.service.judging import Judging
from agent_postmortem.service.lessons import SMALLEST_PATTERN, recurred_after
from agent_postmortem.service.recurrence import Recurrence
from agent_postmortem.service.retrieval import Retrieval
from agent_postmortem.store.ids import incident_pk, to_incident_id
from agent_postmortem.store.models import ActionItem, Incident, SimilarIncident
from agent_postmortem.store.records.actions import ActionStore
from agent_postmortem.store.records.incidents import IncidentStore

ReportKind = Literal["full", "review", "auto"]
ReportFormat = Literal["markdown", "html"]


class Reports:
    def __init__(
        self,
        *,
        store: IncidentStore,
        actions: ActionStore,
        retrieval: Retrieval,
        recurrence: Recurrence,
        clock: Callable[[], datetime],
        judging: Judging,
    ) -> None:
        self.store = store
        self.judging = judging
        self.actions = actions
        self.retrieval = retrieval
        self.recurrence = recurrence
        self.clock = clock

    def render_report(self, incident_id: str, *, kind: ReportKind = "full", format: ReportFormat = "markdown") -> str:
        """The full post-mortem, or the lightweight review; `auto` follows the incident's triage. As `html`: one
        self-contained file (inline CSS, the causal graph as inline SVG, no script)."""
        incident = self.store.get_or_raise(incident_id)
        similar = self.retrieval.similar_to(incident)
        if kind == "review" or (kind == "auto" and incident.triage == "lightweight"):
            text = self._review(incident, similar)
        else:
            text = self._full_report(incident, similar)
        if format == "html":
            from agent_postmortem.render.html_report import report_html  # markdown-it, only when asked for

            return report_html(incident, text)
        return text

    def _review(self, incident: Incident, similar: list[SimilarIncident]) -> str:
        members, items = self.recurrence.joined(similar, incident.signature)
        members = [m for m in members if m != incident.id]
        known = {s.id: s for s in similar}
        pattern = [known[m] for m in members if m in known]
        pattern += self._similar_records([m for m in members if m not in known], incident)
        same = (
            {to_incident_id(pk) for pk in self.store.pks_with_signature(incident.signature)}
            if incident.signature
            else set()
        )
        own = self.actions.for_incidents([incident_pk(incident.id)], now=self.clock())
        items = [*own, *(a for a in items if a.incident_id != incident.id)]
        return report.render_review(incident, pattern=pattern, items=items, same_signature=same, now=self.clock())

    def _full_report(self, incident: Incident, similar: list[SimilarIncident]) -> str:
        """The post-mortem, with the open items that the draft's proposals repeat (`duplicate_of`), and the accepted
        analysis still in use when a newer one is a draft or was rejected."""
        wanted = (
            {p.duplicate_of for p in incident.analysis.action_items if p.duplicate_of} if incident.analysis else set()
        )
        linked: dict[str, ActionItem] = {}
        for action_id in sorted(wanted):
            with contextlib.suppress(ActionItemNotFound, InvalidId):
                linked[action_id] = self.actions.get(action_id, now=self.clock())
        blame = self.judging.findings(report.analysis_parts(incident))  # the model's rewrites, when there is one
        in_use = None
        if incident.analysis is not None and incident.analysis.state != "accepted":
            accepted = self.store.get(incident.id, accepted=True)
            in_use = accepted.analysis if accepted is not None else None
        return report.render_markdown(
            incident,
            similar=similar,
            now=self.clock(),
            linked=linked,
            blame=blame,
            in_use=in_use,
            recurred=self._not_held(incident),
        )

    def _not_held(self, incident: Incident) -> dict[str, list[str]]:
        """For each completed item of the incident, the incidents seen since it was completed, as its runbook reads
        them: the report showed such an item `[x] completed` while the runbook said it did not hold."""
        if not any(a.status == "completed" and a.completed_at for a in incident.action_items):
            return {}
        pattern = self.recurrence.pattern_of(incident.id, min_size=SMALLEST_PATTERN)  # its own, not every pattern
        return recurred_after(incident.action_items, pattern, None, [incident], self.recurrence)

    def _similar_records(self, ids: list[str], incident: Incident) -> list[SimilarIncident]:
        """Same-signature members that the similarity search did not return, scored against the incident."""
        if not ids:
            return []
        vector = self.retrieval.vector_of(incident)
        records = self.store.summaries([incident_pk(i) for i in ids])
        vectors = self.retrieval.knowledge.feed.vectors(list(records), model=self.retrieval.knowledge.embedder.model_id)
        found = []
        for pk, record in records.items():
            other = vectors.get(pk)
            score = float(vector @ other) if other is not None and other.shape == vector.shape else 0.0
            found.append(
                SimilarIncident(
                    id=record.id,
                    title=record.title,
                    category=record.category,
                    severity=record.severity,
                    status=record.status,
                    score=round(score, 4),
                    why="same failure signature",
                    created_at=record.created_at,
                    root_cause=record.analysis.root_cause if record.analysis else None,
                )
            )
        return found
