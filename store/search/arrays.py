"""Arrays that grow by appending, for the in-memory search caches (store/search/bm25.py, store/search/exact.py)."""

from collections.abc import Sequence

import numpy as np

BLOCK = 1 << 16  # rows per block of a `Blocks`


class Growable:
    """A 1-d array that grows by doubling; `view` is the used part (never changed once written)."""

    def __init__(self, dtype: type, data: np.ndarray | None = None) -> None:
        self._data: np.ndarray = np.zeros(max(16, 0 if data is None else len(data)), dtype=dtype)
        self.size = 0
        if data is not None:
            self.extend(data)

    def extend(self, values: np.ndarray | Sequence[int] | Sequence[float]) -> None:
        values = np.asarray(values, dtype=self._data.dtype)
        needed = self.size + len(values)
        if needed > len(self._data):
            grown = np.zeros(max(needed, 2 * len(self._data)), dtype=self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : needed] = values
        self.size = needed

    def add_at(self, where: np.ndarray, amount: int = 1) -> None:
        np.add.at(self._data, where, amount)

    def grow_to(self, size: int) -> None:
        if size > self.size:
            self.extend(np.zeros(size - self.size, dtype=self._data.dtype))

    @property
    def view(self) -> np.ndarray:
        return self._data[: self.size]


class Blocks:
    """A matrix that grows by rows into fixed-size blocks, so growing never copies (nor holds twice) what is there.
    The first block may be a read-only array (a memory-mapped file); rows are appended after it."""

    def __init__(self, dimension: int, dtype: type, first: np.ndarray | None = None) -> None:
        self.dimension = dimension
        self.dtype = dtype
        self.blocks: list[np.ndarray] = []
        self.used: list[int] = []
        if first is not None and len(first):
            self.blocks.append(first)
            self.used.append(len(first))

    def __len__(self) -> int:
        return sum(self.used)

    def append(self, rows: np.ndarray) -> None:
        done = 0
        while done < len(rows):
            if not self.blocks or self.used[-1] == len(self.blocks[-1]) or not self.blocks[-1].flags.writeable:
                self.blocks.append(np.zeros((BLOCK, self.dimension), dtype=self.dtype))  # pages come as written
                self.used.append(0)
            block, used = self.blocks[-1], self.used[-1]
            take = min(len(rows) - done, len(block) - used)
            block[used : used + take] = rows[done : done + take]
            self.used[-1] += take
            done += take

    def spans(self) -> list[tuple[int, np.ndarray]]:
        """(first row, used part) of each block."""
        out: list[tuple[int, np.ndarray]] = []
        start = 0
        for block, used in zip(self.blocks, self.used, strict=True):
            out.append((start, block[:used]))
            start += used
        return out

    def rows(self, where: np.ndarray) -> np.ndarray:
        """The rows at these row numbers, in that order."""
        out: np.ndarray = np.empty((len(where), self.dimension), dtype=self.dtype)
        for start, part in self.spans():
            inside = (where >= start) & (where < start + len(part))
            out[inside] = part[where[inside] - start]
        return out


class Columns:
    """A matrix kept transposed, one row per column, in blocks of `block` columns (dimension × block, C-contiguous):
    the layout the int8 scan reads in place (search/int8_scan.py). Every block is full but the last; unused columns
    are zero. Saved blocks come back read-only (memory-mapped): the last one, if not full, is copied to take rows."""

    def __init__(self, dimension: int, dtype: type, block: int, saved: np.ndarray | None = None, rows: int = 0) -> None:
        """`saved`: the blocks as a saved cache holds them (count × dimension × block), with `rows` rows in them."""
        self.dimension = dimension
        self.dtype = dtype
        self.block = block
        self.blocks: list[np.ndarray] = [] if saved is None else list(saved[: -(-rows // block)])
        self.size = rows
        if rows % block:
            self.blocks[-1] = np.array(self.blocks[-1])  # writable: new rows go into its free columns

    def append(self, rows: np.ndarray) -> None:
        done = 0
        while done < len(rows):
            at = self.size % self.block
            if at == 0:
                self.blocks.append(np.zeros((self.dimension, self.block), dtype=self.dtype))
            take = min(len(rows) - done, self.block - at)
            self.blocks[-1][:, at : at + take] = rows[done : done + take].T
            self.size += take
            done += take
