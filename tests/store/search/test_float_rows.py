"""Re-ranking reads the float32 vectors from the cache files (search/float_rows.py), not from the record store."""

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agent_postmortem.store.search import cache_file, float_rows
from agent_postmortem.store.search.exact import ExactIndex, signature
from agent_postmortem.store.search.persisted import PersistedCache

DIMENSION = 32


class Records:
    """What the record store gives the exact index: rows by key, and vectors by key (each call counted)."""

    def __init__(self, n: int) -> None:
        rng = np.random.default_rng(5)
        vectors = rng.normal(size=(n, DIMENSION)).astype(np.float32)
        self.all = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        self.stored: dict[int, np.ndarray] = {}
        self.asked: list[int] = []

    def add(self, first: int, last: int) -> None:
        self.stored.update({pk: self.all[pk - 1] for pk in range(first, last + 1)})

    def index(self, path: Path) -> ExactIndex:
        def load(after: int, gaps: object) -> list[tuple[int, np.ndarray]]:
            return [(pk, v) for pk, v in sorted(self.stored.items()) if pk > after]

        def vectors(pks: list[int]) -> dict[int, np.ndarray]:
            self.asked += pks
            return {pk: self.stored[pk] for pk in pks if pk in self.stored}

        fingerprints: Callable[[list[int]], dict[int, str]] = lambda pks: {pk: "x" for pk in pks if pk in self.stored}  # noqa: E731
        cache = PersistedCache(path, signature=signature("m", DIMENSION), fingerprints=fingerprints)
        return ExactIndex(load, DIMENSION, vectors=vectors, cache=cache)

    def best(self, query: np.ndarray, n: int) -> list[tuple[int, float]]:
        keys = np.array(sorted(self.stored))
        scores = np.vstack([self.stored[k] for k in keys]) @ query
        order = np.argsort(-scores, kind="stable")[:n]
        return [(int(keys[i]), float(scores[i])) for i in order]


def _same(got: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    assert [pk for pk, _ in got] == [pk for pk, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-6)


def test_reranking_reads_no_vector_from_the_records_before_or_after_a_save_nor_in_a_new_process(
    tmp_path: Path,
) -> None:
    records = Records(9000)
    records.add(1, 5000)
    warm = records.index(tmp_path / "v.int8")
    warm.refresh(force=True)  # 5,000 rows: saved, and then read from the saved file
    records.add(5001, 6000)  # 1,000 more: below the next save, read from the private file
    warm.refresh(force=True)
    for query in records.all[:30:3]:
        _same(warm.query(query, n=20), records.best(query, 20))
    records.add(6001, 9000)  # 3,000 more: saved again, with the rows added since the last save
    warm.refresh(force=True)
    cold = records.index(tmp_path / "v.int8")
    for query in records.all[1:90:9]:
        _same(warm.query(query, n=20), records.best(query, 20))
        _same(cold.query(query, n=20), records.best(query, 20))
    assert cold.cosines(records.all[0], [1, 8999]) == pytest.approx(
        {1: 1.0, 8999: float(records.all[8998] @ records.all[0])}
    )
    assert records.asked == []
    assert len(cache_file.read(tmp_path / "v.int8")[1][float_rows.NAME]) == 9000


def test_a_damaged_saved_vector_is_read_from_the_records_and_the_file_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    records = Records(3000)
    records.add(1, 3000)
    records.index(tmp_path / "v.int8").refresh(force=True)
    opened = cache_file.open_file(tmp_path / "v.int8")
    with (tmp_path / "v.int8").open("r+b") as handle:  # row 41 (key 42): one value far off
        handle.seek(opened.offsets[float_rows.NAME] + 41 * DIMENSION * 4)
        handle.write(np.float32(7.5).tobytes())
    cold = records.index(tmp_path / "v.int8")
    query = records.all[41]
    with caplog.at_level(logging.WARNING):
        got = cold.query(query, n=5)
    _same(got, records.best(query, 5))  # key 42 first, with its true cosine
    assert 42 in records.asked
    assert "damaged vectors" in caplog.text
    assert not (tmp_path / "v.int8").exists()  # the next process rebuilds it from the records


def test_a_cache_file_copies_a_region_of_another_file_and_reads_it_back(tmp_path: Path) -> None:
    rows = np.arange(60, dtype=np.float32).reshape(20, 3)
    source = tmp_path / "source.bin"
    source.write_bytes(b"header--" + rows.tobytes())
    with source.open("rb") as handle:
        region = cache_file.Region(handle.fileno(), 8 + 4 * 3 * 5, 10, (3,), np.dtype(np.float32))  # rows 5..14
        cache_file.write(tmp_path / "c", {"k": 1}, {"mixed": [rows[:2], region], "plain": np.arange(4)})
    meta, arrays = cache_file.read(tmp_path / "c")
    assert meta == {"k": 1}
    assert np.array_equal(arrays["mixed"], np.vstack([rows[:2], rows[5:15]]))
    assert np.array_equal(arrays["plain"], np.arange(4))


def test_rows_are_read_the_same_where_the_platform_has_no_preadv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = np.arange(5 * DIMENSION, dtype=np.float32).reshape(5, DIMENSION)
    kept = float_rows.FloatRows(DIMENSION, tmp_path)
    kept.append(rows)
    with_preadv = kept.read(np.array([4, 0, 2]))
    monkeypatch.setattr(float_rows, "_PREADV", None)  # macOS: os.pread and a copy
    assert np.array_equal(kept.read(np.array([4, 0, 2])), with_preadv)
    assert np.array_equal(with_preadv, rows[[4, 0, 2]])
    kept.close()


def test_the_folder_of_the_private_file_is_created_private(tmp_path: Path) -> None:
    folder = tmp_path / "home" / "search-cache"
    kept = float_rows.FloatRows(DIMENSION, folder)
    kept.append(np.zeros((1, DIMENSION), dtype=np.float32))
    assert folder.stat().st_mode & 0o777 == 0o700 and (tmp_path / "home").stat().st_mode & 0o777 == 0o700
    assert list(folder.iterdir()) == []  # the file is unlinked: it leaves nothing behind
    kept.close()


def test_the_projected_stage_is_not_built_from_saved_vectors_found_damaged(tmp_path: Path) -> None:
    from agent_postmortem.store.search import reduced

    records = Records(3000)
    records.add(1, 3000)
    index = records.index(tmp_path / "v.int8")
    index.refresh(force=True)  # saved, and read from the file since
    files = index._rerank.files
    assert files is not None and files.saved == 3000
    files.drop_saved()  # as `checked` does when a saved row disagrees with its codes
    with pytest.raises(OSError, match="not readable"):
        files.read_range(0, 10)
    assert reduced.build(files, 3000, 64) is None  # logged; every code is scanned instead of failing the search
