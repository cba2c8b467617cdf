"""Like-for-like cross-validation when a spent fresh set joins the category classifier's training rows (needs `dev`).

Adding rows changes the row set and the seeded grouped folds, so the train cross-validation recorded before and after
(`evals/train_category.py`) are not comparable. This runs the same procedure (5 folds grouped by source, stratified,
seed `SEED`; balanced logistic regression; C chosen by macro-F1 over the grid) on the training rows with and without
the rows of `--added`, and gives for each head:

- `before`: the rows without the added set, on their own folds: what a model trained without it records;
- `after`: every row on its folds, restricted to the `old` rows and to the `added` ones;
- `same_folds`: the old rows on the folds of `after`, fitted without the added rows (only the added rows differ).

    python -m agent_postmortem.evals.category_compare [--added fresh42] [--grid 0.003,0.01] [--heads embedding]
        [--before-c 0.003 --after-c 0.01]  # C fixed (each model file records its C): no search, three fits per head
        [--cache FILE.npy]                 # the rows' vectors, embedded once and reused
"""

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.analysis.category_model import CLASSES
from agent_postmortem.analysis.category_words import Words
from agent_postmortem.evals.category_data import (
    default_embedder,
    default_training_examples,
    design,
    labels,
    product_examples,
    texts,
    training_rows,
    vectors,
)
from agent_postmortem.evals.category_fit import _fit
from agent_postmortem.evals.fresh_failures import TRAINED
from agent_postmortem.evals.train_category import FOLDS, GRID, SEED, WORDS_MIN_DF, WORDS_WEIGHT, macro_f1

logger = logging.getLogger(__name__)
Extra = tuple[np.ndarray, np.ndarray]


def out_of_fold(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
    extra: Extra,
    c: float,
    fit: np.ndarray | None = None,
    words: Words | None = None,
) -> np.ndarray:
    """`train_category.out_of_fold` with the folds of every row, each fold's model fitted only on the rows `fit`
    marks (all when None) plus the extra rows; every held-out row is predicted."""
    from sklearn.model_selection import StratifiedGroupKFold

    fit = np.ones(len(y), dtype=bool) if fit is None else fit
    logits = np.zeros((len(y), len(CLASSES)))
    folds = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for fit_rows, held in folds.split(x, y, np.array(groups)):
        rows = fit_rows[fit[fit_rows]]
        scaler, model = _fit(np.vstack([x[rows], extra[0]]), np.concatenate([y[rows], extra[1]]), c, words)
        logits[held] = model.decision_function(scaler.transform(x[held]))
    return logits


def figures(y: np.ndarray, predicted: np.ndarray, rows: np.ndarray | None = None) -> dict[str, Any]:
    """Accuracy and macro-F1 of `predicted` on the rows `rows` marks (all when None)."""
    rows = np.ones(len(y), dtype=bool) if rows is None else rows
    truth, guess = y[rows], predicted[rows]
    return {
        "rows": int(rows.sum()),
        "correct": int(np.sum(truth == guess)),
        "accuracy": round(float(np.mean(truth == guess)), 4),
        "macro_f1": round(macro_f1(truth, guess), 4),
    }


def chosen(
    x: np.ndarray, y: np.ndarray, groups: Sequence[str], extra: Extra, grid: Sequence[float], words: Words | None
) -> tuple[float, np.ndarray]:
    """The C of the grid with the best out-of-fold macro-F1 (the first on a tie, as training chooses) and its
    predictions."""
    best: tuple[float, float, np.ndarray] | None = None
    for c in grid:
        predicted = out_of_fold(x, y, groups, extra, c, words=words).argmax(axis=1)
        score = macro_f1(y, predicted)
        logger.info("C=%s: macro-F1 %.4f", c, score)
        if best is None or score > best[1] + 1e-9:
            best = (c, score, predicted)
    assert best is not None
    return best[0], best[2]


def compare(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
    added: np.ndarray,
    extra: Extra,
    grid: Sequence[float],
    fixed: tuple[float | None, float | None] = (None, None),
    words: Words | None = None,
) -> dict[str, Any]:
    """One head's figures before and after the rows `added` marks join the training rows; `fixed`: the C before and
    after, each chosen from `grid` when None."""
    old = ~added
    old_groups = [g for g, o in zip(groups, old, strict=True) if o]
    c_before, before = chosen(x[old], y[old], old_groups, extra, [fixed[0]] if fixed[0] else grid, words)
    c_after, after = chosen(x, y, groups, extra, [fixed[1]] if fixed[1] else grid, words)
    same = out_of_fold(x, y, groups, extra, c_before, fit=old, words=words).argmax(axis=1)
    result: dict[str, Any] = {
        "before": {"C": c_before, "old": figures(y[old], before)},
        "after": {
            "C": c_after,
            "old": figures(y, after, old),
            "added": figures(y, after, added),
            "all": figures(y, after),
        },
        "same_folds": {"C": c_before, "old": figures(y, same, old), "added": figures(y, same, added)},
    }
    result["change_on_old"] = {
        k: round(result["after"]["old"][k] - result["before"]["old"][k], 4) for k in ("accuracy", "macro_f1")
    }
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent_postmortem.evals.category_compare")
    parser.add_argument("--added", default=TRAINED[-1], choices=TRAINED, help="the spent set whose rows joined")
    parser.add_argument("--grid", default=",".join(map(str, GRID)), help="values of C, comma-separated")
    parser.add_argument("--heads", default="embedding,rules", help="the heads to compare, comma-separated")
    parser.add_argument("--before-c", type=float, help="C of the model without the added rows (default: search)")
    parser.add_argument("--after-c", type=float, help="C of the model with them (default: search)")
    parser.add_argument("--cache", type=Path, help="a .npy file of the rows' vectors: read if there, else written")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    grid = [float(c) for c in args.grid.split(",")]
    corpus, product = training_rows(default_training_examples()), product_examples()
    if args.cache and args.cache.exists() and len(np.load(args.cache)) == len(corpus) + len(product):
        v_corpus, v_product = np.split(np.load(args.cache), [len(corpus)])
    else:
        embedder = default_embedder()
        v_corpus, v_product = vectors(embedder, corpus), vectors(embedder, product)
        if args.cache:
            np.save(args.cache, np.vstack([v_corpus, v_product]))
    y, y_product = labels(corpus), labels(product)
    added = np.array([e.origin == f"corpus:{args.added}" for e in corpus])
    groups = [e.group for e in corpus]
    words = Words.fit(texts([*corpus, *product]), min_df=WORDS_MIN_DF, weight=WORDS_WEIGHT)
    result: dict[str, Any] = {"added": args.added, "grid": grid}
    for name in args.heads.split(","):
        with_vectors = name == "embedding"
        x = design(corpus, v_corpus if with_vectors else None, words)
        extra = (design(product, v_product if with_vectors else None, words), y_product)
        result[name] = compare(x, y, groups, added, extra, grid, (args.before_c, args.after_c), words)
    sys.stdout.write(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
