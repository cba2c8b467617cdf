"""One BM25 query's terms over `Postings` (search/bm25.py), scored term by term: every posting of a term, or only
the postings of given rows, each with the very value the full computation gives it.

A term's postings are a few pieces: its slice of each segment and its postings in the tail, each sorted by row (rows
are appended in order, and a merge keeps the older segment's first), so the postings of given rows are found by a
binary search. A posting's value is `rint(idf * tf / (tf + norm(length)) * 2^32)`: it depends on the term, the count
and the document's length only, so it is read from a table of those for the term when the table is small (the same
float operations on the same operands: the same values, bit for bit, at about half the cost).

Each term also has an upper bound of its values (from the largest count and the shortest document among its postings,
kept per segment once computed): what the pruned top k (search/bm25_top.py) needs to skip postings.
"""

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent_postmortem.store.search.bm25 import FIXED, K1, B, Postings, Segment

TABLE_LIMIT = 1 << 16  # entries of a term's (count, length) table; above it values are computed per posting


@dataclass(frozen=True)
class Piece:
    docs: np.ndarray  # rows, ascending
    tfs: np.ndarray
    max_tf: int
    min_length: int


class QueryTerms:
    """The terms `ids` (distinct term ids of `postings`) as `postings` holds them now."""

    def __init__(self, postings: Postings, ids: Sequence[int]) -> None:
        self.count = n = postings.count
        wanted = np.asarray(ids if n else [], dtype=np.int64)
        df = postings.df.view[wanted]
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5))
        self.lengths = postings.lengths.view
        self.width = postings.max_length + 1
        self.norm = (K1 * (1 - B), K1 * B / (postings.total_length / n) if n else 0.0)
        self._postings, self._ids = postings, wanted
        self._tables: dict[int, np.ndarray | None] = {}
        self._dense: np.ndarray | None = None

    @functools.cached_property
    def pieces(self) -> list[list[Piece]]:
        """Each term's postings, in pieces (made when first needed: the full computation does without)."""
        pieces = [_segment_pieces(self._postings, int(t)) for t in self._ids]
        for j, piece in _tail_pieces(self._postings, self._ids):
            pieces[j].append(piece)
        return pieces

    @functools.cached_property
    def bounds(self) -> np.ndarray:
        """At least the largest value of each term's postings (fixed point, integers)."""
        return np.array([self._bound(j) for j in range(len(self))], dtype=np.float64)

    def __len__(self) -> int:
        return len(self.idf)

    def postings(self, j: int) -> int:
        return sum(len(piece.docs) for piece in self.pieces[j])

    def _bound(self, j: int) -> float:
        a, c = self.norm
        best = max((p.max_tf / (p.max_tf + (a + c * p.min_length)) for p in self.pieces[j]), default=0.0)
        return float(np.ceil(self.idf[j] * best * FIXED * (1 + 1e-9)) + 2)

    def _table(self, j: int) -> np.ndarray | None:
        if j not in self._tables:
            rows = max((p.max_tf for p in self.pieces[j]), default=0) + 1
            table = None
            if rows * self.width <= TABLE_LIMIT:
                tf = np.arange(rows, dtype=np.float64)[:, None]
                a, c = self.norm
                table = np.rint(self.idf[j] * tf / (tf + (a + c * np.arange(self.width))) * FIXED).ravel()
            self._tables[j] = table
        return self._tables[j]

    def values(self, j: int, docs: np.ndarray, tfs: np.ndarray) -> np.ndarray:
        """The fixed-point values of term j's postings (docs, tfs): those of `Postings.scores`."""
        lengths = self.lengths[docs]
        table = self._table(j)
        if table is not None:
            key = tfs.astype(np.int32) * np.int32(self.width)
            key += lengths
            found: np.ndarray = table[key]
            return found
        a, c = self.norm
        tf = tfs.astype(np.float64)
        values: np.ndarray = np.rint(self.idf[j] * tf / (tf + (a + c * lengths)) * FIXED)
        return values

    def score_into(self, j: int, acc: np.ndarray) -> None:
        """Add every posting of term j to `acc` (fixed point, one entry per row)."""
        for piece in self.pieces[j]:
            np.add.at(acc, piece.docs, self.values(j, piece.docs, piece.tfs))  # (numpy 2: faster than acc[docs] +=)

    def score_alive(self, j: int, alive: np.ndarray, acc: np.ndarray) -> None:
        """Add the postings of term j whose row is marked in `alive` to `acc`."""
        for piece in self.pieces[j]:
            hit = alive[piece.docs]
            docs = piece.docs[hit]
            np.add.at(acc, docs, self.values(j, docs, piece.tfs[hit]))

    def score_rows(self, j: int, rows: np.ndarray) -> np.ndarray:
        """Term j's values for `rows` (ascending, distinct), 0 where it has no posting."""
        out = np.zeros(len(rows))
        rows = rows.astype(np.int32)  # the postings' type: a search with another would convert the postings
        for piece in self.pieces[j]:
            where = np.searchsorted(piece.docs, rows)
            np.minimum(where, len(piece.docs) - 1, out=where)
            hit = piece.docs[where] == rows
            out[hit] += self.values(j, rows[hit], piece.tfs[where[hit]])
        return out

    def dense(self, *, by_term: bool) -> np.ndarray:
        """Every row's score, fixed point (`Postings.scores` * 2^32, exactly: a power of two); kept, for `scores_at`.
        `by_term`: term by term (faster with many postings), else in one pass over all (faster with few)."""
        if self._dense is None:
            if by_term:
                self._dense = np.zeros(self.count)
                for j in range(len(self)):
                    self.score_into(j, self._dense)
            else:
                self._dense = self._postings.scores(self._ids.tolist()) * FIXED
        return self._dense

    def scores_at(self, rows: np.ndarray) -> np.ndarray:
        """The scores of `rows` (any order, repeats allowed): those `Postings.scores` gives them, bit for bit."""
        if not len(rows):
            return np.zeros(0)
        if self._dense is not None:
            found: np.ndarray = self._dense[rows] / FIXED
            return found
        distinct, back = np.unique(np.asarray(rows, dtype=np.int64), return_inverse=True)
        total = np.zeros(len(distinct))
        for j in range(len(self)):
            total += self.score_rows(j, distinct)
        return (total / FIXED)[back]


def _segment_pieces(postings: Postings, term: int) -> list[Piece]:
    pieces = []
    for segment in postings.segments:
        if term < len(segment.indptr) - 1 and segment.indptr[term + 1] > segment.indptr[term]:
            pieces.append(_piece(segment, term, postings.lengths.view))
    return pieces


def _piece(segment: Segment, term: int, lengths: np.ndarray) -> Piece:
    span = slice(int(segment.indptr[term]), int(segment.indptr[term + 1]))
    docs, tfs = segment.docs[span], segment.tfs[span]
    found = segment.bounds.get(term)
    if found is None:  # a segment never changes: computed once for its life
        found = segment.bounds[term] = (int(tfs.max()), int(lengths[docs].min()))
    return Piece(docs, tfs, *found)


def _tail_pieces(postings: Postings, wanted: np.ndarray) -> list[tuple[int, Piece]]:
    slot, rows, tfs = postings.tail_matches(wanted)
    if not len(slot):
        return []
    order = np.argsort(slot, kind="stable")  # rows stay ascending within a term
    slot, rows, tfs = slot[order], rows[order], tfs[order]
    bounds = np.searchsorted(slot, np.arange(len(wanted) + 1))
    lengths = postings.lengths.view
    pieces = []
    for j in np.flatnonzero(np.diff(bounds)):
        span = slice(int(bounds[j]), int(bounds[j + 1]))
        docs = rows[span]
        pieces.append((int(j), Piece(docs, tfs[span], int(tfs[span].max()), int(lengths[docs].min()))))
    return pieces
