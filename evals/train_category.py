"""Train the learned category classifier, write `server/analysis/category_model.json` (needs `dev`: scikit-learn).

    python -m agent_postmortem.evals.train_category          # choose C by grouped CV on train, fit, write the file
    python -m agent_postmortem.evals.train_category --check  # refit with the recorded settings; exit 1 if it differs

Only the train half of the failure corpus and the once-scored fresh check set (`evals/fresh_failures.py`; its rows
from owners of test rows left out) are read (plus the project's own seed incidents and team-written eval
cases, which are always on the fitting side and never scored). Each head is a multinomial logistic regression
(lbfgs, L2, balanced class weights, every feature standardised) whose C is chosen by macro-F1 in 5-fold
cross-validation grouped by source (`evals.category_data.cv_group`, seeded, stratified); its temperature is fitted
on the same out-of-fold predictions (least log loss). Nothing is random except the fold assignment, which is
seeded, so the same data gives the same file.
"""

import argparse
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.analysis.category_model import CLASSES, CUES, FEATURE_VERSION, MODEL_FILE, parse
from agent_postmortem.analysis.category_words import Words
from agent_postmortem.evals.category_data import (
    Example,
    default_embedder,
    default_training_examples,
    design,
    file_hash,
    labels,
    product_examples,
    product_hash,
    texts,
    training_rows,
    vectors,
)
from agent_postmortem.evals.category_fit import _fit
from agent_postmortem.evals.classification import scores
from agent_postmortem.evals.failure_corpus import CORPUS
from agent_postmortem.evals.fresh_failures import TRAINED, fresh_set

logger = logging.getLogger(__name__)

SEED = 18
FOLDS = 5
GRID = (0.003, 0.01, 0.03, 0.1, 0.3)
DIGITS = 7  # significant digits kept in the file
# The words group (server/analysis/category_words.py): terms in at least WORDS_MIN_DF training texts, their tf-idf
# rows (unit length) multiplied by WORDS_WEIGHT beside the standardised features, so the words weigh about as much
# as a standardised feature each. Chosen by grouped cross-validation on the training rows (docs/architecture.md,
# decision 6, round 8).
WORDS_MIN_DF = 2
WORDS_WEIGHT = 30.0
TOLERANCE = 1e-3  # `--check`: largest difference allowed between a refitted and a shipped number


def out_of_fold(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
    extra: tuple[np.ndarray, np.ndarray],
    c: float,
    words: Words | None = None,
) -> np.ndarray:
    """Logits of each corpus row from a model fitted without its fold (the extra rows always fitted on)."""
    from sklearn.model_selection import StratifiedGroupKFold

    logits = np.zeros((len(y), len(CLASSES)))
    folds = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for fit_rows, held in folds.split(x, y, np.array(groups)):
        fitted = (np.vstack([x[fit_rows], extra[0]]), np.concatenate([y[fit_rows], extra[1]]))
        scaler, model = _fit(*fitted, c, words)
        logits[held] = model.decision_function(scaler.transform(x[held]))
    return logits


def macro_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    scores = []
    for k in range(len(CLASSES)):
        tp = int(np.sum((predicted == k) & (y == k)))
        denominator = int(np.sum(predicted == k) + np.sum(y == k))
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores))


def temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the log loss of softmax(logits / T) on held-out rows."""
    from scipy.optimize import minimize_scalar

    def loss(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        return float(-np.mean(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))))

    return float(minimize_scalar(loss, bounds=(0.05, 20.0), method="bounded", options={"xatol": 1e-6}).x)


def calibration_error(logits: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top class: |confidence - accuracy| averaged over confidence bins."""
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = z / z.sum(axis=1, keepdims=True)
    confidence, right = p.max(axis=1), p.argmax(axis=1) == y
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    gaps = [
        abs(confidence[which == b].mean() - right[which == b].mean()) * np.sum(which == b)
        for b in range(bins)
        if np.any(which == b)
    ]
    return round(float(sum(gaps) / len(y)), 3)


def _round(values: np.ndarray) -> list[Any]:
    rounded: list[Any] = np.vectorize(lambda v: float(f"{v:.{DIGITS}g}"))(values).tolist()
    return rounded


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
    extra: tuple[np.ndarray, np.ndarray],
    grid: Sequence[float],
    words: Words | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Choose C, fit on everything, calibrate: the head's JSON and its cross-validation figures."""
    chosen: dict[str, Any] | None = None
    for c in grid:
        logits = out_of_fold(x, y, groups, extra, c, words)
        predicted = logits.argmax(axis=1)
        row = {"C": c, "accuracy": float(np.mean(predicted == y)), "macro_f1": macro_f1(y, predicted), "logits": logits}
        logger.info("C=%s: CV accuracy %.3f, macro-F1 %.3f", c, row["accuracy"], row["macro_f1"])
        if chosen is None or row["macro_f1"] > chosen["macro_f1"] + 1e-9:
            chosen = row
    assert chosen is not None
    t = temperature(chosen["logits"], y)
    scaler, model = _fit(np.vstack([x, extra[0]]), np.concatenate([y, extra[1]]), chosen["C"], words)
    head = {
        "C": chosen["C"],
        "temperature": round(t, 6),
        "mean": _round(scaler.mean_),
        "scale": _round(scaler.scale_),
        "weights": _round(model.coef_),
        "bias": _round(model.intercept_),
    }
    truth, predicted = [CLASSES[i].value for i in y], [CLASSES[i].value for i in chosen["logits"].argmax(axis=1)]
    figures = {
        "C": chosen["C"],
        **scores(truth, predicted),
        "calibration_error": calibration_error(chosen["logits"] / t, y),
    }
    return head, figures


def train(
    grids: dict[str, Sequence[float]] | None = None, *, train_rows: list[Example] | None = None
) -> dict[str, Any]:
    """The model file's content: both heads, the classes and features, and how it was made. `grids`: the values of
    C to choose from per head (default GRID for both)."""
    grids = grids or {"embedding": GRID, "rules": GRID}
    corpus = training_rows(train_rows if train_rows is not None else default_training_examples())
    product = product_examples()
    embedder = default_embedder()
    v_corpus, v_product = vectors(embedder, corpus), vectors(embedder, product)
    y, y_product = labels(corpus), labels(product)
    groups = [e.group for e in corpus]
    words = Words.fit(texts([*corpus, *product]), min_df=WORDS_MIN_DF, weight=WORDS_WEIGHT)
    heads: dict[str, Any] = {}
    cv: dict[str, Any] = {}
    for name, with_vectors in (("embedding", True), ("rules", False)):
        x = design(corpus, v_corpus if with_vectors else None, words)
        x_product = design(product, v_product if with_vectors else None, words)
        heads[name], cv[name] = fit_head(x, y, groups, (x_product, y_product), grids[name], words)
    return {
        "feature_version": FEATURE_VERSION,
        "classes": [c.value for c in CLASSES],
        "cues": [name for name, _ in CUES],
        "words": words.to_json(DIGITS),
        "heads": heads,
        "metadata": {
            "embedder": embedder.model_id,
            "corpus_sha256": file_hash(CORPUS, *(fresh_set(split).path for split in TRAINED)),
            "product_sha256": product_hash(),
            "corpus_rows": len(corpus),
            "product_rows": len(product),
            "settings": {
                "seed": SEED,
                "folds": FOLDS,
                "grid": list(GRID),
                "class_weight": "balanced",
                "solver": "lbfgs",
                "words_min_df": WORDS_MIN_DF,
                "words_weight": WORDS_WEIGHT,
            },
            "train_cv": cv,
        },
    }


def differences(shipped: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """Where a refit differs from the shipped file: metadata that is not equal, numbers beyond TOLERANCE."""
    found = [
        f"metadata.{k}"
        for k in ("corpus_sha256", "product_sha256", "settings")
        if shipped["metadata"][k] != fresh["metadata"][k]
    ]
    if shipped["words"]["terms"] != fresh["words"]["terms"]:
        found.append("words.terms")
    elif np.max(np.abs(np.subtract(shipped["words"]["idf"], fresh["words"]["idf"])), initial=0.0) > TOLERANCE:
        found.append("words.idf")
    for head in ("embedding", "rules"):
        for key in ("C", "temperature", "mean", "scale", "weights", "bias"):
            a, b = np.asarray(shipped["heads"][head][key]), np.asarray(fresh["heads"][head][key])
            if a.shape != b.shape or np.max(np.abs(a - b)) > TOLERANCE * max(1.0, float(np.max(np.abs(a)))):
                found.append(f"heads.{head}.{key}")
    return found


def refit(shipped: dict[str, Any]) -> dict[str, Any]:
    """Train again with each head's chosen C as the only choice: the same file, without the search."""
    return train({name: [head["C"]] for name, head in shipped["heads"].items()})


def dump(content: dict[str, Any]) -> str:
    """JSON with one line per list of numbers (a row of weights), so a retrained file reads as a diff."""
    text = json.dumps(content, indent=1)
    return re.sub(r"\[[^\[\]{}\"]*\]", lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text) + "\n"


def shipped_file_command(
    argv: list[str],
    *,
    prog: str,
    model_file: Path,
    refit: Callable[[dict[str, Any]], dict[str, Any]],
    differences: Callable[[dict[str, Any], dict[str, Any]], list[str]],
    train: Callable[[], dict[str, Any]],
    summary: Callable[[dict[str, Any]], str],
) -> int:
    """The command of a trainer whose coefficients ship with the product: `--check` refits with the shipped settings
    and compares (exit 1 when it differs); otherwise train, check that the product loads it (`train` does), write."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--check", action="store_true", help="refit with the shipped settings and compare")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.check:
        shipped = json.loads(model_file.read_text(encoding="utf-8"))
        found = differences(shipped, refit(shipped))
        sys.stderr.write("matches the shipped file\n" if not found else f"differs: {', '.join(found)}\n")
        return 1 if found else 0
    content = train()
    model_file.write_text(dump(content), encoding="utf-8")
    sys.stderr.write(f"wrote {model_file}: {summary(content)}\n")
    return 0


def _trained() -> dict[str, Any]:
    content = train()
    parse(content)  # what the product will load
    return content


def _summary(content: dict[str, Any]) -> str:
    cv = content["metadata"]["train_cv"]
    fields = ("C", "accuracy", "accuracy_95", "macro_f1", "calibration_error")
    return f"train cross-validation {json.dumps({h: {k: cv[h][k] for k in fields} for h in cv})}"


def main(argv: list[str]) -> int:
    return shipped_file_command(
        argv,
        prog="python -m agent_postmortem.evals.train_category",
        model_file=MODEL_FILE,
        refit=refit,
        differences=differences,
        train=_trained,
        summary=_summary,
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
