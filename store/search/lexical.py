"""The lexical side of search: BM25 over the words and identifiers of each incident.

Error strings, tool names and codes are matched exactly here, where an embedding blurs them. Like the vector index,
this is a cache of the record store: it reads the rows added since its last look and appends their postings
(search/bm25.py computes bm25s's scores at query time, so nothing is rebuilt). English stop words are dropped and
words stemmed (Snowball), exactly as `bm25s.tokenize` does (search/tokenizer.py), so "throttled" finds "throttling".

With a `PersistedCache` (search/persisted.py) the index is saved next to the database every few thousand rows; a new
process loads it and reads only the newer rows, and answers exactly as a process that indexed every row itself.
"""

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent_postmortem.store.errors import IndexLoading
from agent_postmortem.store.records.cursor import LOAD_WAIT, KeyCursor
from agent_postmortem.store.search import tokenizer
from agent_postmortem.store.search.bm25 import K1, B, Postings, Segment
from agent_postmortem.store.search.bm25_terms import QueryTerms
from agent_postmortem.store.search.bm25_top import top_k
from agent_postmortem.store.search.key_rows import KeyRows
from agent_postmortem.store.search.persisted import SAVE_AFTER, PersistedCache, Snapshot

logger = logging.getLogger(__name__)

FRESH_FOR = 0.25  # seconds a refresh is trusted: rows other processes write show up within this
BATCH = 5000  # rows tokenized and appended at a time
FORMAT = 1

Loader = Callable[[int, Sequence[tuple[int, int]]], Iterable[tuple[int, str]]]


def signature() -> dict[str, Any]:
    """What a saved index must have been made with to be used: the format, BM25's parameters and the tokenizer."""
    return {"kind": "bm25", "format": FORMAT, "k1": K1, "b": B} | tokenizer.fingerprint()


class LexicalIndex:
    def __init__(self, load: Loader, *, cache: PersistedCache | None = None) -> None:
        """`load(after_pk, gaps)` yields (pk, text) for the incidents whose primary key is above `after_pk` or inside
        one of the (first, last) key ranges `gaps`, in key order (see `agent_postmortem.store.records.cursor`).
        `cache`: where the index is saved and loaded from (None: kept in memory only)."""
        self._load = load
        self.cache = cache
        self._lock = threading.Lock()
        self._stem = tokenizer.stemmer()
        self._checked = 0.0
        self._start()

    def _start(self) -> None:
        self._cursor = KeyCursor()
        self._postings = Postings()
        self._keys = KeyRows()  # the key of each row, in the order rows were added
        self._opened = False
        self._unsaved = 0

    def words(self, text: str) -> list[str]:
        """The stemmed terms of `text` with repeats, exactly as bm25s.tokenize makes them (checked on 500 AIID texts
        in the tests)."""
        return tokenizer.words(self._stem, text)

    def tokens(self, text: str) -> list[str]:
        """The distinct stemmed terms of `text`, in order of appearance (a search asks for its query's once per hit
        it explains: the last few are kept)."""
        return list(self._tokens(text))

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one index per knowledge base, alive as long as the process
    def _tokens(self, text: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.words(text)))

    def refresh(self, *, force: bool = False) -> None:
        """Load incidents added since the last load (checked at most every FRESH_FOR seconds unless forced). A search
        that finds another thread loading waits for that load (the server's warm-up, at start) instead of answering
        without the words: the same query gets the same answer whenever it runs."""
        if not force and time.monotonic() - self._checked < FRESH_FOR:
            return
        saving = None
        with self._locked():
            if force or time.monotonic() - self._checked >= FRESH_FOR:  # else another thread has just loaded
                self._load_added()
                self._checked = time.monotonic()  # only a finished load counts as fresh
                saving = self._snapshot() if self._unsaved >= max(SAVE_AFTER, self._keys.size // 50) else None
        if saving is not None:
            self._save(saving)

    def _locked(self) -> "_Held":
        return _Held(self._lock)

    def _load_added(self) -> None:
        if not self._opened:
            self._opened = True
            self._open_saved()
        newest = self._cursor.newest
        loaded: list[int] = []
        for batch in _batches(self._load(newest, self._cursor.gaps()), BATCH):
            self._append([pk for pk, _ in batch], [self.words(text) for _, text in batch])
            loaded += [pk for pk, _ in batch]
        if loaded:
            self._cursor.advance(loaded)
            self._unsaved += len(loaded)

    def _append(self, pks: list[int], documents: list[list[str]]) -> None:
        self._keys.extend(pks)
        self._postings.add(documents)

    def _open_saved(self) -> None:
        saved = self.cache.load() if self.cache is not None else None
        if saved is None:
            return
        arrays = saved.arrays
        terms = bytes(arrays["terms"]).decode().split("\n") if len(arrays["terms"]) else []
        segment = Segment(arrays["indptr"], arrays["docs"], arrays["tfs"])
        self._postings = Postings.restored(terms, arrays["lengths"], segment)
        self._keys.restore(arrays["pks"])
        self._cursor.restore(saved.newest, saved.gaps)
        logger.info("lexical index loaded from its saved file (%d incidents)", self._keys.size)

    def _snapshot(self) -> Snapshot | None:
        if self.cache is None:
            return None
        segment = self._postings.compact()
        cursor = KeyCursor()
        cursor.restore(self._cursor.newest, self._cursor.gaps())
        arrays = {
            "pks": self._keys.view.copy(),
            "lengths": self._postings.lengths.view.copy(),
            "terms": np.frombuffer("\n".join(self._postings.terms).encode(), dtype=np.uint8),
            "indptr": segment.indptr,
            "docs": segment.docs,
            "tfs": segment.tfs,
        }
        self._unsaved = 0
        return cursor, arrays

    def _save(self, snapshot: Snapshot) -> None:
        assert self.cache is not None
        try:
            self.cache.save(*snapshot)
        except OSError:  # a cache: the records are safe, and the next process rebuilds what it cannot load
            logger.warning("could not save the lexical index to %s", self.cache.path, exc_info=True)

    def save(self) -> None:
        """Save the index now (the benchmark and the tests; refresh saves every few thousand rows by itself)."""
        self.refresh(force=True)
        with self._locked():
            snapshot = self._snapshot()
        if snapshot is not None:
            self._save(snapshot)

    def reset(self) -> None:
        """Forget everything, on disk too: the records changed under the index (reindex)."""
        with self._locked():
            self._start()
            self._checked = 0.0
            if self.cache is not None:
                self.cache.discard()

    def count(self) -> int:
        self.refresh()
        return self._keys.size

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """BM25 score of every indexed incident for `query`: (pks, scores), aligned, pks ascending."""
        self.refresh()
        terms = self.tokens(query)
        with self._locked():
            ids = [i for i in (self._postings.vocab.get(t) for t in terms) if i is not None]
            pks, scores, order = self._keys.view, self._postings.scores(ids), self._keys.order
        return (pks, scores) if order is None else (pks[order], scores[order])

    def ranked(self, query: str, *, k: int, pks: Sequence[int] = ()) -> tuple[list[tuple[int, float]], np.ndarray]:
        """The k incidents that score best for `query` (above 0; best first, ties: the one indexed first) with their
        scores, and the score of each of `pks` (0 for one not indexed). Both are the scores `scores` gives, bit for
        bit, without scoring every incident (search/bm25_top.py)."""
        ranking = self.rank(query, k=k)
        return ranking.best, self.scores_of(ranking, pks)

    def rank(self, query: str, *, k: int) -> "Ranking":
        """The first half of `ranked`: the k best, and what `scores_of` needs to score other incidents for the same
        query later (a search ranks while its query is embedded, and scores its dense candidates afterwards)."""
        self.refresh()
        terms = self.tokens(query)
        with self._locked():
            query_terms = self._query_terms(terms)
            rows, scores = top_k(query_terms, k)
            best = list(zip(self._keys.view[rows].tolist(), scores.tolist(), strict=True))
            return Ranking(best, terms, query_terms, self._postings, self._postings.count)

    def scores_of(self, ranking: "Ranking", pks: Sequence[int]) -> np.ndarray:
        """The score of each of `pks` for the query `ranking` ranked (0 for one not indexed), from the index as it
        is now: rows loaded in between are scored too."""
        if not len(pks):
            return np.zeros(0)
        with self._locked():
            same = ranking.postings is self._postings and ranking.count == self._postings.count
            query_terms = ranking.query_terms if same else self._query_terms(ranking.terms)
            at = self._keys.rows_of(np.asarray(pks, dtype=np.int64))
            of = np.zeros(len(at))
            of[at >= 0] = query_terms.scores_at(at[at >= 0])
        return of

    def _query_terms(self, terms: Sequence[str]) -> QueryTerms:
        return QueryTerms(self._postings, [i for i in (self._postings.vocab.get(t) for t in terms) if i is not None])

    def search(self, query: str, *, k: int) -> list[tuple[int, float]]:
        return self.ranked(query, k=k)[0]

    def fields_with(self, terms: list[str], fields: dict[str, str | None]) -> list[str]:
        """Which of the named fields contain any of the (stemmed) terms."""
        wanted = set(terms)
        return [name for name, value in fields.items() if value and wanted & set(self.tokens(value))]

    def matched_terms(self, query: str, text: str) -> list[str]:
        """The query's (stemmed) terms that the text contains: why a hit matched lexically."""
        have = set(self.tokens(text))
        return [t for t in self.tokens(query) if t in have][:12]


@dataclass(frozen=True)
class Ranking:
    """A query's k best incidents, and its terms as the index held them then (`LexicalIndex.scores_of`)."""

    best: list[tuple[int, float]]
    terms: Sequence[str]
    query_terms: QueryTerms
    postings: Postings
    count: int


class _Held:
    """A lock taken for at most LOAD_WAIT seconds (IndexLoading after that)."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        if not self._lock.acquire(timeout=LOAD_WAIT):
            raise IndexLoading(LOAD_WAIT)

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def _batches(rows: Iterable[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
