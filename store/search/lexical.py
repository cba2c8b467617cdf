"""The lexical side of search: BM25 (bm25s) over the words and identifiers of each incident.

Error strings, tool names and codes are matched exactly here, where an embedding blurs them. Like the
vector index, this is a cache built from the record store: it loads the rows added since it was last
built and rebuilds (synchronously while small, in the background above `SYNC_LIMIT` documents, serving
the previous build meanwhile). English stop words are dropped and words stemmed (Snowball), so
"throttled" finds "throttling".
"""

import bisect
import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from agent_postmortem.store.errors import IndexLoading
from agent_postmortem.store.records.cursor import LOAD_WAIT, KeyCursor

logger = logging.getLogger(__name__)

SYNC_LIMIT = 20_000
FRESH_FOR = 0.25  # seconds a refresh is trusted: rows other processes write show up within this
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s.tokenize's default pattern


@functools.cache
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")  # bm25s calls its stemWords on whole token lists


class LexicalIndex:
    def __init__(self, load: Callable[[int, Sequence[tuple[int, int]]], Iterable[tuple[int, str]]]) -> None:
        """`load(after_pk, gaps)` yields (pk, text) for the incidents whose primary key is above `after_pk` or inside
        one of the (first, last) key ranges `gaps`, in key order (see `agent_postmortem.store.records.cursor`)."""
        self._load = load
        self._lock = threading.Lock()
        self._stem = _stemmer()
        self._cursor = KeyCursor()
        self._pks: list[int] = []  # every loaded document, in key order
        self._texts: list[str] = []
        self._built: tuple[object, np.ndarray] | None = None  # (bm25s retriever, pk of each row)
        self._building = False
        self._checked = 0.0

    def tokens(self, text: str) -> list[str]:
        """The distinct stemmed terms of `text`, exactly as bm25s.tokenize makes them (checked on 500 AIID texts in
        the tests), at a quarter of its per-call cost: queries and explanations call this per hit."""
        words = [w for w in _TOKEN.findall(text.lower()) if w not in _stopwords()]
        return list(dict.fromkeys(self._stem.stemWords(words)))

    def refresh(self, *, force: bool = False) -> None:
        """Load incidents added since the last load (checked at most every FRESH_FOR seconds unless forced);
        rebuild when there are any. A search that finds another thread loading waits for that load (the server's
        warm-up, at start) instead of answering without the words: the same query gets the same answer whenever
        it runs."""
        if not force and time.monotonic() - self._checked < FRESH_FOR:
            return
        if not self._lock.acquire(timeout=LOAD_WAIT):
            raise IndexLoading(LOAD_WAIT)
        try:
            if force or time.monotonic() - self._checked >= FRESH_FOR:  # else another thread has just loaded
                self._load_added()
                self._checked = time.monotonic()  # only a finished load counts as fresh
        finally:
            self._lock.release()

    def _load_added(self) -> None:
        added = list(self._load(self._cursor.newest, self._cursor.gaps()))
        if not added:
            return
        for pk, text in added:  # a late row (committed after a newer one was loaded) goes in its place
            at = bisect.bisect_left(self._pks, pk) if pk <= self._cursor.newest else len(self._pks)
            self._pks.insert(at, pk)
            self._texts.insert(at, text)
        self._cursor.advance(pk for pk, _ in added)
        pks, texts = np.array(self._pks, dtype=np.int64), list(self._texts)
        if len(texts) <= SYNC_LIMIT or self._built is None:
            self._built = self._build(pks, texts)
        elif not self._building:
            self._building = True
            threading.Thread(target=self._build_later, args=(pks, texts), daemon=True).start()

    def _build_later(self, pks: np.ndarray, texts: list[str]) -> None:
        try:
            built = self._build(pks, texts)
            with self._lock:
                self._built = built
        finally:
            self._building = False
            if len(self._pks) != len(pks):
                self.refresh(force=True)  # rows arrived during the build

    def _build(self, pks: np.ndarray, texts: list[str]) -> tuple[object, np.ndarray]:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on its own logger

        corpus = bm25s.tokenize(texts, stopwords="en", stemmer=self._stem, show_progress=False)
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        return retriever, pks

    def reset(self) -> None:
        with self._lock:
            self._pks, self._texts, self._built = [], [], None
            self._checked = 0.0
            self._cursor.reset()

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """BM25 score of every indexed incident for `query`: (pks, scores), aligned."""
        self.refresh()
        built = self._built
        if built is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        retriever, pks = built
        terms = self.tokens(query)
        known = [t for t in terms if t in retriever.vocab_dict]  # type: ignore[attr-defined]
        if not known:
            return pks, np.zeros(len(pks), dtype=np.float32)
        return pks, np.asarray(retriever.get_scores(known), dtype=np.float32)  # type: ignore[attr-defined]

    def search(self, query: str, *, k: int) -> list[tuple[int, float]]:
        pks, scores = self.scores(query)
        if not len(pks) or k <= 0:
            return []
        k = min(k, len(pks))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(pks[i]), float(scores[i])) for i in top if scores[i] > 0]

    def fields_with(self, terms: list[str], fields: dict[str, str | None]) -> list[str]:
        """Which of the named fields contain any of the (stemmed) terms."""
        wanted = set(terms)
        return [name for name, value in fields.items() if value and wanted & set(self.tokens(value))]

    def matched_terms(self, query: str, text: str) -> list[str]:
        """The query's (stemmed) terms that the text contains: why a hit matched lexically."""
        have = set(self.tokens(text))
        return [t for t in self.tokens(query) if t in have][:12]
