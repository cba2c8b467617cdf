"""`postmortem bench blameless`: precision and recall of `check_blameless` on labelled sentences.

Two sets ship in evals/data: `blameless_sentences.jsonl` (the development set the rules were written
against) and `blameless_heldout.jsonl` (written afterwards and not tuned on). Report both.
"""

import json
from pathlib import Path
from typing import Any

from agent_postmortem.analysis.blameless import check_blameless

DATA = Path(__file__).parent / "data"
SETS = {"development": DATA / "blameless_sentences.jsonl", "held_out": DATA / "blameless_heldout.jsonl"}


def score(path: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    tp = fp = fn = 0
    misses: list[str] = []
    for row in rows:
        flagged = not check_blameless(row["text"]).blameless
        tp += flagged and row["blaming"]
        fp += flagged and not row["blaming"]
        fn += (not flagged) and row["blaming"]
        if flagged != row["blaming"]:
            misses.append(("false positive: " if flagged else "missed: ") + row["text"])
    return {
        "sentences": len(rows),
        "blaming": sum(r["blaming"] for r in rows),
        "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "recall": round(tp / (tp + fn), 3) if tp + fn else None,
        "errors": misses,
    }


def run() -> dict[str, Any]:
    return {name: score(path) for name, path in SETS.items()}
