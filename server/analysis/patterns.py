"""Recurring patterns: groups of incidents that are the same failure, found by similarity and shared signatures.

Two incidents are linked when they have the same category and each is among the other's `K` nearest
neighbours with cosine at least `LINK` (mutual nearest neighbours keep one generic incident from chaining
unrelated ones together), or when they share a failure signature (agent, tool, error). Linked groups of
at least `min_size` incidents are patterns. Pure functions over vectors and a few fields, so they are
tested without a store.
"""

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

K = 10
LINK = 0.6
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
        sims = vectors[start : start + BLOCK] @ vectors.T
        for row, i in enumerate(range(start, min(start + BLOCK, n))):
            sims[row, i] = -1.0
        best = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for row in range(len(best)):
            top.append({int(j) for j in best[row] if sims[row, j] >= link})
    return [(i, j) for i in range(n) for j in top[i] if i < j and i in top[j]]


def groups(
    members: Sequence[Member], vectors: np.ndarray, *, min_size: int = 3, k: int = K, link: float = LINK
) -> list[list[int]]:
    """Indexes into `members`, one list per pattern, largest first."""
    parent = list(range(len(members)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    for i, j in mutual_neighbours(vectors, k=k, link=link):
        if members[i].category == members[j].category:  # similar text about a different failure mode is not a pattern
            union(i, j)
    first_with: dict[str, int] = {}
    for i, m in enumerate(members):
        if m.signature:
            union(i, first_with.setdefault(m.signature, i))
    clusters: dict[int, list[int]] = {}
    for i in range(len(members)):
        clusters.setdefault(find(i), []).append(i)
    return sorted((c for c in clusters.values() if len(c) >= min_size), key=lambda c: (-len(c), c[0]))


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
