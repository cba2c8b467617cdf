"""Round 9 of the blame reader's combination with the rules: can the rules' partial evidence buy recall at precision
0.90 out of set? Numpy only; reads the cached out-of-set probabilities of evals/blame_heldout.py (no training):

    python -m agent_postmortem.evals.blame_round9

The rule, written down and committed before any figure of it was seen:

- Rows: the 974 held rows of `blame_reader_heldout.json` (read by a reader trained without them). Choosing rows C:
  external_test6 + external_test7 (329). Check rows Q: the held quarter of external_train8 + external_train9 (645).
  The sealed sets are never read.
- Baseline B, what ships: p >= 0.98, or a rule hit not vetoed (p >= 0.05, or the sentence names a role).
- P* = 0.90 if B reaches precision 0.90 on C, else B's own precision on C (never below what ships).
- Candidates, each with one parameter, set to the most recall on C at precision >= P* (ties: the higher threshold):
  A1 a threshold t for the sentences with no rule hit in which the rules' lexicon finds a person heading a clause
  (a pronoun, a role, a name, a bare plural role), 0.98 elsewhere; A2 the same for the sentences with a failure in
  them (`failure_in`: a failure word, no person needed); A3 for the sentences with both; S a logistic layer over
  [logit p, rule hit kept by the veto, person heading a clause, failure, names a role], cross-fitted in 5 folds
  grouped by source over the 974 rows (each row scored by a layer fitted without its source), flagging at score s.
- A candidate ships only if it gains recall on C over B and, on Q, loses no recall and at most 0.01 precision against
  B. Of those, the one with the most recall on C (ties: A before S, the simpler). Otherwise nothing ships.
- Rule additions (R: `--rules` runs the same with the rules of the working tree, to compare with a run before them)
  are written from the rules' misses on the three other quarters of train8 and train9 only (never from a held row)
  and kept only if, on the 974 held rows, the sentences they newly flag (rules alone) are at least 90% blaming, B with
  them loses no more than 0.01 precision on C or on Q, and they newly flag no sentence of a system failing among the
  agent-failure reports of evals/data/failures.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.analysis.blame import detect
from agent_postmortem.analysis.blame_context import cannot_be_a_name, failure_in, preceded_by_article, software_role
from agent_postmortem.analysis.blame_learned import vetoable
from agent_postmortem.analysis.blame_lexicon import NAME
from agent_postmortem.analysis.blame_subject import _SUBJECT, _bare_plural, _is_person
from agent_postmortem.evals.blame_heldout import CACHE, QUARTER, WHOLE, held, key, load_cache
from agent_postmortem.evals.blame_threshold import GRID, rates
from agent_postmortem.evals.train_blame_reader import rows

THRESHOLD, VETO, TARGET = 0.98, 0.05, 0.90


def person_heads(sentence: str) -> Iterator[re.Match[str]]:
    """Each person heading a clause of the sentence, whatever follows (the rules' subject test without its
    predicate); the person is the match's group 1."""
    for m in _SUBJECT.finditer(sentence):
        agent = m.group(1)
        if not _is_person(agent) or re.search(r"\bby\s+$", sentence[max(0, m.start() - 4) : m.start()], re.I):
            continue
        if software_role(sentence, m.start(), agent):
            continue
        if re.fullmatch(NAME, agent) and not _bare_plural(agent):
            if preceded_by_article(sentence, m.start()) or cannot_be_a_name(sentence, m.start(), agent):
                continue
        yield m


def person_head(sentence: str) -> bool:
    """A person heads a clause of the sentence, whatever follows."""
    return next(person_heads(sentence), None) is not None


def features(data: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    texts = [r["text"] for r in data]
    return {
        "rules": np.array([bool(detect(t)) for t in texts]),
        "person": np.array([person_head(t) for t in texts]),
        "failure": np.array([failure_in(t) for t in texts]),
        "role": np.array([not vetoable(t) for t in texts]),
    }


def baseline(p: np.ndarray, f: dict[str, np.ndarray], threshold: float = THRESHOLD) -> np.ndarray:
    kept = f["rules"] & ((p >= VETO) | f["role"])
    flagged: np.ndarray = (p >= threshold) | kept
    return flagged


def conditioned(p: np.ndarray, f: dict[str, np.ndarray], evidence: np.ndarray, t: float) -> np.ndarray:
    lower = evidence & ~f["rules"] & (p >= t)
    flagged: np.ndarray = baseline(p, f) | lower
    return flagged


def _logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 500) -> np.ndarray:
    """Weights (bias last) of an L2-penalised logistic regression by Newton's method."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    penalty = np.eye(len(w)) * l2
    penalty[-1, -1] = 0.0
    for _ in range(steps):
        q = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (q - y) + penalty @ w
        hess = xb.T @ (xb * (q * (1 - q))[:, None]) + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def stack_matrix(p: np.ndarray, f: dict[str, np.ndarray]) -> np.ndarray:
    logit = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))
    kept = f["rules"] & ((p >= VETO) | f["role"])
    return np.column_stack([logit, kept, f["person"], f["failure"], f["role"]]).astype(float)


def cross_fit(x: np.ndarray, y: np.ndarray, groups: list[str], folds: int = 5) -> np.ndarray:
    import hashlib

    fold = np.array([int(hashlib.sha256(g.encode()).hexdigest(), 16) % folds for g in groups])
    score = np.zeros(len(y))
    for k in range(folds):
        w = _logistic(x[fold != k], y[fold != k])
        score[fold == k] = 1 / (1 + np.exp(-(np.hstack([x[fold == k], np.ones(((fold == k).sum(), 1))]) @ w)))
    return score


def best(flag_at: Any, y: np.ndarray, on: np.ndarray, floor: float, grid: np.ndarray) -> tuple[float, dict[str, float]]:
    """The parameter with the most recall on `on` at precision >= floor (ties: the higher one)."""
    chosen: tuple[tuple[float, float], float, dict[str, float]] | None = None
    for t in grid:
        r = rates(flag_at(t)[on], y[on])
        if r["precision"] >= floor and (chosen is None or (r["recall"], t) > chosen[0]):
            chosen = ((r["recall"], float(t)), float(t), r)
    if chosen is None:
        return float("nan"), {}
    return chosen[1], chosen[2]


def main(argv: list[str] | None = None) -> int:
    import sys

    args = sys.argv[1:] if argv is None else argv
    data = [r for r in rows() if held(r)]
    cached = load_cache(Path(args[0]) if args else CACHE)
    p = np.array([cached[key(r["set"], r["text"])] for r in data])
    y = np.array([r["y"] for r in data])
    sets = np.array([r["set"] for r in data])
    choose_on, check = np.isin(sets, WHOLE), np.isin(sets, QUARTER)
    f = features(data)
    out: dict[str, Any] = {}

    def report(name: str, flagged: np.ndarray, **extra: Any) -> None:
        out[name] = {**extra, "C": rates(flagged[choose_on], y[choose_on]), "Q": rates(flagged[check], y[check]),
                     "all": rates(flagged, y)}  # fmt: skip

    base = baseline(p, f)
    report("B", base)
    floor = TARGET if rates(base[choose_on], y[choose_on])["precision"] >= TARGET else out["B"]["C"]["precision"]
    out["floor"] = floor
    grid = np.round(np.arange(0.30, 0.99, 0.01), 2)
    for name, evidence in (("A1", f["person"]), ("A2", f["failure"]), ("A3", f["person"] & f["failure"])):
        t, _ = best(lambda t, e=evidence: conditioned(p, f, e, t), y, choose_on, floor, grid)
        if t == t:
            report(name, conditioned(p, f, evidence, t), threshold=t)
    score = cross_fit(stack_matrix(p, f), y.astype(float), [r["source"] for r in data])
    s, _ = best(lambda s: score >= s, y, choose_on, floor, GRID)
    if s == s:
        report("S", score >= s, threshold=s)
    base_c, base_q = out["B"]["C"], out["B"]["Q"]
    passing = [
        n
        for n in ("A1", "A2", "A3", "S")
        if n in out
        and out[n]["C"]["recall"] > base_c["recall"]
        and out[n]["Q"]["recall"] >= base_q["recall"]
        and out[n]["Q"]["precision"] >= base_q["precision"] - 0.01
    ]
    out["chosen"] = max(passing, key=lambda n: (out[n]["C"]["recall"], -"A1A2A3S".index(n))) if passing else None
    counts = {k: int(v.sum()) for k, v in f.items()}
    out["rows"] = {"C": int(choose_on.sum()), "Q": int(check.sum()), "features": counts}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
