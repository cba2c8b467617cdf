"""Round 11's rule for rule additions, measured: a snapshot of what the rules flag before a change, compared with
what they flag after it (no stash, no second checkout: the snapshot is a file).

    python -m agent_postmortem.evals.blame_round11 --save before.json   # with the rules before the change
    python -m agent_postmortem.evals.blame_round11 --compare before.json  # after it

The rows, as in round 10 (evals/blame_round10.py): Q, the held quarter of external_train8 + external_train9 (645
rows whose misses have never been read), C = external_test6 + external_test7, what ships on them taken with the
cached out-of-set reader probabilities (evals/data/blame_reader_heldout.json: p >= 0.98, or a rule hit not vetoed);
test10 with the shipped reader (`check_blameless(text, reader=...)`, what ships) and the rules alone; and the
project's own 6,560 sentences (evals/data/failures, evals/cases), rules alone. A change is kept only if on Q it loses
no recall and at most 0.01 precision and it newly flags none of the project's own sentences. Q's and C's newly
flagged rows are counted (and how many blame), never printed; test10's and the own text's are listed.
"""

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.evals.blame_heldout import CACHE, QUARTER, WHOLE, held, key, load_cache
from agent_postmortem.evals.blame_round9 import baseline
from agent_postmortem.evals.blame_round9 import features as round9_features
from agent_postmortem.evals.blame_round10 import own_sentences
from agent_postmortem.evals.blame_threshold import rates
from agent_postmortem.evals.blameless import EXTERNAL, load
from agent_postmortem.evals.train_blame_reader import rows


def snapshot() -> dict[str, Any]:
    """Per set, the flag of every row (what ships and rules alone) and its label; the own text's rule hits."""
    from agent_postmortem.analysis.blame import detect
    from agent_postmortem.analysis.blame_reader import shipped
    from agent_postmortem.analysis.blameless import check_blameless

    data = [r for r in rows() if held(r)]
    cached = load_cache(CACHE)
    p = np.array([cached[key(r["set"], r["text"])] for r in data])
    f = round9_features(data)
    ships = baseline(p, f)
    out: dict[str, Any] = {}
    for name, sets in (("Q", QUARTER), ("C", WHOLE)):
        on = np.isin([r["set"] for r in data], sets)
        out[name] = {"y": [r["y"] for r, o in zip(data, on, strict=True) if o],
                     "ships": ships[on].tolist(), "rules": f["rules"][on].tolist()}  # fmt: skip
    fresh = load(EXTERNAL, "test10")
    reader = shipped()
    out["test10"] = {"y": [int(r["blaming"]) for r in fresh], "text": [r["text"] for r in fresh],
                     "ships": [not check_blameless(r["text"], reader=reader).blameless for r in fresh],
                     "rules": [bool(detect(r["text"])) for r in fresh]}  # fmt: skip
    out["own"] = sorted(s for s in set(own_sentences()) if detect(s))
    return out


def compare(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name in ("Q", "C", "test10"):
        y = np.array(after[name]["y"])
        entry: dict[str, Any] = {}
        for way in ("ships", "rules"):
            old, new = np.array(before[name][way]), np.array(after[name][way])
            added = new & ~old
            entry[way] = {
                "before": rates(old, y),
                "after": rates(new, y),
                "newly_flagged": int(added.sum()),
                "of_them_blaming": int((added & (y == 1)).sum()),
                "unflagged": int((old & ~new).sum()),
            }
            if name == "test10":
                entry[way]["new"] = [t for t, o, n in zip(after[name]["text"], old, new, strict=True) if n and not o]
        result[name] = entry
    q = result["Q"]["ships"]
    result["own_newly_flagged"] = sorted(set(after["own"]) - set(before["own"]))
    result["kept"] = (
        q["after"]["recall"] >= q["before"]["recall"]
        and q["after"]["precision"] >= q["before"]["precision"] - 0.01
        and not result["own_newly_flagged"]
    )
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("--save", "--compare"):
        print("usage: python -m agent_postmortem.evals.blame_round11 --save|--compare FILE", file=sys.stderr)
        return 2
    now = snapshot()
    if args[0] == "--save":
        Path(args[1]).write_text(json.dumps(now), encoding="utf-8")
        print(f"{len(now['own'])} own sentences flagged; saved to {args[1]}", file=sys.stderr)
        return 0
    print(json.dumps(compare(json.loads(Path(args[1]).read_text(encoding="utf-8")), now), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
