"""The category of a capture: the learned classifier over the capture itself, nearest labelled incidents as
evidence, and a category given by the reporter (or the assistant) first.

The rule for neighbours, in `with_neighbours`: a capture whose own evidence is strong (the learned classifier gives
its top category a calibrated probability of at least STRONG_EVIDENCE) keeps its category whatever its neighbours
say; they are listed as evidence only. Otherwise close neighbours (at least NOVELTY_THRESHOLD similar: "the same
kind of failure") multiply each category's probability by up to 1 + NEIGHBOUR_BOOST, in proportion to their
similarity-weighted share, so they can settle a close call between categories the capture supports but never
raise one it gives no weight to.
"""

from dataclasses import dataclass

import numpy as np

from agent_postmortem.analysis import category_facts
from agent_postmortem.analysis.category_model import (
    CLASSES,
    CUES,
    CategoryModel,
    features,
    group_slices,
    load,
    rule_features,
)
from agent_postmortem.analysis.classify import NOVELTY_THRESHOLD, CategoryDecision, Neighbour
from agent_postmortem.analysis.decision import CategoryCheck
from agent_postmortem.store.models import Category, IncidentCreate

STRONG_EVIDENCE = 0.5
NEIGHBOUR_BOOST = 2.0
# A classifier's probability is shown rounded to three places but never as 1.0: certainty is what a category given
# by the caller has, and a very clear capture (p > 0.9995) would otherwise read as given.
MAX_CLASSIFIER_CONFIDENCE = 0.999
_GROUP_NAMES = {"embedding": "the text's meaning", "rules": "keyword rules", "cues": "cues", "words": "the words"}


def shown(probability: float) -> float:
    """A classifier probability as the capture reports it: three places, below the certainty of a given category."""
    return min(round(probability, 3), MAX_CLASSIFIER_CONFIDENCE)


@dataclass(frozen=True)
class Learned:
    """The learned classifier's reading of the capture alone."""

    probabilities: np.ndarray  # in CLASSES order
    signals: list[str]

    @property
    def category(self) -> Category:
        return CLASSES[int(np.argmax(self.probabilities))]

    @property
    def confidence(self) -> float:
        return shown(float(np.max(self.probabilities)))


def learned(capture: IncidentCreate, vector: np.ndarray | None, model_id: str | None, model: CategoryModel) -> Learned:
    """Probabilities per category from the capture alone, and what drove the top one: the probability, each
    feature group's pull toward it, its keyword matches and cues."""
    head, reads_vector = model.head_for(model_id)
    row = features(capture, vector if reads_vector else None, model.words)
    p = head.probabilities(row)
    top = int(np.argmax(p))
    pull = head.contributions(row)
    pull = pull[top] - pull.mean(axis=0)  # toward the top category, against the average category
    runner_up = int(np.argsort(p)[-2])
    signals = [
        f"learned classifier: {CLASSES[top].value} {p[top]:.2f} (next {CLASSES[runner_up].value} {p[runner_up]:.2f})"
    ]
    groups = group_slices(embedding=reads_vector, words=len(model.words))
    drove = ", ".join(f"{_GROUP_NAMES[g]} {pull[s].sum():+.1f}" for g, s in groups.items())
    signals.append(f"what drove it (log-odds): {drove}")
    _, evidence = rule_features(capture)
    signals += evidence[CLASSES[top]][:3]
    cue_pull = pull[groups["cues"]]
    signals += [f"cue: {CUES[i][0]}" for i in np.argsort(-cue_pull)[:2] if cue_pull[i] > 0.05]
    word_pull = pull[groups["words"]]
    said = [f"'{model.words.terms[i]}' {word_pull[i]:+.1f}" for i in np.argsort(-word_pull)[:3] if word_pull[i] > 0.05]
    if said:
        signals.append(f"words: {', '.join(said)}")
    return Learned(p, signals)


def with_neighbours(p: np.ndarray, neighbours: list[Neighbour]) -> tuple[np.ndarray, bool]:
    """The probabilities after the close neighbours' votes, and whether the votes were counted (see the module)."""
    close = [n for n in neighbours if n.similarity >= NOVELTY_THRESHOLD]
    if float(np.max(p)) >= STRONG_EVIDENCE or not close:
        return p, False
    votes = np.zeros(len(CLASSES))
    for n in close:
        votes[CLASSES.index(n.category)] += n.similarity
    blended = p * (1 + NEIGHBOUR_BOOST * votes / votes.sum())
    result: np.ndarray = blended / blended.sum()
    return result, True


def _neighbour_signals(neighbours: list[Neighbour], counted: bool) -> list[str]:
    close = [n for n in neighbours if n.similarity >= NOVELTY_THRESHOLD][:3]
    if not close:
        return []
    how = (
        "counted: the capture alone was not conclusive"
        if counted
        else "not counted: the capture's own evidence decides"
    )
    return [f"similar past incident {n.incident_id} ({n.similarity:.2f}) is {n.category.value} ({how})" for n in close]


def categorize(
    capture: IncidentCreate,
    neighbours: list[Neighbour],
    *,
    vector: np.ndarray | None,
    model_id: str | None,
    model: CategoryModel | None = None,
) -> CategoryDecision:
    """The category with its confidence and signals (and the learned classifier's dissent from a given category).
    Facts in the capture that rule categories out (`category_facts.py`) apply to the learned reading first."""
    read = learned(capture, vector, model_id, model or load())
    facts_p, facts = category_facts.apply(capture, read.probabilities)
    if facts:
        read = Learned(facts_p, [*read.signals[:1], *facts, *read.signals[1:]])
    if capture.category is not None:
        given = capture.category
        if read.category == given:
            return CategoryDecision(
                given, 1.0, ["category given by the caller", "the learned classifier agrees"], source="caller"
            )
        dissent = f"the learned classifier reads {read.category.value} ({read.confidence:.2f}) instead"
        check = CategoryCheck(category=read.category, confidence=read.confidence)
        return CategoryDecision(
            given, 1.0, ["category given by the caller", dissent, *read.signals[1:]], check, "caller"
        )
    p, counted = with_neighbours(read.probabilities, neighbours)
    top = int(np.argmax(p))
    signals = [*read.signals, *_neighbour_signals(neighbours, counted)]
    if counted and CLASSES[top] != read.category:
        signals.insert(0, f"close past incidents settled a close call: {read.category.value} -> {CLASSES[top].value}")
    return CategoryDecision(CLASSES[top], shown(float(p[top])), signals, source="classifier")
