"""Whether a draft is about its incident: the content words the two share (a word of the incident, of the whys that
lead to a cause), for the analysis as a whole its meaning (the embedding cosine, given as `Similarity`), and whether
it reads as an analysis of one of the incident's neighbours in the store rather than of the incident itself. The
draft guard's checks (analysis/draft_guard.py) are built on these."""

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from textwrap import shorten

from agent_postmortem.analysis.wording import counted
from agent_postmortem.store.models import AnalysisDraft, Incident
from agent_postmortem.store.redact_found import PLACEHOLDER_PATTERN

_WORD = re.compile(r"[a-z][a-z0-9]+|\d{2,}")
_STOP = frozenset(
    "the and for was were been its this that with from not did does why because than then into onto over under "
    "about after before when while which who whom what where there their they them have has had are our out all any "
    "each every more most some such only also very can could would should will may might must one two three".split()
)
# Cosine (all-MiniLM-L6-v2) between an analysis and its incident: under RELEVANT it was written for another incident;
# up to SURE, it must also share SPECIFIC words with the incident (not only words any incident has: _GENERIC).
# Measured by `postmortem bench guard` (docs/evals.md) on analyses of their own incident and moved to another one.
RELEVANT = 0.3
SURE = 0.45
SPECIFIC = 2  # specific words in common, or 1 with an incident that says little (under TERSE specific words)
TERSE = 12
# An analysis that shares more than 1/CLOSER times as much of a neighbour's specific words as of the incident's, in
# weight and as a share of each one's words, reads as that neighbour's analysis (a word weighs less the more of the
# incident and its neighbours have it: sibling incidents' shared infrastructure counts little). Measured by
# `postmortem bench guard` (docs/evals.md).
CLOSER = 0.8
RELEVANCE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"  # the embedder the thresholds were measured with
_GENERIC = frozenset(
    w[:5]
    for w in "service services request requests deploy deployed deployment production error errors answer answered "
    "system systems user users customer customers team teams change changed changes time times minute minutes hour "
    "hours day days fail failed failure failures issue incident incidents problem data new add added call calls "
    "called run running return returned response responses check checks alert alerts test tests process impact "
    "status result results cause caused root fix fixed update updated release code config configuration tool tools "
    "model agent prompt message messages report reported detect detected investigate mitigate mitigated resolve "
    "resolved escalate escalated monitor monitoring log logs review owner action item work start started stop back "
    "first same other instead without through between due high low down each every once still later "
    "in to on of by as it at an or is be up no so if we us you your how these those but get just like make made use "
    "used need".split()
)
Similarity = Callable[[str, str], float]
"""The cosine between two texts' embeddings; the service gives the guard its embedder's."""


def stems(text: str) -> set[str]:
    """Content words, cut to five letters so that 'invoice' and 'invoices', 'retry' and 'retrying' meet; not the
    words of a redaction's placeholder (`[REDACTED:openai_key]`), which any two texts that held a secret share."""
    return {w[:5] for w in _WORD.findall(PLACEHOLDER_PATTERN.sub(" ", text).lower()) if w not in _STOP}


def overlap(a: str, b: str) -> float:
    x, y = stems(a), stems(b)
    return len(x & y) / len(x | y) if x and y else 0.0


def incident_text(incident: Incident) -> str:
    fields = [incident.title, incident.description, incident.error_type, incident.error_message, incident.agent]
    fields += [incident.tool, incident.tool_args, incident.model, incident.prompt_excerpt, incident.environment]
    fields += [incident.impact, incident.category.value.replace("_", " ")]
    fields += [e.description for e in incident.timeline]
    return "\n".join(f for f in fields if f)


def chain(draft: AnalysisDraft) -> list[str]:
    return [*(w.answer for w in draft.whys), *(f"{f.factor} {f.effect}" for f in draft.contributing_factors)]


def analysis_text(draft: AnalysisDraft) -> str:
    """What the analysis says, cause first (an embedder reads the start of a long text)."""
    return "\n".join([draft.root_cause, *chain(draft), *(a.title for a in draft.action_items)])


def relevance(draft: AnalysisDraft, incident: Incident, similarity: Similarity) -> float:
    return similarity(analysis_text(draft), incident_text(incident))


def specific(text: str) -> set[str]:
    """Content words but for those any incident has ("service", "deploy") and numbers."""
    return {w for w in stems(text) - _GENERIC if not w.isdigit()}


def specific_shared(draft: AnalysisDraft, incident: Incident) -> set[str]:
    """Content words the analysis shares with the incident, but for those any incident has ("service", "deploy")."""
    return specific(analysis_text(draft)) & specific(incident_text(incident))


def closer_neighbour(draft: AnalysisDraft, incident: Incident, neighbours: Sequence[Incident]) -> Incident | None:
    """The neighbour the analysis reads as written for: one whose specific words it shares clearly more of than the
    incident's, both in weight and as a share of each incident's own words (by weight alone a neighbour that says
    more would outweigh a terse capture; by share alone a terse neighbour would outweigh the incident). Each word
    weighs by how few of the incident and its neighbours have it (an inverse document frequency over them), so what
    sibling incidents all say counts little."""
    said = specific(analysis_text(draft))
    words = [specific(incident_text(i)) for i in [incident, *neighbours]]
    held = Counter(w for found in words for w in found)

    def shared(found: set[str]) -> tuple[float, float]:
        weight = {w: math.log((len(words) + 1) / held[w]) for w in found}
        total, common = sum(weight.values()), sum(weight[w] for w in found & said)
        return common, common / total if total else 0.0

    own = shared(words[0])
    closer = [
        (theirs, other)
        for other, found in zip(neighbours, words[1:], strict=True)
        if own[0] < CLOSER * (theirs := shared(found))[0] and own[1] < CLOSER * theirs[1]
    ]
    return max(closer, key=lambda c: c[0])[1] if closer else None


def unrelated(
    draft: AnalysisDraft, incident: Incident, similarity: Similarity, neighbours: Sequence[Incident] = ()
) -> list[str]:
    """An analysis of another incident: words such as "service", "deploy" or "production" are shared by any two,
    so the check is on meaning (the embedding cosine between the whole analysis and the incident) and, where that
    is not clear, on the specific words they share; and with the incident's `neighbours` (its most similar incidents
    in the store), on whether it reads as one of theirs instead."""
    cosine = relevance(draft, incident, similarity)
    needed = SPECIFIC if len(specific(incident_text(incident))) >= TERSE else 1
    shared = len(specific_shared(draft, incident))
    if cosine < RELEVANT or (cosine < SURE and shared < needed):
        return [
            f"the analysis has little to do with {incident.id} (cosine {cosine:.2f} between them, and "
            f"{counted(shared, 'specific word')} in common): was it written for another incident? Analyse what went "
            "wrong in this one, in its own terms"
        ]
    other = closer_neighbour(draft, incident, neighbours)
    if other is None:
        return []
    return [
        f"the analysis reads as one of {other.id} ({shorten(other.title, 60, placeholder='...')!r}), not of "
        f"{incident.id}: it shares more of that incident's specific words than of this one's. Was it written for "
        f"{other.id}? Analyse what went wrong in {incident.id}, in its own terms"
    ]
