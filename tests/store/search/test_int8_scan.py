"""The int8 scan: ONNX Runtime's integer product gives numpy's exact integers, the codes' column blocks survive a save
and a reload. Its speed against bare numpy float32 over the same vectors is a benchmark figure (`postmortem bench perf`:
dense top-10 beside bare numpy in the same run), not a timed test."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from agent_postmortem.store.search import exact, int8_scan
from agent_postmortem.store.search.arrays import Columns
from agent_postmortem.store.search.exact import ExactIndex, signature
from agent_postmortem.store.search.persisted import PersistedCache


def test_the_hand_written_graph_is_a_valid_onnx_model() -> None:
    if importlib.util.find_spec("onnx") is None:
        pytest.skip("the onnx package (torch extra) is not installed")
    import onnx

    model = onnx.load_from_string(int8_scan.model_bytes())
    onnx.checker.check_model(model, full_check=True)
    assert [n.op_type for n in model.graph.node] == ["MatMulInteger"]


def test_products_are_numpys_exact_integers_even_at_the_extremes() -> None:
    rng = np.random.default_rng(0)
    block = rng.integers(-127, 128, size=(384, 1000), dtype=np.int8)
    block[:, 0], block[:, 1] = 127, -127  # the largest sums a row can have
    for query in (rng.normal(size=384).astype(np.float32), np.full(384, -0.05, np.float32)):
        codes, _ = int8_scan.quantize_query(query)
        expected = (codes.astype(np.int64) @ block.astype(np.int64))[0]
        assert np.array_equal(int8_scan.products(codes, block), expected)


def test_column_blocks_take_rows_across_blocks_and_after_a_reload() -> None:
    rows = np.arange(10 * 3, dtype=np.int8).reshape(10, 3)
    columns = Columns(3, np.int8, 4)
    columns.append(rows[:6])
    columns.append(rows[6:7])
    saved = np.stack(columns.blocks)
    saved.flags.writeable = False  # as a memory-mapped file gives it back
    again = Columns(3, np.int8, 4, saved, rows=7)
    again.append(rows[7:])
    assert again.size == 10 and len(again.blocks) == 3
    assert np.array_equal(np.hstack(again.blocks)[:, :10].T, rows)
    assert not saved[1].flags.writeable and again.blocks[1].flags.writeable  # the partial block was copied


def test_many_small_blocks_split_over_threads_saved_and_reloaded_give_brute_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exact, "BLOCK", 64)
    monkeypatch.setattr(int8_scan, "PARALLEL_FROM", 256)
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(3001, 24)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    stored = {pk: vectors[pk - 1] for pk in range(1, 2001)}

    def make() -> ExactIndex:
        fingerprints = lambda pks: {pk: str(hash(stored[pk].tobytes())) for pk in pks if pk in stored}  # noqa: E731
        cache = PersistedCache(tmp_path / "v.int8", signature=signature("m", 24), fingerprints=fingerprints)
        return ExactIndex(
            lambda after, gaps: [(pk, v) for pk, v in stored.items() if pk > after],
            24,
            vectors=lambda pks: {pk: stored[pk] for pk in pks if pk in stored},
            cache=cache,
        )

    make().save()  # 2,000 rows: 31 full blocks and a partial one
    stored.update({pk: vectors[pk - 1] for pk in range(2001, 3002)})
    reloaded = make()
    for query in vectors[:30]:
        expected = [int(i) + 1 for i in np.argsort(-(vectors @ query), kind="stable")[:10]]
        assert [pk for pk, _ in reloaded.query(query, n=10)] == expected
