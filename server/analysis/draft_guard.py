"""What makes a draft not an analysis at all, whoever wrote it: placeholders and template echoes, whys that repeat
each other, a root cause or an action item that shares nothing with the incident, identical action items, a root
cause that blames a person. Such a draft is refused before it is stored (service/drafting.py), with these reasons,
so the writer can fix it and send it again; server-side writers get one repair round with them first.

The checks are the eval scorers' (evals/scorers.py) made strict enough to refuse rather than grade: they must pass
every reference analysis of the eval cases (`postmortem bench guard` measures both sides). Pure functions.
"""

import json
import re
from collections.abc import Sequence
from functools import cache
from textwrap import shorten
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_postmortem import prompts
from agent_postmortem.analysis.blameless import check_blameless
from agent_postmortem.analysis.draft_relevance import RELEVANCE_MODEL as RELEVANCE_MODEL  # read from here by
from agent_postmortem.analysis.draft_relevance import Similarity as Similarity  # service/drafting.py, evals/guard.py
from agent_postmortem.analysis.draft_relevance import chain, incident_text, overlap, stems, unrelated
from agent_postmortem.store.models import AnalysisDraft, Incident
from agent_postmortem.store.redact import redact

# Template slots a model copied instead of filling: <Title of Incident>, [insert cause], {{root_cause}}, TODO, TBD;
# not a comparison ("attempts < max_attempts and delay > 0": a space after the "<") nor a tag quoted as code (_CODE).
# A bracketed name or a bare TODO/TBD is a slot only where it stands for the content (_stands_for_content).
_SLOT = re.compile(
    r"(?P<tag>(?<!\w)<[A-Za-z][\w .,/'-]{0,60}(?<!\s)>)"
    r"|\[\s*(?:insert|your|fill|add|describe|enter|todo|tbd)\b[^\]]{0,60}\]|\{\{[^}]*\}\}|\blorem ipsum\b"
    r"|(?P<bare>\b(?:TODO|TBD|FIXME)\b)",
    re.IGNORECASE,
)
# Words that name a part of an analysis or a template's slot: <Title>, <Question-Text>, <Data_1>, <cause>
_SLOT_NAMES = frozenset(
    "title name question answer description summary cause reason factor effect fix action item address detail "
    "details data context text incident report id value example placeholder content here".split()
)
_CODE = re.compile(r"`[^`\n]+`")
REPEAT = 0.8  # word overlap (Jaccard) at which two whys, or two action items, say the same thing
ECHO = 0.7  # word overlap with the prompt's example analysis at which a text was copied from it


class Verdict(BaseModel):
    """A guard's verdict, kept on the stored analysis: the checks it ran and what they found (empty: none)."""

    passed: list[str] = Field(description="the checks the draft passed")
    problems: list[str] = Field(default_factory=list, description="what a check found (a refused draft is not stored)")


CHECKS = (
    "placeholders",
    "template_echo",
    "distinct_whys",
    "root_cause_grounded",
    "items_grounded",
    "distinct_items",
    "blameless_root_cause",
    "relevant",
)


@cache
def example_texts() -> tuple[str, ...]:
    """The texts of the example analysis the system prompt shows: a draft that repeats them copied the template."""
    system = prompts.render("draft_analysis_system", nonce="0")
    start = system.find('{"whys"')
    if start < 0:
        return ()
    example, _ = json.JSONDecoder().raw_decode(system, start)
    texts = [w["answer"] for w in example["whys"]] + [example["root_cause"]]
    texts += [a["title"] for a in example["action_items"]] + [h["cause"] for h in example.get("hypotheses", [])]
    return tuple(texts)


def _texts(draft: AnalysisDraft) -> list[tuple[str, str]]:
    named = [(f"why {n}", f"{w.question} {w.answer}") for n, w in enumerate(draft.whys, 1)]
    named.append(("the root cause", draft.root_cause))
    named += [(f"factor {n}", f"{f.factor} {f.effect}") for n, f in enumerate(draft.contributing_factors, 1)]
    named += [(f"action item {n}", f"{a.title} {a.addresses}") for n, a in enumerate(draft.action_items, 1)]
    named += [(f"hypothesis {n}", h.cause) for n, h in enumerate(draft.hypotheses, 1)]
    return named


def _fields(draft: AnalysisDraft) -> list[tuple[str, str]]:
    """Each field a writer filled, named by where it sits (a why's question and answer are both "why n")."""
    named = [(f"why {n}", t) for n, w in enumerate(draft.whys, 1) for t in (w.question, w.answer)]
    named.append(("the root cause", draft.root_cause))
    named += [(f"factor {n}", t) for n, f in enumerate(draft.contributing_factors, 1) for t in (f.factor, f.effect)]
    named += [(f"action item {n}", t) for n, a in enumerate(draft.action_items, 1) for t in (a.title, a.addresses)]
    named += [(f"hypothesis {n}", h.cause) for n, h in enumerate(draft.hypotheses, 1)]
    return named


def _stands_for_content(slot: re.Match[str], field: str) -> bool:
    """A bracketed phrase ("<root cause here>"), a bracketed slot name ("<Title>", "<Data_1>"), or a bare TODO/TBD
    or a tag with next to nothing around it, stands for the content; a tag named in a sentence ("the <think> block
    leaked into the answer") or a TBD inside one ("(what 'high' is TBD)") is a mention, not a slot."""
    rest = stems(field[: slot.start()] + " " + field[slot.end() :])
    if slot.group("tag"):
        inner = slot.group(0)[1:-1]
        words = set(re.split(r"[\s_.,/'-]+", inner.lower())) - {""}
        return " " in inner.strip() or bool(words & _SLOT_NAMES) or len(rest) < 3
    return not slot.group("bare") or len(rest) < 3


def _placeholders(draft: AnalysisDraft, incident: Incident) -> list[str]:
    source = incident_text(incident)
    found: dict[str, list[str]] = {}
    for where, field in _fields(draft):
        text = _CODE.sub(" ", field)
        slots = [m for m in _SLOT.finditer(text) if m.group(0) not in source and _stands_for_content(m, text)]
        if slots and where not in found.get(slots[0].group(0)[:40], []):
            found.setdefault(slots[0].group(0)[:40], []).append(where)
    return [
        f"{_listed(places)} {_verb(places, 'holds', 'hold')} a template placeholder ({slot}): write the actual "
        "content" + (f" (a tag meant literally goes in backticks: `{slot}`)" if slot.startswith("<") else "")
        for slot, places in found.items()
    ][:3]


def _echoes(draft: AnalysisDraft, incident: Incident) -> list[str]:
    source = incident_text(incident)
    copied = [
        where
        for where, text in _texts(draft)
        if any(_copied(text, e) and overlap(e, source) < ECHO for e in example_texts())
    ]
    if not copied:
        return []
    verb = _verb(copied, "copies", "copy")
    return [f"{_listed(copied)} {verb} the prompt's example analysis: analyse this incident instead"]


def _copied(text: str, example: str) -> bool:
    """Most of `example` or nearly all of `text` (four words or more) from it: a copy, whole or cut short."""
    mine, theirs = stems(text), stems(example)
    return overlap(text, example) >= ECHO or (len(mine) >= 4 and len(mine & theirs) >= 0.8 * len(mine))


def _listed(places: list[str]) -> str:
    """ "why 1", "why 1 and why 2", "why 1, why 2 and why 3", "why 1, why 2, why 3, why 4 and 3 more"."""
    shown = places if len(places) <= 5 else [*places[:4], f"{len(places) - 4} more"]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _verb(places: list[str], one: str, several: str) -> str:
    return one if len(places) == 1 else several


def _repeated_whys(draft: AnalysisDraft, incident: Incident) -> list[str]:
    answers = [w.answer for w in draft.whys]
    return [
        f"why {j + 1} repeats why {i + 1}: each why must ask about the answer before it"
        for i in range(len(answers))
        for j in range(i + 1, len(answers))
        if overlap(answers[i], answers[j]) >= REPEAT
    ][:2]


def _root_cause_ungrounded(draft: AnalysisDraft, incident: Incident) -> list[str]:
    """A root cause tied to nothing: no word of the incident, none of the whys that lead to it. (An investigation
    may find a cause the capture never named, but then the whys lead there.)"""
    if stems(draft.root_cause) & stems("\n".join([incident_text(incident), *chain(draft)])):
        return []
    return ["the root cause shares no word with the incident or the whys: name what in this incident went wrong"]


def _items_ungrounded(draft: AnalysisDraft, incident: Incident) -> list[str]:
    """Items that share no word with the incident nor with the analysis' own causal chain (a discount for a rate
    limit); a vague item that names a cause the whys found passes (the review warnings and the scorers grade it)."""
    chain = [
        draft.root_cause,
        *(w.answer for w in draft.whys),
        *(f"{f.factor} {f.effect}" for f in draft.contributing_factors),
    ]
    source = stems(incident_text(incident)) | stems(" ".join(chain))
    loose = [f"action item {n}" for n, a in enumerate(draft.action_items, 1) if not stems(a.title) & source]
    return [f"{_listed(loose)}: nothing to do with the incident or its cause; propose a fix for it"] if loose else []


def _repeated_items(draft: AnalysisDraft, incident: Incident) -> list[str]:
    titles = [a.title for a in draft.action_items]
    pairs = [(i, j) for i in range(len(titles)) for j in range(i + 1, len(titles))]
    same = [(i, j) for i, j in pairs if titles[i].lower() == titles[j].lower() or overlap(titles[i], titles[j]) >= 0.9]
    return [f"action items {i + 1} and {j + 1} are the same: propose distinct actions" for i, j in same][:2]


def _blaming(draft: AnalysisDraft, incident: Incident) -> list[str]:
    """The blaming phrase is quoted and its systemic rewrite offered: in a long root cause the writer (a model in its
    repair round, an assistant, a person reading the CLI's error) cannot otherwise tell which words to change."""
    found = check_blameless(redact(draft.root_cause)).findings  # its words are quoted back: never a secret they held
    if not found:
        return []
    first = found[0]
    phrase = shorten(first.text, 80, placeholder="...")
    rewrite = shorten(first.suggestion, 240, placeholder="...")
    return [
        f"the root cause blames a person ({phrase!r}: {first.rule}): say what in the system allowed it, "
        f"for example {rewrite!r}"
    ]


_RUN = {
    "placeholders": _placeholders,
    "template_echo": _echoes,
    "distinct_whys": _repeated_whys,
    "root_cause_grounded": _root_cause_ungrounded,
    "items_grounded": _items_ungrounded,
    "distinct_items": _repeated_items,
    "blameless_root_cause": _blaming,
}


def check_draft(
    draft: AnalysisDraft,
    incident: Incident,
    similarity: Similarity | None = None,
    neighbours: Sequence[Incident] = (),
) -> Verdict:
    """Every check on a draft written for `incident`: which passed, and what the others found. Whether it is about
    this incident at all ("relevant") needs `similarity` (without it that check is not run), and with the incident's
    `neighbours` in the store (its most similar incidents) also refuses an analysis that reads as one of theirs."""
    passed, problems = [], []
    for name in CHECKS:
        if name != "relevant":
            found = _RUN[name](draft, incident)
        elif similarity is not None:
            found = unrelated(draft, incident, similarity, neighbours)
        else:
            continue
        problems += found
        if not found:
            passed.append(name)
    return Verdict(passed=passed, problems=problems)


def guard_problems(
    draft: AnalysisDraft,
    incident: Incident,
    similarity: Similarity | None = None,
    neighbours: Sequence[Incident] = (),
) -> list[str]:
    """Why a draft is not an analysis (empty: it is one). Each reason says what to fix, for a repair round."""
    return check_draft(draft, incident, similarity, neighbours).problems


def refusal(problems: list[str]) -> str:
    """The message that refuses a draft: every reason, and what to do."""
    return (
        f"this draft is not an analysis yet, so it was not stored: {'; '.join(problems[:10])}. "
        "Fix these and send the whole analysis again"
    )


def guarded(
    incident: Incident, similarity: Similarity | None = None, neighbours: Sequence[Incident] = ()
) -> type[AnalysisDraft]:
    """AnalysisDraft (same name, same JSON schema) whose validation also runs the guard for `incident`: a writer that
    validates its answer against it (every LLM backend does, with one repair round) gets the guard's reasons as
    validation errors, and repairs them in that same round."""

    class GuardedDraft(AnalysisDraft):
        __doc__ = AnalysisDraft.__doc__  # the schema's description, as the writer sees it
        model_config = ConfigDict(title="AnalysisDraft")

        @model_validator(mode="after")
        def _is_an_analysis(self) -> Self:
            found = guard_problems(self, incident, similarity, neighbours)
            if found:
                raise ValueError(f"not an analysis yet: {'; '.join(found)}")
            return self

    GuardedDraft.__name__ = GuardedDraft.__qualname__ = AnalysisDraft.__name__
    return GuardedDraft
