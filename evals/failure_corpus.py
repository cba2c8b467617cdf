"""The labelled failure corpus (`evals/data/failures/`): check it, count it, split it by source, sample it.

Rows are real failure reports written outside the project, each labelled with a category and a severity
by the rules of `GUIDE.md`. The split keeps every `source_group` (a GitHub owner, AIID, one postmortem
collection) wholly on one side, so the test rows come from sources the classifier was never tuned on.
The second-labelling sample and the agreement between two labellers (Cohen's kappa) are computed here.

    python -m agent_postmortem.evals.failure_corpus check       # schema and split invariants; exit 1 on a problem
    python -m agent_postmortem.evals.failure_corpus stats       # counts by source, category, split and severity
    python -m agent_postmortem.evals.failure_corpus sample      # rewrite second_sample.jsonl (seeded, stratified)
    python -m agent_postmortem.evals.failure_corpus agreement B.jsonl   # kappa of labeller B against the corpus
    python -m agent_postmortem.evals.failure_corpus baseline    # category accuracy of the product's keyword rules
"""

import json
import math
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

from agent_postmortem.analysis.classify import classify
from agent_postmortem.store.models import Category, IncidentCreate

HERE = Path(__file__).parent / "data" / "failures"
CORPUS = HERE / "corpus.jsonl"
SAMPLE = HERE / "second_sample.jsonl"
CATEGORIES = [c.value for c in Category]
SEVERITIES = ["SEV1", "SEV2", "SEV3", "SEV4"]
SEED = 18
SAMPLE_SHARE = 0.22
FIELDS = [
    "id",
    "source",
    "source_group",
    "source_url",
    "license",
    "title",
    "text",
    "category",
    "severity",
    "severity_evidence",
    "labeller",
    "notes",
    "split",
]
SAMPLE_FIELDS = ["id", "title", "text", "source"]
MAX_TEXT = 2000
# 1: first labelling; 2: test rows that state an impact; 3: train rows for the classifier; 4: a fresh test round
# committed before re-training; 5: train rows added with round 4; 6: train rows added after the fresh41 scoring
ROUNDS = (1, 2, 3, 4, 5, 6)

Row = dict[str, Any]


def read_jsonl(path: Path) -> list[Row]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load(path: Path = CORPUS) -> list[Row]:
    return read_jsonl(path)


def row_problems(row: Row, splits: Sequence[str] = ("train", "test")) -> list[str]:
    """What is wrong with one row, as sentences naming the row; `splits`: the split names the file may use."""
    rid = row.get("id", "?")
    problems = [f"{rid}: missing field {f}" for f in FIELDS if f not in row]
    if row.get("category") not in CATEGORIES:
        problems.append(f"{rid}: category {row.get('category')!r} is not one of the nine")
    if row.get("severity") not in [*SEVERITIES, None]:
        problems.append(f"{rid}: severity {row.get('severity')!r} is not SEV1-SEV4 or null")
    if (row.get("severity") is None) != (row.get("severity_evidence") is None):
        problems.append(f"{rid}: a severity needs its quoted evidence, and evidence needs a severity")
    if not row.get("text") or len(row.get("text", "")) > MAX_TEXT:
        problems.append(f"{rid}: text must be 1 to {MAX_TEXT} characters")
    if row.get("split") not in splits:
        problems.append(f"{rid}: split must be {' or '.join(splits)}")
    if row.get("round", 1) not in ROUNDS:
        problems.append(f"{rid}: round must be one of {', '.join(map(str, ROUNDS))}")
    return problems


def problems(rows: list[Row]) -> list[str]:
    """Every row problem, duplicate ids, and any source group found on both sides of the split."""
    found = [p for row in rows for p in row_problems(row)]
    dupes = [i for i, n in Counter(r.get("id") for r in rows).items() if n > 1]
    found += [f"{i}: duplicate id" for i in dupes]
    sides: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        sides[row.get("source_group", "?")].add(row.get("split", "?"))
    found += [f"source group {g} is in both train and test" for g, s in sides.items() if len(s) > 1]
    return found


def split_score(rows: list[Row], assign: dict[str, str], target: float) -> float:
    """Lower is better: the test share close to `target`, every category with a quarter of its rows
    (at least six) in test where the fixed sources allow it."""
    total = Counter(r["category"] for r in rows)
    test = Counter(r["category"] for r in rows if assign[r["source_group"]] == "test")
    score = (sum(test.values()) / len(rows) - target) ** 2 * 400
    for category in total:
        score += max(0.0, 0.25 - test[category] / total[category]) ** 2 * 40 + (100 if test[category] < 6 else 0)
    return score


def assign_split(
    rows: list[Row], *, fixed: dict[str, str], target: float = 0.30, seed: int = SEED, tries: int = 20_000
) -> dict[str, str]:
    """Whole source groups to train or test: `fixed` ones as given, the rest by a seeded random search."""
    free = sorted({r["source_group"] for r in rows} - set(fixed))
    rng = random.Random(seed)
    best: tuple[float, dict[str, str]] | None = None
    for _ in range(tries):
        share = rng.uniform(0.45, 0.7)
        assign = dict(fixed) | {g: "test" if rng.random() < share else "train" for g in free}
        score = split_score(rows, assign, target)
        if best is None or score < best[0]:
            best = (score, assign)
    assert best is not None
    return best[1]


def first_round(rows: list[Row]) -> list[Row]:
    """The rows of the first labelling round, which the second labelling samples; later rounds (`round` 2, rows
    added to measure severity; `round` 3, train rows added for the classifier) were labelled by labeller A alone."""
    return [r for r in rows if r.get("round", 1) == 1]


def second_sample(rows: list[Row], *, share: float = SAMPLE_SHARE, seed: int = SEED) -> list[Row]:
    """A seeded sample of at least `share` of each category of the first round, holding only what a second
    labeller may see."""
    rng = random.Random(seed)
    by_category: dict[str, list[Row]] = defaultdict(list)
    for row in sorted(first_round(rows), key=lambda r: r["id"]):
        by_category[row["category"]].append(row)
    picked: list[Row] = []
    for category in CATEGORIES:
        items = by_category[category]
        picked.extend(rng.sample(items, math.ceil(share * len(items))))
    rng.shuffle(picked)
    return [{f: row[f] for f in SAMPLE_FIELDS} for row in picked]


def source_kind(row: Row) -> str:
    return str(row["source"]).split(":", 1)[0]


def stats(rows: list[Row]) -> dict[str, Any]:
    """Counts the README reports."""
    return {
        "rows": len(rows),
        "by_source_kind": dict(Counter(source_kind(r) for r in rows).most_common()),
        "sources": len({r["source"] for r in rows}),
        "source_groups": len({r["source_group"] for r in rows}),
        "by_split": dict(Counter(r["split"] for r in rows)),
        "by_category": {c: dict(Counter(r["split"] for r in rows if r["category"] == c)) for c in CATEGORIES},
        "by_severity": dict(Counter(str(r["severity"]) for r in rows).most_common()),
        "by_severity_and_kind": {
            k: dict(Counter(str(r["severity"]) for r in rows if source_kind(r) == k))
            for k in sorted({source_kind(r) for r in rows})
        },
        "test_source_groups": sorted({r["source_group"] for r in rows if r["split"] == "test"}),
    }


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float:
    """Agreement beyond chance between two labellings of the same items (1 = identical, 0 = chance)."""
    if len(first) != len(second) or not first:
        raise ValueError("kappa needs two labellings of the same, non-empty list of items")
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    counts_a, counts_b = Counter(first), Counter(second)
    expected = sum(counts_a[k] * counts_b[k] for k in counts_a) / (n * n)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def _kappa(pairs: list[tuple[Row, Row]], key: Callable[[Row], Hashable]) -> float:
    return round(cohen_kappa([key(a) for a, _ in pairs], [key(b) for _, b in pairs]), 3)


def agreement(rows: list[Row], second: list[Row]) -> dict[str, Any]:
    """Kappa of a second labelling (rows with id, category, severity) against the corpus labels: the
    category, the severity level where both gave one, and whether a severity was given at all."""
    by_id = {r["id"]: r for r in rows}
    pairs = [(by_id[s["id"]], s) for s in second if s["id"] in by_id]
    both_rated = [(a, b) for a, b in pairs if a.get("severity") and b.get("severity")]
    return {
        "items": len(pairs),
        "category_kappa": _kappa(pairs, lambda r: r["category"]),
        "category_agreement": round(sum(a["category"] == b["category"] for a, b in pairs) / len(pairs), 3),
        "severity_items_both_rated": len(both_rated),
        "severity_kappa": _kappa(both_rated, lambda r: r["severity"]) if both_rated else None,
        "rated_or_null_kappa": _kappa(pairs, lambda r: r.get("severity") is None),
    }


def rule_baseline(rows: list[Row]) -> dict[str, Any]:
    """Category accuracy of the product's keyword rules alone (no similar incidents), by split and category."""
    right: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for row in rows:
        capture = IncidentCreate(title=(row["title"] or row["text"])[:200], description=row["text"])
        hit = classify(capture, []).category.value == row["category"]
        for key in (row["split"], f"{row['split']}:{row['category']}"):
            right[key] += hit
            seen[key] += 1
    return {key: f"{right[key]}/{seen[key]} = {right[key] / seen[key]:.3f}" for key in sorted(seen)}


def write_jsonl(path: Path, rows: list[Row]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    rows = load()
    if command == "check":
        found = problems(rows)
        sys.stderr.write("\n".join(found) + "\n" if found else f"{len(rows)} rows, no problems\n")
        return 1 if found else 0
    if command == "sample":
        write_jsonl(SAMPLE, second_sample(rows))
        return 0
    if command == "baseline":
        result = rule_baseline(rows)
    else:
        result = stats(rows) if command == "stats" else agreement(rows, read_jsonl(Path(argv[1])))
    sys.stdout.write(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
