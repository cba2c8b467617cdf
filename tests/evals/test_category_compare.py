"""The like-for-like comparison of evals/category_compare.py: the rows a spent set adds are kept out of the `before`
and `same_folds` fits, figures are read on the rows asked for, and `before` is what training records without them."""

import numpy as np
import pytest

from agent_postmortem.analysis.category_model import CLASSES
from agent_postmortem.evals.category_compare import compare, figures, out_of_fold
from agent_postmortem.evals.train_category import macro_f1
from agent_postmortem.evals.train_category import out_of_fold as training_out_of_fold

pytest.importorskip("sklearn")
K = len(CLASSES)


def synthetic(rows_per_class: int = 16) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray, tuple[np.ndarray, ...]]:
    """Rows of every class with a noisy class signal, three rows a group; the last group of each class is added."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(K), rows_per_class)
    x = np.eye(K)[y] * 1.5 + rng.normal(size=(len(y), K))
    groups = [f"g{k}-{i // 3}" for k, i in zip(y, np.tile(np.arange(rows_per_class), K), strict=True)]
    added = np.tile(np.arange(rows_per_class) >= rows_per_class - 3, K)
    extra = (np.eye(K) * 1.5, np.arange(K))
    return x, y, groups, added, extra


def test_figures_read_only_the_rows_asked_for() -> None:
    y, predicted = np.array([0, 1, 2, 0]), np.array([0, 1, 0, 1])
    assert figures(y, predicted, np.array([True, True, False, False])) == {
        "rows": 2,
        "correct": 2,
        "accuracy": 1.0,
        "macro_f1": round(macro_f1(y[:2], predicted[:2]), 4),
    }
    assert figures(y, predicted)["accuracy"] == 0.5


def test_out_of_fold_on_every_row_is_the_training_one() -> None:
    x, y, groups, _, extra = synthetic()
    assert np.allclose(out_of_fold(x, y, groups, extra, 0.1), training_out_of_fold(x, y, groups, extra, 0.1))


def test_before_and_same_folds_never_fit_on_the_added_rows() -> None:
    x, y, groups, added, extra = synthetic()
    first = compare(x, y, groups, added, extra, [0.1])
    moved = x.copy()
    moved[added] = -10 * np.eye(K)[(y[added] + 1) % K]  # the added rows now teach every class the wrong way
    second = compare(moved, y, groups, added, extra, [0.1])
    assert second["before"] == first["before"]
    assert second["same_folds"]["old"] == first["same_folds"]["old"]
    assert second["after"]["old"] != first["after"]["old"]
    assert first["after"]["added"]["rows"] == added.sum() and first["after"]["old"]["rows"] == (~added).sum()


def test_before_is_what_training_records_without_the_added_rows() -> None:
    x, y, groups, added, extra = synthetic()
    result = compare(x, y, groups, added, extra, [0.01, 0.1])
    old = ~added
    old_groups = [g for g, o in zip(groups, old, strict=True) if o]
    recorded = training_out_of_fold(x[old], y[old], old_groups, extra, result["before"]["C"]).argmax(axis=1)
    assert result["before"]["old"] == figures(y[old], recorded)
    after = result["after"]["old"]
    assert result["change_on_old"] == {
        k: round(after[k] - result["before"]["old"][k], 4) for k in ("accuracy", "macro_f1")
    }
