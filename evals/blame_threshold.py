"""How the blame reader is applied, chosen on out-of-set predictions (evals/train_blame_reader.py makes them): the
threshold at which the reader flags a sentence alone, the veto under which it overrules a rule's finding, and the
figures per set that `blame-reader.json` records. Numpy only: no torch."""

from typing import Any

import numpy as np

TARGET_PRECISION = 0.90
FRESH_FOR_RULES = ("external_test6", "external_test7", "external_train8", "external_train9")  # rules never tuned here
# The threshold and the veto are chosen on the sets collected as the fresh sets are (sentences as they come in the
# texts, each scored once before it became training data); the training collections were asked for hard not-blaming
# sentences, on which even the rules reach only 0.82 precision. Until the reader of round 14 only test6 and test7 were
# used, with a fixed veto; test12 then showed how far one set's precision can stray (0.90 on test11, 0.785 on test12
# for the same reader), so the choice is made on all of them (docs/blameless.md, round 14; test13 since round 15).
CHOOSE_ON = (
    "external_test6",
    "external_test7",
    "external_test10",
    "external_test11",
    "external_test12",
    "external_test13",
)
GRID = np.round(np.arange(0.05, 0.99, 0.01), 2)
# The reader overrules a rule's finding only when it is sure enough the sentence blames nobody, and never in a
# sentence that names a role (server/analysis/blame_learned.py: "QA did not test it properly." got 0.009). Until round
# 14 the veto was fixed at 0.05 (chosen on 974 rows, docs/blameless.md "The veto"); it is now chosen with the threshold
# on CHOOSE_ON, no higher than MAX_VETO: above it the rules' true hits on named people start to go.
MAX_VETO = 0.66


def rates(flagged: np.ndarray, y: np.ndarray) -> dict[str, float]:
    tp = int(np.sum(flagged & (y == 1)))
    precision, recall = tp / max(1, int(flagged.sum())), tp / max(1, int(y.sum()))
    return {"precision": round(precision, 3), "recall": round(recall, 3),
            "f1": round(2 * precision * recall / max(1e-9, precision + recall), 3)}  # fmt: skip


def choose(
    p: np.ndarray, y: np.ndarray, rules: np.ndarray, *, veto: bool = True, exempt: np.ndarray | None = None
) -> dict[str, Any]:
    """The (threshold, veto) with the most recall at which `p >= t or (rules and (p >= v or exempt))` keeps
    TARGET_PRECISION on these rows; failing that, the best F1. Without `veto`, the threshold alone (every rule hit
    counts: v = 0). `exempt`: the rule hits no veto drops (sentences that name a role)."""
    spared = np.zeros(len(p), dtype=bool) if exempt is None else exempt
    best: tuple[tuple[int, float, float], float, float] | None = None
    for t in GRID:
        for v in GRID[(GRID <= t) & (GRID <= MAX_VETO)] if veto else np.zeros(1):
            r = rates((p >= t) | (rules & ((p >= v) | spared)), y)
            key = (int(r["precision"] >= TARGET_PRECISION), r["recall"] if r["precision"] >= TARGET_PRECISION
                   else r["f1"], -t)  # fmt: skip
            if best is None or key > best[0]:
                best = (key, float(t), float(v))
    assert best is not None
    _, threshold, chosen_veto = best
    criterion = "recall at precision 0.90" if best[0][0] else "best F1 (precision 0.90 not reached)"
    return {"threshold": threshold, "veto": chosen_veto, "criterion": criterion}


def figures(p: np.ndarray, data: list[dict[str, Any]], rules: np.ndarray, threshold: float, kept: Any) -> Any:
    """Out-of-set figures per set (each row read by a reader trained without its fold); `kept`: the rule hits the
    veto leaves."""
    y, sets = np.array([r["y"] for r in data]), np.array([r["set"] for r in data])
    out = {}
    for name in sorted(set(sets)):
        rows_ = sets == name
        out[name] = {"rows": int(rows_.sum()), "rules": rates(rules[rows_], y[rows_]),
                     "reader": rates(p[rows_] >= 0.5, y[rows_]),
                     "combined": rates(((p >= threshold) | kept)[rows_], y[rows_])}  # fmt: skip
    return out


def settle(p: np.ndarray, data: list[dict[str, Any]], rules: np.ndarray) -> tuple[dict[str, Any], Any, Any]:
    """The shipped settings (threshold and veto chosen together on CHOOSE_ON, role sentences never vetoed), with the
    joint choice on the rows the rules were never tuned on for the record; the figures on those rows and per set."""
    y, sets = np.array([r["y"] for r in data]), np.array([r["set"] for r in data])
    fresh, natural = np.isin(sets, FRESH_FOR_RULES), np.isin(sets, CHOOSE_ON)
    from agent_postmortem.analysis.blame_learned import vetoable

    roles = ~np.array([vetoable(r["text"]) for r in data])
    settings = {**choose(p[natural], y[natural], rules[natural], exempt=roles[natural]), "chosen_on": list(CHOOSE_ON)}
    kept = rules & ((p >= settings["veto"]) | roles)
    settings["on_chosen_rows"] = rates(((p >= settings["threshold"]) | kept)[natural], y[natural])
    hits, dropped = rules & natural, rules & natural & ~kept
    settings["veto_chosen_on"] = {
        "rows": int(natural.sum()),
        "how": "read by a reader trained without their fold: " + ", ".join(CHOOSE_ON),
        "never_vetoed": "a sentence that names a role (server/analysis/blame_learned.py vetoable)",
        "rule_hits": {"blaming": int((hits & (y == 1)).sum()), "not_blaming": int((hits & (y == 0)).sum())},
        "vetoed": {"blaming": int((dropped & (y == 1)).sum()), "not_blaming": int((dropped & (y == 0)).sum())},
    }
    joint = choose(p[fresh], y[fresh], rules[fresh])
    flagged = (p >= joint["threshold"]) | (rules & (p >= joint["veto"]))
    settings["joint_on_fresh_rows"] = {**joint, **rates(flagged[fresh], y[fresh])}
    shipped = (p >= settings["threshold"]) | kept
    fresh_figures = {"rules": rates(rules[fresh], y[fresh]), "reader": rates(p[fresh] >= 0.5, y[fresh]),
                     "combined": rates(shipped[fresh], y[fresh]),
                     "chosen_on": rates(shipped[natural], y[natural])}  # fmt: skip
    return settings, fresh_figures, figures(p, data, rules, settings["threshold"], kept)
