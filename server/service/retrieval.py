"""Retrieval: similar past incidents for free text or an incident, with why each one matched.

Every other use case that looks incidents up (capture, drafting, reports, lessons) does it through this one."""

import difflib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np

from agent_postmortem.analysis.classify import NOVELTY_THRESHOLD
from agent_postmortem.analysis.wording import counted, short_of
from agent_postmortem.errors import SURFACE, EmptyQuery, QueryAndIncident
from agent_postmortem.service.results import SearchResult
from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.ids import incident_ids_in, incident_pk, is_incident_id
from agent_postmortem.store.models import Incident, SimilarIncident, utcnow
from agent_postmortem.store.records.actions import ActionStore
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.redact import redact
from agent_postmortem.store.search.knowledge import Hit, KnowledgeBase, Mode

SEARCHED_FIELDS = ("title", "description", "error_type", "error_message", "tool", "agent")
# A query that is only an incident id asks for that incident's neighbours (an assistant puts the id it has in the
# query): as words, "INC-46" matched the number 46 in other incidents' text, and an empty base returned INC-46 itself.
NAMED = ("agent", "tool", "model")  # filters on a name, not a choice
SHOWN_QUERY = 300  # characters of a long query the result echoes: a pasted 20,000-character stack trace came back
# whole in every answer (and every page of it), 4 times the size of the hits, into a context that already held it
# A search whose best hit is less similar than this in meaning says the match is weak. Calibrated with `postmortem
# bench retrieval` on AIID (docs/search.md): the highest cosine at which at most 1 in 10 searches with a real match is
# called weak (8.5%); 20% of searches whose relevant incident was left out are (their median best cosine 0.47).
WEAK_MATCH_BELOW = 0.38
HIT_ITEMS = 3  # action items shown on a hit, unfinished first: what was done about it, what is still open


class Retrieval:
    def __init__(
        self,
        *,
        store: IncidentStore,
        knowledge: KnowledgeBase,
        actions: ActionStore | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`actions`: where a search's hits read their action items (None: the hits show none)."""
        self.store = store
        self.knowledge = knowledge
        self.actions = actions
        self.clock = clock

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
        by_id = query is not None and is_incident_id(query)
        if (
            query is not None
            and incident_id is not None
            and not (by_id and incident_pk(query) == incident_pk(incident_id))
        ):
            raise QueryAndIncident()  # the query was dropped without a word: the incident's neighbours came back
        if incident_id is None and by_id:
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
        filters, unknown = self._as_stored(filters)
        named = [] if incident_id is not None else self._named_in(text)
        hits = self.similar(vector, text, limit=limit + offset + 1, filters=filters, exclude=exclude, mode=mode)
        page = self.with_items(hits[offset : offset + limit])
        more = len(hits) > offset + limit
        return SearchResult(
            query=_shortened(shown),
            hits=page,
            offset=offset,
            next_offset=offset + limit if more else None,
            empty_because=None if page else self._why_empty(len(hits), offset, filters, unknown, mode),
            named=_named_note(named),
            named_ids=named,
            **_strength(
                hits[0] if hits else None,
                by_incident=incident_id is not None,
                named=incident_id is None and self._names_every_word(text, hits[0] if hits else None),
            ),
        )

    def _named_in(self, query: str) -> list[str]:
        """The stored incidents a question names ("what happened in INC-27?"), at most 3, in the query's order: its
        words are searched, and the incident it names may not be among the hits."""
        return self.store.existing(incident_ids_in(query)[:3])

    def _names_every_word(self, query: str, best: SimilarIncident | None) -> bool:
        """Whether the best hit holds every word of the query: a keyword search ("429", "timeout", an error class)
        embeds to a low cosine against whole incidents, and its exact hits were called possibly unrelated."""
        wanted = self.knowledge.lexical.tokens(query)
        return best is not None and bool(wanted) and set(wanted) <= set(best.matched_terms)

    def with_items(self, hits: list[SimilarIncident]) -> list[SimilarIncident]:
        """The hits with their first action items, unfinished first: every hit showed `action_items: []`, so an
        assistant answered that nothing had been done about a past incident whose fix was tracked, or still open
        (in search results, and in capture's and classify's `similar`)."""
        if self.actions is None or not hits:
            return hits
        items = self.actions.for_incidents([incident_pk(h.id) for h in hits], now=self.clock())
        for hit in hits:
            own = [a for a in items if a.incident_id == hit.id]
            hit.action_items = sorted(own, key=lambda a: a.status == "completed")[:HIT_ITEMS]
        return hits

    def _as_stored(self, filters: SearchFilters | None) -> tuple[SearchFilters | None, tuple[str, str] | None]:
        return as_stored(self.store, filters)

    def _why_empty(
        self, found: int, offset: int, filters: SearchFilters | None, unknown: tuple[str, str] | None, mode: Mode
    ) -> str:
        """Why a page has no hits, in words: a name no incident has (with the names there are), filters that match
        nothing, a page past the end, or an empty knowledge base."""
        if found:
            return f"offset {offset} is past the end: {found} hit(s) (offsets 0 to {found - 1})"
        if unknown is not None:
            return no_such_name(self.store, *unknown)
        if filters:
            matching = self.store.count(filters)
            if not matching:
                return "no incident matches these filters; leave some out, or widen since and until"
            if mode == "lexical":  # it blamed the filters, which the incidents did match: the words did not
                verb = "matches" if matching == 1 else "match"
                return (
                    f"{counted(matching, 'incident')} {verb} these filters, and none shares a word with the query (a "
                    "lexical search: search by meaning too, or leave some filters out)"
                )
            return "the only incident these filters match is the one searched from; leave some out"
        if not self.store.count():
            return "there are no incidents yet: capture one, or import past incidents with postmortem import"
        if mode == "lexical":
            return "no incident shares a word with the query (a lexical search: search by meaning too)"
        return "there is no other incident to compare with"

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


def _named_note(named: list[str]) -> str | None:
    """How to read the incidents a query names, or search their neighbours (None when it names none)."""
    if not named:
        return None
    listed, first = ", ".join(named), named[0]
    read, like = "get_incident", "incident_id"  # over MCP, the tool and argument; a command in a terminal
    if SURFACE.get() != "mcp":
        show, search = f"`postmortem show {first}`", f"`postmortem search {first}`"
        read, like = (show, search) if SURFACE.get() == "cli" else (f"{read}, {show}", f"{like}, {search}")
    return (
        f"the query names {listed}: to read {'it' if len(named) == 1 else 'one'}, get it by its id ({read}); for "
        f"incidents like it, search its id alone ({like}); these hits are for the query's words"
    )


def _strength(best: SimilarIncident | None, *, by_incident: bool, named: bool = False) -> dict[str, Any]:
    """How strong the best hit of the whole search is (not of the page): a question with nothing like it in the
    knowledge base still got hits at cosine 0.3-0.4, shown as plainly as real matches. An incident's neighbours are
    held to the novelty threshold, the level at which a capture counts as a known failure. A best hit that holds
    every word of the query (`named`) is a match whatever its cosine."""
    if best is None:
        return {}
    below = NOVELTY_THRESHOLD if by_incident else WEAK_MATCH_BELOW
    if best.score >= below or named:
        return {"best_score": best.score, "weak_match": False}
    what = "no past incident is close to this one" if by_incident else "nothing in the knowledge base matches well"
    note = (
        f"weak match: {what}; the best hit, {best.id}, is {short_of(best.score, below)} similar in meaning "
        f"(below {below:.2f}), "
        "so the hits may be unrelated: read them as leads, not as the same failure"
    )
    return {"best_score": best.score, "weak_match": True, "match_note": note}


def _shortened(query: str) -> str:
    """The query as the result echoes it: whole up to SHOWN_QUERY characters, else its start and its length."""
    if len(query) <= SHOWN_QUERY:
        return query
    return f"{query[:SHOWN_QUERY].rstrip()}… ({len(query):,} characters in all, searched whole)"


def _name_key(name: str) -> str:
    return re.sub(r"[\s_-]+", "-", name.strip().casefold())


def as_stored(
    store: IncidentStore, filters: SearchFilters | None
) -> tuple[SearchFilters | None, tuple[str, str] | None]:
    """The filters with each agent, tool and model name as stored (for the search, and the web view's list),
    matched ignoring case and whether its words are joined by spaces, hyphens or underscores (a model writes
    "HelpDesk Assistant" for `helpdesk-assistant`, and found nothing); and the first name no incident has, with its
    column."""
    if filters is None:
        return None, None
    found: dict[str, str] = {}
    unknown = None
    for column in NAMED:
        if (given := getattr(filters, column)) is None or given in (names := store.named(column)):
            continue
        same = sorted((n, name) for name, n in names.items() if _name_key(name) == _name_key(given))
        if same:
            found[column] = same[-1][1]  # two spellings of one name: the one more incidents have
        elif unknown is None:
            unknown = (column, given)
    return filters.model_copy(update=found), unknown


def no_such_name(store: IncidentStore, column: str, given: str) -> str:
    """A name no incident has, said with the names there are: the closest first, then those most incidents have."""
    named = store.named(column)
    keys = {_name_key(name): name for name in sorted(named, key=named.__getitem__)}  # a key's commonest
    close = [keys[k] for k in difflib.get_close_matches(_name_key(given), keys, n=10, cutoff=0.6)]
    names = [*close, *sorted(set(named) - set(close), key=lambda name: (-named[name], name))]
    listed = ", ".join(f"{name!r} ({named[name]})" for name in names[:10]) or "none records one"
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return (
        f"no incident has the {column} {redact(given)!r} (names are matched ignoring case, spaces, hyphens "
        f"and underscores); the {column}s of incidents, closest first, then with the most incidents: "
        f"{listed}{more}"
    )
