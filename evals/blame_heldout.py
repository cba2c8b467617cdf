"""Out-of-set reader probabilities for the rows the rules were never tuned on, made once and cached, so that a way of
combining the reader with the rules can be chosen without retraining (needs the `torch` extra; about an hour on 2 busy
cores):

    nice -n 10 python -m agent_postmortem.evals.blame_heldout

One reader is trained, with the recipe and seed of what ships (evals/train_blame_reader.py `fit`), on every row the
shipped reader trained on except HELD: external_test6, external_test7 and the part-1 quarter (by source hash, the
trainer's folds) of external_train8 and external_train9, the 974 rows the veto was chosen on. It reads the held rows
through torch (the shipped int8 graph agrees with torch on the side of the threshold for 97.6% of rows) and their
probabilities go to CACHE, keyed by set and the sha256 of the sentence. The sealed sets are never read (`rows()`
leaves them out)."""

import hashlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.evals.blameless import DATA
from agent_postmortem.evals.train_blame_reader import SEED, data_hash, fit, probabilities, rows

CACHE = DATA / "blame_reader_heldout.json"
WHOLE = ("external_test6", "external_test7")
QUARTER = ("external_train8", "external_train9")
HELD_FOLD = "part-1"

logger = logging.getLogger(__name__)


def held(row: dict[str, Any]) -> bool:
    return row["set"] in WHOLE or (row["set"] in QUARTER and row["fold"] == HELD_FOLD)


def key(set_name: str, text: str) -> str:
    return f"{set_name}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"


def load_cache(path: Path = CACHE) -> dict[str, float]:
    """{set:sha -> out-of-set probability} of the held rows."""
    return {r["key"]: r["p"] for r in json.loads(path.read_text(encoding="utf-8"))["rows"]}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    data = rows()
    train = [r for r in data if not held(r)]
    test = [r for r in data if held(r)]
    logger.info("training on %d rows, reading %d", len(train), len(test))
    started = time.perf_counter()
    net = fit([r["text"] for r in train], np.array([r["y"] for r in train]))
    p = probabilities(net, [r["text"] for r in test])
    minutes = round((time.perf_counter() - started) / 60, 1)
    out = {
        "how": f"one reader trained by evals/train_blame_reader.py fit (seed {SEED}) on every unsealed row but these, "
        "read through torch; python -m agent_postmortem.evals.blame_heldout",
        "held": {"whole": list(WHOLE), "quarter": list(QUARTER), "fold": HELD_FOLD},
        "trained_on": {"rows": len(train), "sha256": data_hash(train)},
        "minutes": minutes,
        "rows": [
            {"key": key(r["set"], r["text"]), "y": r["y"], "p": round(float(q), 5)}
            for r, q in zip(test, p, strict=True)
        ],
    }
    CACHE.write_text(json.dumps(out, indent=0) + "\n", encoding="utf-8")
    logger.info("%d probabilities in %s (%.1f min)", len(test), CACHE, minutes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
