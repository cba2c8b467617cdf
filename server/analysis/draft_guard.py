"""What makes a draft not an analysis at all, whoever wrote it: placeholders and template echoes, whys that repeat
each other, a root cause or an action item that shares nothing with the incident, identical action items, a root
cause that blames a person. Such a draft is refused before it is stored (service/drafting.py), with these reasons,
so the writer can fix it and send it again; server-side writers get one repair round with them first.

The checks are the eval scorers' (evals/scorers.py) made strict enough to refuse rather than grade: they must pass
every reference analysis of the eval cases (`postmortem bench guard` measures both sides). Pure functions.
"""

import json
import re
from functools import cache
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_postmortem import prompts
from agent_postmortem.analysis.blameless import check_blameless
from agent_postmortem.store.models import AnalysisDraft, Incident

# Template slots a model copied instead of filling: <Title of Incident>, [insert cause], {{root_cause}}, TODO, TBD;
# not a comparison ("attempts < max_attempts and delay > 0": a space after the "<") nor a tag quoted as code (_CODE)
_SLOT = re.compile(
    r"(?<!\w)<[A-Za-z][\w .,/'-]{0,60}(?<!\s)>"
    r"|\[\s*(?:insert|your|fill|add|describe|enter|todo|tbd)\b[^\]]{0,60}\]|\{\{[^}]*\}\}"
    r"|\b(?:TODO|TBD|FIXME|lorem ipsum)\b",
    re.IGNORECASE,
)
_CODE = re.compile(r"`[^`\n]+`")
_WORD = re.compile(r"[a-z][a-z0-9]+|\d{2,}")
_STOP = frozenset(
    "the and for was were been its this that with from not did does why because than then into onto over under "
    "about after before when while which who whom what where there their they them have has had are our out all any "
    "each every more most some such only also very can could would should will may might must one two three".split()
)
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
)


def _stems(text: str) -> set[str]:
    """Content words, cut to five letters so that 'invoice' and 'invoices', 'retry' and 'retrying' meet."""
    return {w[:5] for w in _WORD.findall(text.lower()) if w not in _STOP}


def overlap(a: str, b: str) -> float:
    x, y = _stems(a), _stems(b)
    return len(x & y) / len(x | y) if x and y else 0.0


def incident_text(incident: Incident) -> str:
    fields = [incident.title, incident.description, incident.error_type, incident.error_message, incident.agent]
    fields += [incident.tool, incident.tool_args, incident.model, incident.prompt_excerpt, incident.environment]
    fields += [incident.impact, incident.category.value.replace("_", " ")]
    fields += [e.description for e in incident.timeline]
    return "\n".join(f for f in fields if f)


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


def _placeholders(draft: AnalysisDraft, incident: Incident) -> list[str]:
    source = incident_text(incident)
    found: dict[str, list[str]] = {}
    for where, text in _texts(draft):
        slots = [m.group(0) for m in _SLOT.finditer(_CODE.sub(" ", text)) if m.group(0) not in source]
        if slots:
            found.setdefault(slots[0][:40], []).append(where)
    return [
        f"{_listed(places)} holds a template placeholder ({slot}): write the actual content"
        for slot, places in found.items()
    ][:3]


def _echoes(draft: AnalysisDraft, incident: Incident) -> list[str]:
    source = incident_text(incident)
    copied = [
        where
        for where, text in _texts(draft)
        if any(_copied(text, e) and overlap(e, source) < ECHO for e in example_texts())
    ]
    return [f"{_listed(copied)} copies the prompt's example analysis: analyse this incident instead"] if copied else []


def _copied(text: str, example: str) -> bool:
    """Most of `example` or nearly all of `text` (four words or more) from it: a copy, whole or cut short."""
    mine, theirs = _stems(text), _stems(example)
    return overlap(text, example) >= ECHO or (len(mine) >= 4 and len(mine & theirs) >= 0.8 * len(mine))


def _listed(places: list[str]) -> str:
    return ", ".join(places[:4]) + (f" and {len(places) - 4} more" if len(places) > 4 else "")


def _repeated_whys(draft: AnalysisDraft, incident: Incident) -> list[str]:
    answers = [w.answer for w in draft.whys]
    return [
        f"why {j + 1} repeats why {i + 1}: each why must ask about the answer before it"
        for i in range(len(answers))
        for j in range(i + 1, len(answers))
        if overlap(answers[i], answers[j]) >= REPEAT
    ][:2]


def _chain(draft: AnalysisDraft) -> list[str]:
    return [*(w.answer for w in draft.whys), *(f"{f.factor} {f.effect}" for f in draft.contributing_factors)]


def _root_cause_ungrounded(draft: AnalysisDraft, incident: Incident) -> list[str]:
    """A root cause tied to nothing: no word of the incident, none of the whys that lead to it. (An investigation
    may find a cause the capture never named, but then the whys lead there.)"""
    if _stems(draft.root_cause) & _stems("\n".join([incident_text(incident), *_chain(draft)])):
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
    source = _stems(incident_text(incident)) | _stems(" ".join(chain))
    loose = [f"action item {n}" for n, a in enumerate(draft.action_items, 1) if not _stems(a.title) & source]
    return [f"{_listed(loose)}: nothing to do with the incident or its cause; propose a fix for it"] if loose else []


def _repeated_items(draft: AnalysisDraft, incident: Incident) -> list[str]:
    titles = [a.title for a in draft.action_items]
    pairs = [(i, j) for i in range(len(titles)) for j in range(i + 1, len(titles))]
    same = [(i, j) for i, j in pairs if titles[i].lower() == titles[j].lower() or overlap(titles[i], titles[j]) >= 0.9]
    return [f"action items {i + 1} and {j + 1} are the same: propose distinct actions" for i, j in same][:2]


def _blaming(draft: AnalysisDraft, incident: Incident) -> list[str]:
    found = check_blameless(draft.root_cause).findings
    if not found:
        return []
    return [f"the root cause blames a person ({found[0].rule}): say what in the system allowed it"]


_RUN = {
    "placeholders": _placeholders,
    "template_echo": _echoes,
    "distinct_whys": _repeated_whys,
    "root_cause_grounded": _root_cause_ungrounded,
    "items_grounded": _items_ungrounded,
    "distinct_items": _repeated_items,
    "blameless_root_cause": _blaming,
}


def check_draft(draft: AnalysisDraft, incident: Incident) -> Verdict:
    """Every check on a draft written for `incident`: which passed, and what the others found."""
    passed, problems = [], []
    for name in CHECKS:
        found = _RUN[name](draft, incident)
        problems += found
        if not found:
            passed.append(name)
    return Verdict(passed=passed, problems=problems)


def guard_problems(draft: AnalysisDraft, incident: Incident) -> list[str]:
    """Why a draft is not an analysis (empty: it is one). Each reason says what to fix, for a repair round."""
    return check_draft(draft, incident).problems


def refusal(problems: list[str]) -> str:
    """The message that refuses a draft: every reason, and what to do."""
    return (
        f"this draft is not an analysis yet, so it was not stored: {'; '.join(problems[:10])}. "
        "Fix these and send the whole analysis again"
    )


def guarded(incident: Incident) -> type[AnalysisDraft]:
    """AnalysisDraft (same name, same JSON schema) whose validation also runs the guard for `incident`: a writer that
    validates its answer against it (every LLM backend does, with one repair round) gets the guard's reasons as
    validation errors, and repairs them in that same round."""

    class GuardedDraft(AnalysisDraft):
        __doc__ = AnalysisDraft.__doc__  # the schema's description, as the writer sees it
        model_config = ConfigDict(title="AnalysisDraft")

        @model_validator(mode="after")
        def _is_an_analysis(self) -> Self:
            found = guard_problems(self, incident)
            if found:
                raise ValueError(f"not an analysis yet: {'; '.join(found)}")
            return self

    GuardedDraft.__name__ = GuardedDraft.__qualname__ = AnalysisDraft.__name__
    return GuardedDraft
