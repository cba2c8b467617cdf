"""The k best rows of a BM25 query without scoring every posting (MaxScore, term at a time, vectorised).

A query of ~200 characters has tens of terms, some in most documents: scoring all their postings took 21-32 ms at 1M
incidents. Yet a row's score is at most the sum of its terms' bounds (search/bm25_terms.py), so:

1. the rarest terms (highest bounds) are scored in full, the best rows among them get their full scores (the other
   terms' postings looked up for those rows only), and the k-th best of those full scores is a threshold that the
   k-th best score overall reaches;
2. the terms with the lowest bounds whose bounds sum to less than the threshold cannot lift a row above it alone: a
   row that has none of the other terms is out. Those other ("essential") terms are scored in full;
3. the rows of the essential terms that could still reach the threshold get the remaining terms one by one (highest
   bound first), each row dropped as soon as its score and the bounds still to come fall below the threshold.

Every kept row ends with its full score, the sum of the same fixed-point values as the full computation (exact, in
any order), and every dropped row scored below the threshold: the top k is the full computation's, ties broken by
row (the row indexed first wins). Where the threshold cannot be set (fewer than k rows match) or the corpus is small,
every posting is scored.
"""

import numpy as np

from agent_postmortem.store.search.bm25 import FIXED
from agent_postmortem.store.search.bm25_terms import QueryTerms

FULL_BELOW = 300_000  # rows under which scoring every posting in one pass is as fast (crossover: 250k-500k)
FIRST_SHARE = 16  # step 1 scores the rarest terms up to (rows / FIRST_SHARE) postings
PROBED = 4  # step 1 looks up the full scores of the PROBED * k best rows of the rarest terms
LOOKUP_RATIO = 16  # a term's postings per remaining row above which its rows are looked up, not scanned
MARGIN = 0.5  # optional terms' bounds sum below MARGIN * threshold: fewer rows to complete (measured 0.3-1.0)


def top_k(terms: QueryTerms, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) of the k best-scoring rows with a score above 0, best first; ties: the lower row first."""
    if k <= 0 or not len(terms) or not terms.count:
        return np.zeros(0, np.int64), np.zeros(0)
    if terms.count < FULL_BELOW:
        return _best_of(terms.dense(by_term=False), k)
    order = np.argsort(-terms.bounds, kind="stable")
    acc = np.zeros(terms.count)
    first = _rarest(terms, order, k)
    for j in first:
        terms.score_into(j, acc)
    rest = order[len(first) :]
    threshold = _threshold(terms, acc, np.flatnonzero(acc > 0), rest, k)  # (flatnonzero of floats is 10x slower)
    if threshold <= 0:  # fewer than k rows found: no bound to prune with
        return _best_of(terms.dense(by_term=True), k)
    lowest = rest[::-1]
    below = np.cumsum(terms.bounds[lowest])
    optional = int(np.searchsorted(below, threshold * MARGIN, side="left"))  # their bounds sum below MARGIN * it
    for j in rest[: len(rest) - optional]:
        terms.score_into(j, acc)
    to_come = float(below[optional - 1]) if optional else 0.0
    rows = np.flatnonzero(acc >= threshold - to_come)  # integers in float64: exact
    later = lowest[:optional][::-1]
    threshold = max(threshold, _threshold(terms, acc, rows, later, k))  # the best rows are better known now
    rows = rows[acc[rows] >= threshold - to_come]
    rows = _add_optional(terms, acc, rows, later, threshold, to_come)
    return _best(rows, acc[rows], k)


def _rarest(terms: QueryTerms, order: np.ndarray, k: int) -> list[int]:
    """The terms of highest bound scored in step 1: up to rows / FIRST_SHARE postings, at least one term, and at
    least PROBED * k postings when there are."""
    budget = max(terms.count // FIRST_SHARE, PROBED * k)
    chosen: list[int] = []
    done = 0
    for j in order:
        size = terms.postings(int(j))
        if chosen and done + size > budget:
            break
        chosen.append(int(j))
        done += size
    return chosen


def _threshold(terms: QueryTerms, acc: np.ndarray, rows: np.ndarray, rest: np.ndarray, k: int) -> float:
    """The k-th best full score among the best of `rows` (ascending) by `acc`, which holds all but the terms `rest`
    (fixed point; 0 when there are fewer than k rows)."""
    if len(rows) < k:
        return 0.0
    probed = min(len(rows), PROBED * k)
    if probed < len(rows):
        rows = np.sort(rows[np.argpartition(-acc[rows], probed - 1)[:probed]])
    full = acc[rows]
    for j in rest:
        full = full + terms.score_rows(int(j), rows)
    return float(np.partition(full, len(full) - k)[len(full) - k])


def _add_optional(
    terms: QueryTerms, acc: np.ndarray, rows: np.ndarray, optional: np.ndarray, threshold: float, to_come: float
) -> np.ndarray:
    """Add the optional terms (highest bound first) to the rows that can still reach the threshold, dropping rows
    as they fall behind; the rows left have their full scores in `acc`."""
    alive: np.ndarray | None = None
    for j in (int(j) for j in optional):
        if terms.postings(j) > LOOKUP_RATIO * len(rows):
            acc[rows] += terms.score_rows(j, rows)
        else:
            if alive is None:
                alive = np.zeros(terms.count, dtype=bool)
                alive[rows] = True
            terms.score_alive(j, alive, acc)
        to_come -= terms.bounds[j]
        keep = acc[rows] >= threshold - to_come
        if alive is not None:
            alive[rows[~keep]] = False
        rows = rows[keep]
    return rows


def _best_of(acc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.flatnonzero(acc > 0)  # (a comparison first: flatnonzero of floats is ten times slower)
    return _best(rows, acc[rows], k)


def _best(rows: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best of (rows, fixed-point values > 0): highest value first, then lowest row; values in score units."""
    positive = values > 0
    rows, values = rows[positive], values[positive]
    if len(rows) > k:
        kth = np.partition(values, len(values) - k)[len(values) - k]
        tied_or_better = values >= kth
        rows, values = rows[tied_or_better], values[tied_or_better]
    order = np.lexsort((rows, -values))[:k]
    return rows[order].astype(np.int64), values[order] / FIXED
