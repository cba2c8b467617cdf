"""One named set scored the way `postmortem bench blameless` scores every set (`run` in evals/blameless.py, with the
shipped reader): the rules alone, the reader with the rules (what ships) and the rules before #18, precision and
recall with Wilson 95% intervals. The bench prints every set, the sealed ones too; this scores only the set named
and refuses a sealed one, so a fresh split can be measured without reading anything else:

    python -m agent_postmortem.evals.blame_fresh test10            # figures (a minute or less)
    python -m agent_postmortem.evals.blame_fresh test10 --errors   # and the sentences missed or wrongly flagged
"""

import json
import sys
from typing import Any

from agent_postmortem.evals.blameless import SEALED, SETS, run


def set_name(name: str) -> str:
    """The bench's name of a set (`test10` is `external_test10`); a sealed or an unknown set is refused."""
    full = name if name in SETS else f"external_{name}"
    if full in SEALED:
        raise ValueError(f"{name} is sealed: it is scored once, by the bench itself, not here")
    if full not in SETS:
        raise ValueError(f"no set {name}: one of {', '.join(s for s in SETS if s not in SEALED)}")
    return full


def score(name: str, *, errors: bool = False) -> dict[str, Any]:
    from agent_postmortem.analysis.blame_reader import shipped

    full = set_name(name)
    result = run({full: SETS[full]}, reader=shipped())[full]
    if not errors:
        for way in ("rules", "reader_and_rules", "legacy_rules"):
            result[way].pop("errors")
    return {full: result}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    names = [a for a in args if a != "--errors"]
    if len(names) != 1:
        print("usage: python -m agent_postmortem.evals.blame_fresh SET [--errors]", file=sys.stderr)
        return 2
    try:
        result = score(names[0], errors="--errors" in args)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
