"""The grouping of every incident into patterns, kept while what it was made from is unchanged.

`patterns.groups` over 10,000 incidents multiplies a 10,000 x 10,000 similarity matrix out, and recurring_patterns,
fix_effectiveness and action_item_stats each grouped every incident again (about 20 times one full post-mortem,
docs/loop.md). A grouping reads only each incident's key, category, signature and vector, so it is kept with a digest
of those (and of the grouping's settings): the next call that reads the same ones, in this process, reuses it, and
any capture, edit, deletion or re-embedding in any process changes the digest and groups again."""

import hashlib
import json
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from agent_postmortem.analysis import patterns


class Grouping:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: tuple[bytes, list[list[int]]] | None = None

    def of(self, keys: Sequence[Any], vectors: np.ndarray) -> list[list[int]]:
        """Every group's member keys (`pk`), as `patterns.groups` gives them at min_size 1 (largest first), for rows
        with these keys, categories and signatures (`keys`, in key order) and `vectors`. Shared: not to be changed."""
        digest = _digest(keys, vectors)
        with self._lock:  # two threads asking at once group once
            if self._last is not None and self._last[0] == digest:
                return self._last[1]
            members = [patterns.Member(r.pk, "", r.category, r.signature, None, None) for r in keys]
            found = [[keys[i].pk for i in g] for g in patterns.groups(members, vectors, min_size=1)]
            self._last = (digest, found)
            return found

    def clear(self) -> None:
        """Forget the grouping kept (the next call groups again)."""
        with self._lock:
            self._last = None


def _digest(keys: Sequence[Any], vectors: np.ndarray) -> bytes:
    settings = (patterns.K, patterns.LINK, patterns.CORE, patterns.STEP, patterns.TIGHTEST)
    digest = hashlib.blake2b(json.dumps([settings, [[r.pk, r.category, r.signature] for r in keys]]).encode())
    digest.update(str(vectors.shape).encode())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return digest.digest()
