"""A fresh check set for the category classifier (`evals/data/failures/fresh41.jsonl`): scored once, trained on since.

The test half of `corpus.jsonl` has been read many times while the classifier was designed, so its figure is no
longer an out-of-sample one. `fresh41` is a separate file of failure reports quoted from public GitHub threads in
the corpus's row shape, from repositories that appear in no row of `corpus.jsonl`, `labels_B.jsonl` or
`second_sample.jsonl`, labelled by `GUIDE.md` before any decider ran on them. It was scored-only until its one
scoring, with the model unchanged: accuracy 0.756 (68/90), macro-F1 0.747 (`docs/architecture.md`, decision 6). That
is its out-of-sample figure. Its errors were then read, and its rows are training data since: `evals/train_category.py`
fits on them (except the rows whose owner has rows in the corpus's test half), so `postmortem bench classify --split
fresh41` and `postmortem bench severity --split fresh41` still run but now score rows the model learned from.
`fresh41_relabel.jsonl` is a blind relabelling of a seeded quarter of it.

    python -m agent_postmortem.evals.fresh_failures check        # schema and freshness; exit 1 on a problem
    python -m agent_postmortem.evals.fresh_failures agreement    # kappa of the blind relabelling
"""

import json
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from agent_postmortem.evals.failure_corpus import CORPUS, HERE, SAMPLE, Row, agreement, read_jsonl, row_problems

FRESH_SPLIT = "fresh41"
FRESH = HERE / "fresh41.jsonl"
RELABEL = HERE / "fresh41_relabel.jsonl"
LABELS_B = HERE / "labels_B.jsonl"
RELABEL_SHARE = 0.25
RELABEL_SEED = 41
_REPO = re.compile(r"https://github\.com/([^/]+/[^/]+)/")


def repository(url: str) -> str | None:
    """owner/name of a GitHub URL, lower-cased; None for any other source."""
    found = _REPO.match(url or "")
    return found[1].lower() if found else None


def default_corpus(split: str) -> Path:
    """The file that holds `split`: the fresh check set's own file, else the labelled corpus."""
    return FRESH if split == FRESH_SPLIT else CORPUS


def earlier_rows() -> list[Row]:
    """Every row of the labelled corpus, the second-labelling sample and its labels (ids and URLs)."""
    return [*read_jsonl(CORPUS), *read_jsonl(SAMPLE), *read_jsonl(LABELS_B)]


def fresh_problems(fresh: list[Row], earlier: list[Row]) -> list[str]:
    """What keeps `fresh` from being fresh: a row problem, a split other than fresh41, a duplicate id, or an id,
    source URL or GitHub repository that an earlier row already has."""
    found = [p for row in fresh for p in row_problems(row, splits=(FRESH_SPLIT,))]
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


def relabel_sample(fresh: list[Row]) -> list[str]:
    """The ids of the seeded quarter that was relabelled blind."""
    picks = random.Random(RELABEL_SEED).sample(range(len(fresh)), round(len(fresh) * RELABEL_SHARE))
    return [fresh[i]["id"] for i in sorted(picks)]


def main(argv: list[str]) -> int:
    fresh = read_jsonl(FRESH)
    if (argv[0] if argv else "check") == "check":
        found = fresh_problems(fresh, earlier_rows())
        sys.stderr.write("\n".join(found) + "\n" if found else f"{len(fresh)} fresh rows, no problems\n")
        return 1 if found else 0
    result: dict[str, Any] = agreement(fresh, read_jsonl(RELABEL))
    sys.stdout.write(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
