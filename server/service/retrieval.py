"""Retrieval: similar past incidents for free text or an incident, with why each one matched.

The base of `PostmortemService`'s mixins (follow-up, lessons, drafting all look incidents up).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np

from agent_postmortem.service.results import SearchResult
from agent_postmortem.store.ids import incident_pk
from agent_postmortem.store.models import Incident, SimilarIncident
from agent_postmortem.store.records.actions import ActionStore
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.search.knowledge import Hit, KnowledgeBase, Mode

SEARCHED_FIELDS = ("title", "description", "error_type", "error_message", "tool", "agent")


class Retrieval:
    store: IncidentStore
    actions: ActionStore
    knowledge: KnowledgeBase
    clock: Callable[[], datetime]

    def search_incidents(
        self,
        *,
        query: str | None = None,
        incident_id: str | None = None,
        limit: int = 5,
        offset: int = 0,
        mode: Mode = "hybrid",
        **filters: Any,
    ) -> SearchResult:
        if incident_id is not None:
            incident = self.store.get_or_raise(incident_id)
            vector, text = self._vector_of(incident), incident.search_text()
            shown, exclude = incident.title, {incident_pk(incident.id)}
        else:
            text = shown = query or ""
            vector, exclude = self.knowledge.embed_query(text), set()
        hits = self._similar(vector, text, limit=limit + offset + 1, filters=filters, exclude=exclude, mode=mode)
        page = hits[offset : offset + limit]
        more = len(hits) > offset + limit
        return SearchResult(query=shown, hits=page, offset=offset, next_offset=offset + limit if more else None)

    def _similar(
        self,
        vector: np.ndarray,
        text: str,
        *,
        limit: int,
        filters: dict[str, Any] | None = None,
        exclude: set[int] | None = None,
        mode: Mode = "hybrid",
    ) -> list[SimilarIncident]:
        hits = self.knowledge.search(text=text, vector=vector, limit=limit, filters=filters, exclude=exclude, mode=mode)
        records = self.store.summaries([h.pk for h in hits])
        return [self._explain(h, r, text) for h in hits if (r := records.get(h.pk)) is not None]

    def _explain(self, hit: Hit, record: Incident, text: str) -> SimilarIncident:
        terms = self.knowledge.lexical.matched_terms(text, record.search_text()) if hit.lexical > 0 else []
        fields = self.knowledge.lexical.fields_with(terms, {f: getattr(record, f) for f in SEARCHED_FIELDS})
        why = f"meaning: {hit.dense:.2f} cosine"
        if terms:
            why += f"; words: {', '.join(terms)} (in {', '.join(fields)}; BM25 {hit.lexical:.1f})"
        return SimilarIncident(
            id=record.id,
            title=record.title,
            category=record.category,
            severity=record.severity,
            status=record.status,
            score=round(hit.dense, 4),
            relevance=round(hit.relevance, 4),
            lexical_score=round(hit.lexical, 4),
            matched_terms=terms,
            matched_fields=fields,
            why=why,
            created_at=record.created_at,
            root_cause=record.analysis.root_cause if record.analysis else None,
        )

    def _similar_to(self, incident: Incident, limit: int = 5) -> list[SimilarIncident]:
        return self._similar(
            self._vector_of(incident), incident.search_text(), limit=limit, exclude={incident_pk(incident.id)}
        )

    def _vector_of(self, incident: Incident) -> np.ndarray:
        stored = self.store.vector(incident.id, model=self.knowledge.embedder.model_id)
        if stored is not None and stored.shape[0] == self.knowledge.embedder.dimension:
            return stored
        vector: np.ndarray = self.knowledge.embed_documents([incident.search_text()])[0]
        return vector
