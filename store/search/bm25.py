"""BM25 over postings that grow by appending: bm25s's scores (Lucene variant), computed when a query comes.

bm25s precomputes every (term, document) score, so one new document changes them all (the IDF and the average length
move) and the index has to be rebuilt. Here the postings keep the raw term counts, and a query computes
`idf(t) * tf / (tf + k1 * (1 - b + b * len / avg_len))` for its terms only, with `idf = ln(1 + (N - df + 0.5) /
(df + 0.5))`: the same formula, k1 and b as bm25s's defaults, so adding a document costs its own postings.

Postings live in a few segments (term-major, like a CSC matrix) plus a short tail of the newest ones; segments merge
as they grow, so a query slices at most a handful per term. The per-document sum is done in fixed point (units of
2^-32): the total is then the same whatever the order of the additions, so a process that loaded a saved index and
caught up gives exactly the scores of one that indexed every row itself.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from agent_postmortem.store.search.arrays import Growable

K1, B = 1.5, 0.75  # bm25s's defaults
FIXED = float(2**32)
TAIL_LIMIT = 1 << 17  # postings kept unsorted before they become a segment
MERGE_CHUNK = 1 << 22  # postings moved per step of a merge (bounds its temporary memory)
MAX_TF = np.iinfo(np.uint16).max


@dataclass(frozen=True)
class Segment:
    """Postings by term: those of term t are `docs[indptr[t]:indptr[t + 1]]` (terms past the end have none)."""

    indptr: np.ndarray  # int64, len = terms known when it was made + 1
    docs: np.ndarray  # int32 row numbers
    tfs: np.ndarray  # uint16 term counts
    bounds: dict[int, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)  # term: (max tf,
    # min length) among its postings, filled by the queries that need it (search/bm25_terms.py)

    @property
    def nnz(self) -> int:
        return len(self.docs)

    def counts(self, terms: int) -> np.ndarray:
        found = np.diff(self.indptr)
        return np.pad(found, (0, terms - len(found)))


def segment_from(terms: np.ndarray, docs: np.ndarray, tfs: np.ndarray, vocabulary: int) -> Segment:
    order = np.argsort(terms, kind="stable")  # rows stay in order within a term
    indptr = np.zeros(vocabulary + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=vocabulary), out=indptr[1:])
    return Segment(indptr, docs[order].astype(np.int32), tfs[order].astype(np.uint16))


def merge(first: Segment, second: Segment, vocabulary: int) -> Segment:
    """One segment with the postings of both, `first`'s before `second`'s within each term."""
    a, b = first.counts(vocabulary), second.counts(vocabulary)
    indptr = np.zeros(vocabulary + 1, dtype=np.int64)
    np.cumsum(a + b, out=indptr[1:])
    docs = np.empty(first.nnz + second.nnz, dtype=np.int32)
    tfs = np.empty(len(docs), dtype=np.uint16)
    for part, counts, before in ((first, a, np.zeros(vocabulary, np.int64)), (second, b, a)):
        shift = indptr[:-1] + before - np.pad(part.indptr[:-1], (0, vocabulary + 1 - len(part.indptr)))
        starts = np.pad(part.indptr, (0, vocabulary + 1 - len(part.indptr)), mode="edge")
        bounds = np.searchsorted(starts, np.arange(0, part.nnz, MERGE_CHUNK), side="right") - 1
        for lo, hi in zip(bounds, [*bounds[1:], vocabulary], strict=True):
            span = slice(starts[lo], starts[hi])
            where = np.repeat(shift[lo:hi], counts[lo:hi]) + np.arange(span.start, span.stop)
            docs[where], tfs[where] = part.docs[span], part.tfs[span]
    return Segment(indptr, docs, tfs)


def ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The concatenation of arange(s, e) for each pair, vectorised."""
    lengths = ends - starts
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(total)


class Postings:
    """The terms, lengths and postings of every document added, by row number (the order they were added)."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.terms: list[str] = []
        self.df = Growable(np.int64)
        self.lengths = Growable(np.int32)
        self.total_length = 0
        self.max_length = 0
        self.segments: list[Segment] = []
        self._tail = (Growable(np.int32), Growable(np.int32), Growable(np.int32))  # term, row, tf

    @property
    def count(self) -> int:
        return self.lengths.size

    def add(self, documents: Sequence[Sequence[str]]) -> None:
        """Append documents, each given as its tokens (stemmed, stop words dropped, repeats kept)."""
        terms: list[int] = []
        rows: list[int] = []
        tfs: list[int] = []
        row = self.count
        for tokens in documents:
            for term, tf in Counter(tokens).items():
                terms.append(self._term_id(term))
                tfs.append(min(tf, MAX_TF))
                rows.append(row)
            row += 1
        self.lengths.extend([len(tokens) for tokens in documents])
        self.total_length += sum(len(tokens) for tokens in documents)
        self.max_length = max([self.max_length, *(len(tokens) for tokens in documents)])
        self.df.grow_to(len(self.terms))
        ids = np.asarray(terms, dtype=np.int64)
        self.df.add_at(ids)
        self._tail[0].extend(ids)
        self._tail[1].extend(rows)
        self._tail[2].extend(tfs)
        if self._tail[0].size >= TAIL_LIMIT:
            self.seal()

    def _term_id(self, term: str) -> int:
        found = self.vocab.get(term)
        if found is None:
            found = self.vocab[term] = len(self.terms)
            self.terms.append(term)
        return found

    def seal(self) -> None:
        """Turn the tail into a segment, and merge segments while the newest is at least a quarter of the one
        before it (so there are few, each much larger than the next)."""
        if self._tail[0].size:
            terms, rows, tfs = (part.view for part in self._tail)
            self.segments.append(segment_from(terms, rows, tfs, len(self.terms)))
            self._tail = (Growable(np.int32), Growable(np.int32), Growable(np.int32))
        while len(self.segments) > 1 and 4 * self.segments[-1].nnz >= self.segments[-2].nnz:
            second, first = self.segments.pop(), self.segments.pop()
            self.segments.append(merge(first, second, len(self.terms)))

    def compact(self) -> Segment:
        """Everything in one segment (to save it)."""
        self.seal()
        while len(self.segments) > 1:
            second, first = self.segments.pop(), self.segments.pop()
            self.segments.append(merge(first, second, len(self.terms)))
        if not self.segments:
            self.segments.append(segment_from(*(np.zeros(0, np.int32),) * 3, len(self.terms)))
        return self.segments[0]

    @classmethod
    def restored(cls, terms: list[str], lengths: np.ndarray, segment: Segment) -> "Postings":
        """Postings from a saved state (the arrays may be read-only memory maps: they are never written)."""
        postings = cls()
        postings.terms = terms
        postings.vocab = {term: i for i, term in enumerate(terms)}
        postings.lengths = Growable(np.int32, lengths)
        postings.total_length = int(lengths.sum(dtype=np.int64))
        postings.max_length = int(lengths.max()) if len(lengths) else 0
        postings.df = Growable(np.int64, segment.counts(len(terms)))
        postings.segments = [segment]
        return postings

    def scores(self, ids: Sequence[int]) -> np.ndarray:
        """The BM25 score of every row for the distinct term ids `ids` (float64, zeros where no term matches)."""
        n = self.count
        if not ids or not n:
            return np.zeros(n)
        wanted = np.asarray(ids, dtype=np.int64)
        df = self.df.view[wanted]
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        docs, tfs, weights = self._matches(wanted, idf)
        norm = K1 * (1 - B) + (K1 * B / (self.total_length / n)) * self.lengths.view[docs]
        tf = tfs.astype(np.float64)
        fixed = np.rint(weights * tf / (tf + norm) * FIXED)
        return np.bincount(docs, weights=fixed, minlength=n) / FIXED

    def _matches(self, wanted: np.ndarray, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, term counts, idf of the term) of every posting of the wanted terms."""
        docs, tfs, weights = [], [], []
        for segment in self.segments:
            known = wanted < len(segment.indptr) - 1
            ids, term_idf = wanted[known], idf[known]
            starts, ends = segment.indptr[ids], segment.indptr[ids + 1]
            where = ranges(starts, ends)
            docs.append(segment.docs[where])
            tfs.append(segment.tfs[where])
            weights.append(np.repeat(term_idf, ends - starts))
        slot, rows, counts = self.tail_matches(wanted)
        if len(slot):
            docs.append(rows)
            tfs.append(counts)
            weights.append(idf[slot])
        if not docs:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(docs), np.concatenate(tfs), np.concatenate(weights)

    def tail_matches(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(which of the wanted terms, row, term count) of every tail posting of the wanted terms, in tail order."""
        terms, rows, counts = (part.view for part in self._tail)
        if not len(terms) or not len(wanted):
            return np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32)
        lookup = np.full(len(self.terms), -1, dtype=np.int64)
        lookup[wanted] = np.arange(len(wanted))
        slot = lookup[terms]
        hit = slot >= 0
        return slot[hit], rows[hit], counts[hit]
