"""Retrieval: similar past incidents for free text or an incident, with why each one matched.

Every other use case that looks incidents up (capture, drafting, reports, lessons) does it through this one."""

import numpy as np

from agent_postmortem.errors import EmptyQuery
from agent_postmortem.service.results import SearchResult
from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.ids import incident_pk, is_incident_id
from agent_postmortem.store.models import Incident, SimilarIncident
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.redact import redact
from agent_postmortem.store.search.knowledge import Hit, KnowledgeBase, Mode

SEARCHED_FIELDS = ("title", "description", "error_type", "error_message", "tool", "agent")
SHOWN_QUERY = 300  # characters of a long query the result echoes: a pasted 20,000-character stack trace came back
# whole in every answer (and every page of it), 4 times the size of the hits, into a context that already held it
# A query that is only an incident id asks for that incident's neighbours (an assistant puts the id it has in the
# query): as words, "INC-46" matched the number 46 in other incidents' text, and an empty base returned INC-46 itself.


class Retrieval:
    def __init__(self, *, store: IncidentStore, knowledge: KnowledgeBase) -> None:
        self.store = store
        self.knowledge = knowledge

    def search_incidents(
        self,
        *,
        query: str | None = None,
        incident_id: str | None = None,
        limit: int = 5,
        offset: int = 0,
        mode: Mode = "hybrid",
        filters: SearchFilters | None = None,
    ) -> SearchResult:
        if incident_id is None and query is not None and is_incident_id(query):
            incident_id = query
        if incident_id is not None:
            incident = self.store.get_or_raise(incident_id)
            vector, text = self.vector_of(incident), incident.search_text()
            shown, exclude = incident.title, {incident_pk(incident.id)}
        elif query is None or not any(c.isalnum() for c in query):
            raise EmptyQuery()  # blank or only punctuation: every incident ranked by its relevance to nothing
        else:  # redacted as stored text is: a pasted log line then matches the placeholders its incident keeps, and
            text = shown = redact(query)  # the result (which clients and their logs keep) never echoes its secrets
            vector, exclude = None, set()  # embedded by the search, while BM25 ranks
        hits = self.similar(vector, text, limit=limit + offset + 1, filters=filters, exclude=exclude, mode=mode)
        page = hits[offset : offset + limit]
        more = len(hits) > offset + limit
        return SearchResult(
            query=_shortened(shown), hits=page, offset=offset, next_offset=offset + limit if more else None
        )

    def similar(
        self,
        vector: np.ndarray | None,
        text: str,
        *,
        limit: int,
        filters: SearchFilters | None = None,
        exclude: set[int] | None = None,
        mode: Mode = "hybrid",
    ) -> list[SimilarIncident]:
        """The incidents nearest to a vector (None: `text`'s embedding as a query) and its text, best first, each with
        why it matched."""
        hits = self.knowledge.search(text=text, vector=vector, limit=limit, filters=filters, exclude=exclude, mode=mode)
        records = self.store.summaries([h.pk for h in hits])
        return [self._explain(h, r, text) for h in hits if (r := records.get(h.pk)) is not None]

    def similar_to(self, incident: Incident, limit: int = 5) -> list[SimilarIncident]:
        """The incidents most similar to a stored one (never itself)."""
        return self.similar(
            self.vector_of(incident), incident.search_text(), limit=limit, exclude={incident_pk(incident.id)}
        )

    def vector_of(self, incident: Incident) -> np.ndarray:
        """The incident's stored vector of the current model, or its embedding now."""
        stored = self.knowledge.feed.vector(incident.id, model=self.knowledge.embedder.model_id)
        if stored is not None and stored.shape[0] == self.knowledge.embedder.dimension:
            return stored
        vector: np.ndarray = self.knowledge.embed_documents([incident.search_text()])[0]
        return vector

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


def _shortened(query: str) -> str:
    """The query as the result echoes it: whole up to SHOWN_QUERY characters, else its start and its length."""
    if len(query) <= SHOWN_QUERY:
        return query
    return f"{query[:SHOWN_QUERY].rstrip()}… ({len(query):,} characters in all, searched whole)"
