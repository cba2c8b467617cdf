"""Checks on a drafted analysis, whoever wrote it (an LLM, the client's model, the assistant): citations limited
to the incidents that were in its context, whys that go deeper, a systemic root cause, action items tied to a
cause. Pure functions; the service applies them before storing a draft.
"""

import re
from functools import cache
from typing import Any

from pydantic import BaseModel

from agent_postmortem.analysis.blameless import check_blameless
from agent_postmortem.store.models import AnalysisDraft

# An incident id as a draft writes it: `INC-42`, `inc 42`, `INC42`, or with the typographic dash some models write
# (`INC‑42`, a non-breaking hyphen; an en dash), which is the same id to a reader and to every id argument.
CITATION = re.compile(r"\bINC[-\u2010-\u2014\u2212\ufe63\uff0d]?\s?(\d{1,12})\b", re.IGNORECASE)
REMOVED = "[reference removed]"
PARAPHRASE = 0.6  # word overlap (Jaccard) above which a why's answer restates the previous one
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the of to in on for and or but is was were be been it its this that with by as at from not no did "
    "does do why because so than then".split()
)


# What a claim can be checked against the incident by: an identifier (`pool_size`, `db.conf`, `v2.5`) or a number of
# two digits or more. Not what is only written like one: an abbreviation ("e.g.", "i.e.", "9 a.m."), "24/7", or a
# name of the analysis' own schema (an item that `addresses` the "root_cause"): any text says those (_COMMON).
_IDENT = re.compile(r"\b[a-z][a-z0-9]*(?:[._][a-z0-9]+)+\b|\b\d{2,}\b", re.IGNORECASE)
_COMMON = re.compile(r"\b(?:e\.g|i\.e|a\.m|p\.m|u\.s|n\.b|cf)\b\.?|\b24/7\b", re.IGNORECASE)


class Grounded(BaseModel):
    draft: AnalysisDraft
    cited: list[str]
    removed_citations: list[str]
    warnings: list[str]


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def overlap(a: str, b: str) -> float:
    x, y = _words(a), _words(b)
    return len(x & y) / len(x | y) if x and y else 0.0


@cache
def _schema_names() -> frozenset[str]:
    """The field names of the analysis schema and of its parts (whys, factors, items, hypotheses)."""
    schema = AnalysisDraft.model_json_schema()
    models = [schema, *schema.get("$defs", {}).values()]
    return frozenset(name.lower() for model in models for name in model.get("properties", {}))


def specifics(text: str) -> set[str]:
    """The identifiers and numbers of `text` that a reader could check against the incident (lower-cased), but
    for incident ids (citations, held to the context instead) and what only looks like one (_COMMON)."""
    plain = _COMMON.sub(" ", CITATION.sub(" ", text))
    return {m.group(0).lower() for m in _IDENT.finditer(plain)} - _schema_names()


def limit_citations(draft: AnalysisDraft, allowed: set[str]) -> tuple[AnalysisDraft, list[str], list[str]]:
    """Remove every incident id the draft cites that was not in its context; (draft, cited, removed)."""
    cited: list[str] = []
    removed: list[str] = []

    def scrub(text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            ref = f"INC-{int(match.group(1))}"
            if ref in allowed:
                cited.append(ref)
                return ref
            removed.append(ref)
            return REMOVED

        return CITATION.sub(replace, text)

    data = _map_strings(draft.model_dump(), scrub)
    return AnalysisDraft.model_validate(data), list(dict.fromkeys(cited)), list(dict.fromkeys(removed))


def _map_strings(value: Any, fn: Any) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    return value


def causes_of(root_cause: str, factors: list[tuple[str, str]]) -> list[str]:
    return [root_cause, *(f for f, _ in factors), *(e for _, e in factors)]


def addresses_a_cause(addresses: str, causes: list[str]) -> bool:
    """Whether an action item's `addresses` names the root cause or one of the contributing factors: in words, by
    the schema's own field name ("root_cause", as a model sends it) or by number ("factor 2", "contributing_factors[1]",
    counted from 1 or 0)."""
    target = re.sub(r"[_\-]+", " ", addresses.lower())
    if "root cause" in target:
        return True
    if (m := _FACTOR_NUMBER.search(target)) and int(m.group(1)) <= (len(causes) - 1) // 2:
        return True
    return any(overlap(addresses, c) >= 0.3 or addresses.lower() in c.lower() for c in causes)


# "factor 2", "contributing factors[1]", "factor #3": causes_of lists the root cause, then each factor and its effect
_FACTOR_NUMBER = re.compile(r"\bfactors?\s*(?:\[|#|no\.?\s*)?(\d+)\]?")


def quality_warnings(draft: AnalysisDraft) -> list[str]:
    """What a reviewer should look at: whys that do not go deeper, blame, action items tied to no cause."""
    warnings = []
    for n in range(1, len(draft.whys)):
        earlier, this = draft.whys[n - 1].answer, draft.whys[n].answer
        if overlap(earlier, this) >= PARAPHRASE:
            warnings.append(f"why {n + 1} restates why {n} instead of going deeper")
    for where, text in (("the last why", draft.whys[-1].answer), ("the root cause", draft.root_cause)):
        found = check_blameless(text).findings
        if found:
            warnings.append(f"{where} blames a person ({found[0].rule}): {found[0].suggestion}")
    causes = causes_of(draft.root_cause, [(f.factor, f.effect) for f in draft.contributing_factors])
    for item in draft.action_items:
        if addresses_a_cause(item.addresses, causes):
            continue
        warnings.append(
            f"action item {item.title!r} addresses {item.addresses!r}, which is not the root cause or a factor"
        )
    return warnings


def ground(draft: AnalysisDraft, allowed: set[str]) -> Grounded:
    cleaned, cited, removed = limit_citations(draft, allowed)
    warnings = quality_warnings(cleaned)
    if removed:
        warnings.insert(0, f"removed references to incidents that were not in the context: {', '.join(removed)}")
    return Grounded(draft=cleaned, cited=cited, removed_citations=removed, warnings=warnings)
