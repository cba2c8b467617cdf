"""Fresh check sets for the category classifier (`evals/data/failures/fresh41.jsonl`, `fresh42.jsonl`, `fresh43.jsonl`,
`fresh44.jsonl`), scored once.

The test half of `corpus.jsonl` has been read many times while the classifier was designed, so its figure is no
longer an out-of-sample one. A fresh set is a separate file of failure reports quoted from public GitHub threads in
the corpus's row shape, from repositories that appear in no row of `corpus.jsonl`, `labels_B.jsonl`,
`second_sample.jsonl` or an earlier fresh set, labelled by `GUIDE.md` before any decider ran on them. Its split name
(the file's name) is a scored-only split: training (`evals/train_category.py`) refuses its rows, and `postmortem
bench classify --split fresh42` and `postmortem bench severity --split fresh42` score it. `<split>_relabel.jsonl` is
a blind relabelling of a seeded quarter of it. Once a set has been scored it is spent: the next look needs the next
set. `fresh41` was scored once with the model unchanged (accuracy 0.756, 68/90; macro-F1 0.747: its only out-of-sample
figure, `docs/architecture.md`, decision 6); its errors were then read and its rows are training data since
(`TRAINED`: `evals/train_category.py` fits on them, except the rows whose owner has rows in the corpus's test half), so
`--split fresh41` still runs but scores rows the model learned from.

    python -m agent_postmortem.evals.fresh_failures check [SPLIT]       # schema and freshness; exit 1 on a problem
    python -m agent_postmortem.evals.fresh_failures agreement [SPLIT]   # kappa of the blind relabelling
"""

import json
import random
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_postmortem.evals.failure_corpus import CORPUS, HERE, SAMPLE, Row, agreement, read_jsonl, row_problems

LABELS_B = HERE / "labels_B.jsonl"
RELABEL_SHARE = 0.25
_REPO = re.compile(r"https://github\.com/([^/]+/[^/]+)/")


@dataclass(frozen=True)
class FreshSet:
    """One fresh check set: its split name (also its file's name) and the seed of its blind relabelling sample."""

    split: str
    seed: int

    @property
    def path(self) -> Path:
        return HERE / f"{self.split}.jsonl"

    @property
    def relabel(self) -> Path:
        return HERE / f"{self.split}_relabel.jsonl"


# Oldest first: each set must be fresh against every set before it.
FRESH_SETS = (
    FreshSet("fresh41", 41),
    FreshSet("fresh42", 42),
    FreshSet("fresh43", 43),
    FreshSet("fresh44", 44),
)
FRESH_SPLITS = tuple(s.split for s in FRESH_SETS)
# Spent sets: scored once, then read for their errors and trained on (`evals/category_data.py`)
TRAINED = ("fresh41",)


def fresh_set(split: str) -> FreshSet:
    for found in FRESH_SETS:
        if found.split == split:
            return found
    raise ValueError(f"{split!r} is not a fresh split; use {' or '.join(FRESH_SPLITS)}")


def checked_split(split: str, others: Sequence[str]) -> str:
    """`split` if it is one of `others` or a fresh split; otherwise a ValueError naming the splits a command takes."""
    allowed = [*others, *FRESH_SPLITS]
    if split not in allowed:
        raise ValueError(f"--split must be {', '.join(allowed[:-1])} or {allowed[-1]}")
    return split


def repository(url: str) -> str | None:
    """owner/name of a GitHub URL, lower-cased; None for any other source."""
    found = _REPO.match(url or "")
    return found[1].lower() if found else None


def default_corpus(split: str) -> Path:
    """The file that holds `split`: a fresh set's own file, else the labelled corpus."""
    return fresh_set(split).path if split in FRESH_SPLITS else CORPUS


def earlier_rows(split: str) -> list[Row]:
    """Every row a fresh set must not share a report or repository with: the labelled corpus, the second-labelling
    sample and its labels, and every fresh set before `split`."""
    before = FRESH_SPLITS[: FRESH_SPLITS.index(fresh_set(split).split)]
    return [*read_jsonl(CORPUS), *read_jsonl(SAMPLE), *read_jsonl(LABELS_B), *(r for s in before for r in load(s))]


def load(split: str) -> list[Row]:
    return read_jsonl(fresh_set(split).path)


def fresh_problems(fresh: list[Row], earlier: list[Row], split: str) -> list[str]:
    """What keeps `fresh` from being the fresh set `split`: a row problem, another split, a duplicate id, or an id,
    source URL or GitHub repository that an earlier row already has."""
    found = [p for row in fresh for p in row_problems(row, splits=(split,))]
    found += [f"{i}: duplicate id" for i, n in Counter(r.get("id") for r in fresh).items() if n > 1]
    ids = {r.get("id") for r in earlier}
    urls = {str(r["source_url"]) for r in earlier if r.get("source_url")}
    repos = {repository(u) for u in urls} - {None}
    for row in fresh:
        rid, url = row.get("id"), row.get("source_url", "")
        if rid in ids:
            found.append(f"{rid}: id already in an earlier file")
        if url in urls:
            found.append(f"{rid}: source URL already in an earlier file")
        elif repository(url) in repos:
            found.append(f"{rid}: repository {repository(url)} already has an earlier row")
    return found


def relabel_sample(fresh: list[Row], split: str) -> list[str]:
    """The ids of the seeded quarter of the fresh set `split` that was relabelled blind."""
    picks = random.Random(fresh_set(split).seed).sample(range(len(fresh)), round(len(fresh) * RELABEL_SHARE))
    return [fresh[i]["id"] for i in sorted(picks)]


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    try:
        splits = [fresh_set(argv[1]).split] if len(argv) > 1 else list(FRESH_SPLITS)
    except ValueError as error:
        sys.stderr.write(f"{error}\n")
        return 2
    if command == "check":
        found = [p for s in splits for p in fresh_problems(load(s), earlier_rows(s), s)]
        counts = ", ".join(f"{s}: {len(load(s))} rows" for s in splits)
        sys.stderr.write("\n".join(found) + "\n" if found else f"{counts}; no problems\n")
        return 1 if found else 0
    result: dict[str, Any] = {s: agreement(load(s), read_jsonl(fresh_set(s).relabel)) for s in splits}
    sys.stdout.write(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
