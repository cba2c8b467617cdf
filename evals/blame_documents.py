"""Does the blameless check call a sentence the same inside a document as alone? (`postmortem bench blame-documents`)

The labelled sets are single sentences; drafts and post-mortems are documents. Each labelled sentence that is not
sealed is put into a document around it (under a heading, as a list item, as a line of a plain list, as a table cell,
in a paragraph hard-wrapped at 40 and at 60 columns), and the check's call on the sentence there (any finding that
overlaps it) is compared with its call on the sentence alone. Labels are not needed for the count; they say whether a
change lost a blaming sentence or gained one that blames no one.
"""

import random
import textwrap
from collections.abc import Callable
from typing import Any

from agent_postmortem.analysis.blameless import BlamelessReport, check_blameless
from agent_postmortem.evals.blameless import SEALED, SETS, UNSCORED, load

_INTRO = "Notes from the review.\n"
# Each shape: (what comes before the sentence, the sentence as the document holds it, what comes after).
SHAPES: dict[str, Callable[[str], tuple[str, str, str]]] = {
    "under a heading": lambda s: ("# Incident review\n", s, "\n"),
    "a list item": lambda s: ("- The alert fired at 09:14.\n- ", s, "\n"),
    "a line of a plain list": lambda s: ("The alert fired at 09:14\n", s, "\nService restored at 10:42\n"),
    "a table cell": lambda s: ("| when | what |\n| --- | --- |\n| 09:14 | ", s, " |\n"),
    "wrapped at 40 columns": lambda s: (_INTRO, textwrap.fill(s, 40), "\n"),
    "wrapped at 60 columns": lambda s: (_INTRO, textwrap.fill(s, 60), "\n"),
}


def _called(report: BlamelessReport, start: int, end: int) -> bool:
    return any(f.start < end and start < f.end for f in report.findings)


def run(
    rows: list[dict[str, Any]] | None = None, *, check: Callable[[str], BlamelessReport] = check_blameless
) -> dict[str, Any]:
    """Per shape: the sentences whose call changed, and of those the blaming ones lost and the others gained."""
    rows = rows if rows is not None else sentences()
    alone = [_called(check(r["text"]), 0, len(r["text"])) for r in rows]
    result: dict[str, Any] = {"sentences": len(rows)}
    for shape, build in SHAPES.items():
        lost = gained = changed = 0
        for r, before in zip(rows, alone, strict=True):
            before_it, held, after_it = build(r["text"])
            start = len(before_it)
            if _called(check(before_it + held + after_it), start, start + len(held)) != before:
                changed += 1
                lost += before and r["blaming"]
                gained += not before and not r["blaming"]
        result[shape] = {"changed": changed, "blaming_lost": lost, "not_blaming_gained": gained}
    return result


def sentences(sample: int | None = None, seed: int = 7) -> list[dict[str, Any]]:
    """The labelled sentences of every set but the sealed and unscored ones (a seeded sample of `sample` when given)."""
    rows = [r for name, (path, split) in SETS.items() if name not in (*SEALED, *UNSCORED) for r in load(path, split)]
    return random.Random(seed).sample(rows, sample) if sample and sample < len(rows) else rows
