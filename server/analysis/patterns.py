"""Recurring patterns: groups of incidents that are the same failure, found by similarity and shared signatures.

Two incidents are linked when they have the same category and each is among the other's `K` nearest
neighbours with cosine at least `LINK` (mutual nearest neighbours keep one generic incident from chaining
unrelated ones together), or when they share a failure signature (agent, tool, error). A linked group whose
members are not all near its centre is a chain, and is linked again within itself at a higher cosine. Groups of
at least `min_size` incidents are patterns. Pure functions over vectors and a few fields, so they are
tested without a store.
"""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

K = 10
LINK = 0.6
# A group stands when each member's cosine to its centre is at least CORE; else it is linked again within itself,
# LINK + STEP, + 2 STEP ..., up to TIGHTEST. On 1,412 real incidents (AIID, postmortems, the seed) this took the
# largest patterns from 191 and 176 members to 36; on all 1,367 AIID incidents with one category, from 629 to 82,
# the mean cosine inside a pattern from 0.595 to 0.628, the share of labelled members with a failure label in common
# from 0.369 to 0.377 (docs/search.md).
CORE = 0.5
STEP = 0.05
TIGHTEST = 0.8
BLOCK = 256  # rows of the similarity matrix at a time: 256 x 100k floats is 100 MB
_WORD = re.compile(r"[a-z][a-z0-9_.-]{2,}")
_STOP = frozenset(
    "the and for with from that this was were into when then than after before over under again agent agents "
    "incident failure failed error errors while about have has had not did does its their there which".split()
)


@dataclass(frozen=True)
class Member:
    pk: int
    title: str
    category: str
    signature: str | None
    agent: str | None
    tool: str | None


def mutual_neighbours(vectors: np.ndarray, *, k: int = K, link: float = LINK) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, that are in each other's top-k by cosine with similarity >= link (rows unit-length)."""
    n = len(vectors)
    if n < 2:
        return []
    k = min(k, n - 1)
    top: list[set[int]] = []
    for start in range(0, n, BLOCK):
        top += _top(vectors[start : start + BLOCK] @ vectors.T, np.arange(start, min(start + BLOCK, n)), k, link)
    return [(i, j) for i in range(n) for j in top[i] if i < j and i in top[j]]


def _top(sims: np.ndarray, rows: np.ndarray, k: int, link: float) -> list[set[int]]:
    """Per row of `sims` (the cosines of `rows` to every row), the columns among its k highest, other than itself, with
    a cosine of at least `link`: those at `link` or above when they are k or fewer, else the k highest, and only when
    the k-th highest ties with the next, whichever of them `argpartition` keeps. Partitioning every row took 6 of the
    10 s that grouping 10,000 incidents took; most rows have a few cosines at `link` or above."""
    sims[np.arange(len(rows)), rows] = -1.0
    at, column = np.nonzero(sims >= link)
    counts = np.bincount(at, minlength=len(rows))
    ends = np.cumsum(counts)
    found: list[set[int]] = []
    for row, (begin, end) in enumerate(zip((ends - counts).tolist(), ends.tolist(), strict=True)):
        columns = column[begin:end]
        if len(columns) > k:
            values = sims[row, columns]
            kth = np.partition(values, len(values) - k)[len(values) - k]
            if np.count_nonzero(values >= kth) == k:
                columns = columns[values >= kth]
            else:  # a tie at the k-th: as every row was partitioned before
                best = np.argpartition(-sims[row], k - 1)[:k]
                columns = best[sims[row, best] >= link]
        found.append(set(columns.tolist()))
    return found


def groups(
    members: Sequence[Member], vectors: np.ndarray, *, min_size: int = 3, k: int = K, link: float = LINK
) -> list[list[int]]:
    """Indexes into `members`, one list per pattern, largest first. A linked group whose members are not all near
    its centre (`CORE`) is linked again within itself at a higher cosine, until each part is, or the link reaches
    `TIGHTEST`: links chain (a near b near c ...), and on 1,412 real incidents two chains held 191 and 176 unrelated
    ones, every chatbot that made something up one "pattern"."""
    found = _cohesive_parts(members, vectors, list(range(len(members))), k=k, link=link)
    return sorted((c for c in found if len(c) >= min_size), key=lambda c: (-len(c), c[0]))


def group_of(
    members: Sequence[Member], vectors: np.ndarray, index: int, *, k: int = K, link: float = LINK
) -> list[int]:
    """The group `groups` puts `members[index]` in (of any size), found from the rows linked to it, and theirs,
    instead of from every row: one report needs one pattern, and grouping 10,000 incidents took seconds. Of
    `members`, only the category and the signature are read."""
    component = _component(members, vectors, index, k=k, link=link)
    parts = _cohesive_parts(members, vectors, component, k=k, link=link)
    return next(part for part in parts if index in part)


def _component(members: Sequence[Member], vectors: np.ndarray, start: int, *, k: int, link: float) -> list[int]:
    """The rows linked to `start`, directly or through others, as `_linked` links all rows (mutual nearest
    neighbours of one category, or a shared signature): each row's top-k is computed only when it is reached."""
    k = min(k, len(vectors) - 1)
    tops: dict[int, set[int]] = {}

    def top_of(rows: Iterable[int]) -> None:
        wanted = [i for i in dict.fromkeys(rows) if i not in tops]
        for begin in range(0, len(wanted), BLOCK):
            block = wanted[begin : begin + BLOCK]
            tops.update(zip(block, _top(vectors[block] @ vectors.T, np.array(block), k, link), strict=True))

    signed: dict[str, list[int]] = {}
    for i, m in enumerate(members):
        if m.signature:
            signed.setdefault(m.signature, []).append(i)
    found, frontier = {start}, [start]
    while frontier and k > 0:
        top_of(frontier)
        top_of(j for i in frontier for j in tops[i])
        linked = [j for i in frontier for j in tops[i] if i in tops[j] and members[i].category == members[j].category]
        linked += [j for i in frontier for j in signed.get(members[i].signature or "", ())]
        frontier = [j for j in dict.fromkeys(linked) if j not in found]
        found.update(frontier)
    return sorted(found)


def _cohesive_parts(
    members: Sequence[Member], vectors: np.ndarray, rows: list[int], *, k: int, link: float
) -> list[list[int]]:
    parts: list[list[int]] = []
    for group in _linked(members, vectors, rows, k=k, link=link):
        if len(group) < 3 or link + STEP > TIGHTEST + 1e-9 or _near_centre(vectors[group]):
            parts.append(group)
        else:
            parts.extend(_cohesive_parts(members, vectors, group, k=k, link=link + STEP))
    return parts


def _near_centre(vectors: np.ndarray) -> bool:
    centre = vectors.mean(axis=0)
    norm = float(np.linalg.norm(centre))
    return norm > 0 and float((vectors @ (centre / norm)).min()) >= CORE


def _linked(members: Sequence[Member], vectors: np.ndarray, rows: list[int], *, k: int, link: float) -> list[list[int]]:
    """`rows` in groups: linked by mutual nearest neighbours of the same category, or by a shared signature."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    for i, j in mutual_neighbours(vectors[rows], k=k, link=link):
        if members[rows[i]].category == members[rows[j]].category:  # similar text, another failure mode: no pattern
            union(i, j)
    first_with: dict[str, int] = {}
    for i, row in enumerate(rows):
        signature = members[row].signature
        if signature:
            union(i, first_with.setdefault(signature, i))
    clusters: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        clusters.setdefault(find(i), []).append(row)
    return list(clusters.values())


def top(counts: Counter[str]) -> tuple[str, int]:
    """The most common value; ties go to the alphabetically first, so results do not depend on hash order."""
    return min(counts.items(), key=lambda item: (-item[1], item[0]))


def label(members: Sequence[Member]) -> str:
    """A readable name: the main category, the words most members' titles share, and a shared agent or tool."""
    category = top(Counter(m.category for m in members))[0]
    words = Counter(w for m in members for w in set(_WORD.findall(m.title.lower())) if w not in _STOP)
    ranked = sorted(words.items(), key=lambda item: (-item[1], item[0]))  # ties by word: the same label every run
    common = [w for w, n in ranked[:4] if n >= max(2, len(members) // 2)]
    parts = [category.replace("_", " ")]
    if common:
        parts.append(", ".join(common))
    for field in ("agent", "tool"):
        values = Counter(getattr(m, field) for m in members if getattr(m, field))
        if values and top(values)[1] * 2 > len(members):
            parts.append(f"{field} {top(values)[0]}")
    return ": ".join(parts[:2]) + ("" if len(parts) <= 2 else f" ({'; '.join(parts[2:])})")
