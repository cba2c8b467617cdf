"""How good the rule-based rewrites of blaming sentences are: on a set's blaming sentences (rules only,
`check_blameless(text)`), how many findings fall back to the generic question, how many get a templated question
instead of a rewrite, and how many rewrites still blame (a blame span in the rewrite, a first or second person
pronoun, or the finding's person named).

    python -m agent_postmortem.evals.blame_rewrites external_train9 [--show N]
"""

import argparse
import json
import random
import re
import sys
from typing import Any

from agent_postmortem.analysis.blame import BlameSpan, detect
from agent_postmortem.analysis.blame_learned import GENERIC
from agent_postmortem.analysis.blame_rewrite import TEMPLATED
from agent_postmortem.analysis.blameless import check_blameless
from agent_postmortem.evals.blameless import SEALED, SETS, UNSCORED, load

_PRONOUN = re.compile(r"\b(?:I|me|my|we|our|you|your)\b", re.IGNORECASE)


def still_blames(rewrite: str, span: BlameSpan) -> bool:
    """A blame span, a first or second person pronoun, or the finding's person in the rewrite."""
    agent = span.agent.strip()
    named = bool(agent) and re.search(r"(?<!\w)" + re.escape(agent) + r"(?!\w)", rewrite, re.IGNORECASE) is not None
    return bool(detect(rewrite)) or bool(_PRONOUN.search(rewrite)) or named


def rewrites(name: str) -> list[tuple[str, BlameSpan, str]]:
    """(sentence, span, rewrite) for every rule finding in the set's blaming sentences."""
    if name in SEALED or name in UNSCORED:
        raise ValueError(f"{name} is sealed or not yet scored: only the blameless bench scores it")
    path, split = SETS[name]
    out = []
    for row in load(path, split):
        if not row["blaming"]:
            continue
        spans, report = detect(row["text"]), check_blameless(row["text"])
        out += [(row["text"], s, f.suggestion) for s, f in zip(spans, report.findings, strict=True)]
    return out


def figures(found: list[tuple[str, BlameSpan, str]]) -> dict[str, Any]:
    return {
        "findings": len(found),
        "generic": sum(r == GENERIC for _, _, r in found),
        "templated": sum(any(t in r for t in TEMPLATED) for _, _, r in found),
        "still_blaming": sum(still_blames(r, s) for _, s, r in found),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", choices=[s for s in SETS if s not in (*SEALED, *UNSCORED)])
    parser.add_argument("--show", type=int, default=0, help="also print N random rewrites of the first set")
    args = parser.parse_args(argv)
    found = {name: rewrites(name) for name in args.sets}
    sys.stdout.write(json.dumps({name: figures(f) for name, f in found.items()}, indent=1) + "\n")
    for sentence, _, rewrite in random.Random(0).sample(found[args.sets[0]], min(args.show, len(found[args.sets[0]]))):
        sys.stdout.write(f"\n- {sentence}\n  -> {rewrite}\n")


if __name__ == "__main__":
    main()
