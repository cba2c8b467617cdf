"""The lexical index saved next to the database: a new process loads it, reads only the newer rows, and answers
exactly as a process that indexed every row itself; a missing, damaged or foreign file is rebuilt."""

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pytest

from agent_postmortem.store.search import cache_file
from agent_postmortem.store.search.lexical import LexicalIndex, signature
from agent_postmortem.store.search.persisted import PersistedCache

WORDS = "ledger sync timeout retry quota throttled invoice refund agent browser click payment database lock".split()


class Records:
    """A stand-in record store: (pk, text) rows, the keys every load asked for, and content fingerprints."""

    def __init__(self, n: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.rows = [(pk, " ".join(rng.choice(WORDS, size=int(rng.integers(3, 12))))) for pk in range(1, n + 1)]
        self.asked: list[int] = []

    def load(self, after: int, gaps: Sequence[tuple[int, int]]) -> Iterable[tuple[int, str]]:
        self.asked.append(after)
        return [r for r in self.rows if r[0] > after or any(a <= r[0] <= b for a, b in gaps)]

    def fingerprints(self, pks: Sequence[int]) -> dict[int, str]:
        texts = dict(self.rows)
        return {pk: hashlib.sha256(texts[pk].encode()).hexdigest() for pk in pks if pk in texts}

    def index(self, folder: Path) -> LexicalIndex:
        cache = PersistedCache(folder / "lexical.bm25", signature=signature(), fingerprints=self.fingerprints)
        return LexicalIndex(self.load, cache=cache)


QUERIES = ["ledger sync timeout", "throttled quota retry", "refund invoice payment", "browser click agent lock"]


def _answers(index: LexicalIndex) -> list[tuple[list[int], list[float]]]:
    return [(list(p), list(s)) for p, s in (index.scores(q) for q in QUERIES)]


def test_a_new_process_loads_the_saved_index_reads_only_newer_rows_and_answers_the_same(tmp_path: Path) -> None:
    records = Records(3000)
    warm = records.index(tmp_path)
    warm.refresh(force=True)  # 3,000 rows loaded: saved by this refresh
    assert (tmp_path / "lexical.bm25").is_file()
    records.rows += [(3000 + pk, text) for pk, text in Records(40, seed=1).rows]
    warm.refresh(force=True)
    records.asked.clear()
    cold = records.index(tmp_path)
    cold.refresh(force=True)
    assert records.asked == [3000]  # it started from the saved file: only the 40 newer rows were read
    assert _answers(cold) == _answers(warm)  # bit for bit


def test_a_damaged_file_is_rebuilt_from_the_records(tmp_path: Path) -> None:
    records = Records(2500)
    records.index(tmp_path).refresh(force=True)
    path = tmp_path / "lexical.bm25"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # one flipped byte in the postings
    path.write_bytes(bytes(data))
    with pytest.raises(cache_file.CacheUnreadable):
        cache_file.read(path)
    records.asked.clear()
    rebuilt = records.index(tmp_path)
    rebuilt.refresh(force=True)
    assert records.asked[0] == 0  # from the first row
    fresh = Records(2500).index(tmp_path / "other")
    assert _answers(rebuilt) == _answers(fresh)
    assert cache_file.read(path)  # and saved again, whole


def test_a_file_from_another_database_or_tokenizer_is_not_used(tmp_path: Path) -> None:
    Records(2500, seed=1).index(tmp_path).refresh(force=True)
    other = Records(2500, seed=2)  # the same keys, other texts: a restored or replaced database
    index = other.index(tmp_path)
    index.refresh(force=True)
    assert other.asked[0] == 0
    assert _answers(index) == _answers(Records(2500, seed=2).index(tmp_path / "fresh"))
    cache = PersistedCache(
        tmp_path / "lexical.bm25", signature={**signature(), "stemmer": "another"}, fingerprints=other.fingerprints
    )
    assert cache.load() is None


def test_reset_removes_the_saved_file(tmp_path: Path) -> None:
    records = Records(2500)
    index = records.index(tmp_path)
    index.refresh(force=True)
    index.reset()
    assert not (tmp_path / "lexical.bm25").exists()
    assert index.count() == 2500
