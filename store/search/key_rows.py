"""Which row of an in-memory index holds which incident: the primary keys in load order, and the rows sorted by key
once a row committed late (a lower key loaded after a higher one) broke that order."""

from collections.abc import Sequence

import numpy as np

from agent_postmortem.store.search.arrays import Growable


class KeyRows:
    def __init__(self) -> None:
        self._pks = Growable(np.int64)
        self._order: np.ndarray | None = None  # rows by key, when a late row broke the order
        self._sorted: np.ndarray | None = None  # the keys in that order (made when needed)

    @property
    def size(self) -> int:
        return self._pks.size

    @property
    def view(self) -> np.ndarray:
        """The key of each row, in load order."""
        return self._pks.view

    @property
    def order(self) -> np.ndarray | None:
        """The rows sorted by key; None while rows were loaded in key order."""
        return self._order

    def extend(self, pks: Sequence[int]) -> None:
        """Add the keys of rows appended in this order."""
        before = self._pks.size
        if before and (pks[0] <= self._pks.view[-1] or self._order is not None):  # a row committed late
            order = self._order if self._order is not None else np.arange(before)
            where = np.searchsorted(self._pks.view[order], pks)
            self._order = np.insert(order, where, np.arange(before, before + len(pks)))
        self._pks.extend(pks)

    def restore(self, pks: np.ndarray) -> None:
        """Take the keys of rows loaded from a saved cache, in any order."""
        self._pks.extend(pks)
        order = np.argsort(self._pks.view, kind="stable")
        self._order = None if bool(np.all(order == np.arange(len(order)))) else order

    def rows_of(self, pks: np.ndarray) -> np.ndarray:
        """The row of each key, -1 for keys not in the index."""
        ordered = self._pks.view
        if self._order is not None:
            if self._sorted is None or len(self._sorted) != len(self._order):
                self._sorted = ordered[self._order]
            ordered = self._sorted
        if not len(ordered):
            return np.full(len(pks), -1, dtype=np.int64)
        where = np.clip(np.searchsorted(ordered, pks), 0, len(ordered) - 1)
        rows = where if self._order is None else self._order[where]
        return np.where(ordered[where] == pks, rows, -1)
