"""The learned blame detector, applied with numpy alone (no scikit-learn at run time).

A logistic regression reads one sentence through two groups of features:

* `embedding`: the sentence's vector from the bundled all-MiniLM-L6-v2 (the knowledge base's embedder), so the
  model reads what a sentence means, not only the shapes the rules know;
* `cues`: cheap cues: a pronoun by person, a role, a name or an @mention, a system noun at the head, a failure, a
  blame verb, a mistake marker, an apology, words about blame itself, a negation, a question, a hypothetical.

The rules (server/analysis/blame.py) are not a feature: they were tuned on every sentence the model is trained on
(precision 1.00, recall 0.95 on their design sets; 0.69 / 0.49 on test4 before they were tuned on it), so a model
given their decision leans on it and learns little else. They are combined instead: a sentence is blaming when the rules
find a span in it and the model does not veto it (its calibrated probability at least `veto`, set just under the
lowest out-of-fold probability of any blaming sentence the rules flag, so that no true hit is vetoed in
cross-validation), or when the model's probability reaches the threshold.

Its coefficients are trained by `evals/train_blame.py` on the labelled sentences of every development set (the rules'
design sets and the external test2 to test5 halves, which have been looked at; never test nor the regression set)
and shipped as `server/analysis/blame_model.json`; probabilities are calibrated (Platt) on
source-grouped cross-validated predictions, and the threshold is the lowest at which the model's own additions to the
rules reach precision 0.90 on the cross-validated rows of test2 to test5; when none does (with the rules of this
round), the threshold is 1.0 and the model adds no sentence, it only vetoes. Its figures are recorded in the file.
"""

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.analysis.blame_lexicon import (
    ACTION,
    BLAME_VERB,
    FAILURE_CONTEXT,
    NAME,
    NOT_NAMES,
    ROLE_NP,
    SYSTEM_HEADS,
)
from agent_postmortem.store.search.embedding import Embedder
from agent_postmortem.store.search.onnx_embedding import INT8_MODEL_ID, MODEL_ID

MODEL_FILE = Path(__file__).parent / "blame_model.json"
FEATURE_VERSION = 1
EMBEDDING_DIM = 384
Embed = Callable[[list[str]], np.ndarray]
EMBEDDING_MODELS = frozenset({INT8_MODEL_ID, MODEL_ID})  # the model's vectors (int8) or within rounding (fp32)
_I = re.IGNORECASE
_SYSTEM = SYSTEM_HEADS
# Someone who can be an agent: a pronoun, a role, an @mention or a capitalised word (a name, or a sentence's first).
_WHO = r"(?:(?-i:\bI\b)|\b(?:we|he|she|they|you|someone|somebody)\b|" + ROLE_NP + r"|@[\w-]+|(?-i:\b[A-Z][a-z]{2,}\b))"
_PAST = r"\w+(?:ed|ew|ote|oke|ook|an|ent|ut|et|ade|orgot|ot)\b"

CUES: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern, _I))
    for name, pattern in [
        ("I, me, my", r"(?-i:\bI\b)|\b(?:me|my|mine|myself|i['’]m|i['’]ve)\b"),
        ("we, us, our", r"\b(?:we|us|our|ours|ourselves|we['’]ve)\b"),
        ("you, your", r"\b(?:you|your|yours|yourself)\b"),
        ("he, she, they", r"\b(?:he|she|they|him|her|them|his|their)\b"),
        ("someone, nobody", r"\b(?:someone|somebody|nobody|no one|anyone|everyone)\b"),
        ("a role", ROLE_NP),
        ("an @mention", r"(?<!\w)@[\w-]+"),
        ("a system noun at the head", r"^\W*(?:the|a|an|our|this|that)?\s*(?:[\w-]+\s+){0,2}(?:" + _SYSTEM + r")\b"),
        ("a failure", FAILURE_CONTEXT.pattern),
        ("a blame verb", BLAME_VERB),
        ("a mistake marker", r"\b(?:accidentally|accidently|by mistake|by accident|inadvertently|mistakenly|oops|"
         r"whoops|wrong)\b"),
        ("an apology", r"\b(?:sorry|apolog\w+|my bad|my fault|our fault|mea culpa)\b"),
        ("words about blame", r"\b(?:blame\w*|fault|scapegoat\w*|culprit|accountab\w+|blameless)\b"),
        ("a negation", r"\b(?:not|no|never|n['’]t|nothing|none)\b"),
        ("a question", r"\?"),
        ("a hypothetical or a rule", r"\b(?:if|whenever|would|could|should|must|always|never)\b"),
        ("someone, then a past verb", _WHO + r"\s+(?:\w+ly\s+|had\s+|also\s+|then\s+|just\s+)?" + _PAST),
        ("someone, then an action", _WHO + r"\s+(?:\w+\s+){0,2}(?:" + ACTION + r")\b"),
        ("someone, then a blame verb", _WHO + r"\s+(?:\w+\s+){0,3}(?:" + BLAME_VERB + r")"),
        ("a person's change", r"\b(?:my|his|her|their|your|our)\s+(?:\w+\s+)?(?:change|pr|commit|push|fix|mistake|"
         r"fault|bad|code|merge|update|script|typo|error)\b|(?-i:\b[A-Z][a-z]+['’]s\b)"),
        ("by someone", r"\bby\s+" + _WHO),
        ("a system, then a verb", r"\b(?:the|a|an|our|this)\s+(?:[\w-]+\s+){0,2}(?:" + _SYSTEM + r")\s+(?:\w+\s+)?"
         r"\w+(?:ed|s)\b"),
        ("a passive without an agent", r"\b(?:was|were|been|got)\s+(?:\w+ly\s+)?\w+ed\b(?!\s+by)"),
    ]
]  # fmt: skip


_FAILURE = [name for name, _ in CUES].index("a failure")


def _names(sentence: str) -> bool:
    """A capitalised word after the first that reads as a person's name."""
    words = list(re.finditer(NAME, sentence))
    return any(m.start() > 0 and m.group(0) not in NOT_NAMES for m in words)


def cue_features(sentence: str) -> np.ndarray:
    """One flag per cue, a name, and two interactions: someone with a failure, oneself with a failure."""
    flags = [1.0 if pattern.search(sentence) else 0.0 for _, pattern in CUES]
    failure = flags[_FAILURE]
    who = 1.0 if re.search(_WHO, sentence, _I) else 0.0
    return np.array([*flags, 1.0 if _names(sentence) else 0.0, who * failure, flags[0] * failure], dtype=np.float64)


def feature_names() -> list[str]:
    return [*(f"cue: {name}" for name, _ in CUES), "cue: a name", "cue: someone and a failure", "cue: I and a failure"]


def features(sentence: str, vector: np.ndarray) -> np.ndarray:
    """One sentence's feature row: embedding; cues."""
    return np.concatenate([np.asarray(vector, dtype=np.float64).reshape(-1), cue_features(sentence)])


def embed_each(embed: Embed, sentences: Sequence[str]) -> np.ndarray:
    """One vector per sentence, each embedded alone (the int8 model quantizes a batch together, and the model was
    trained on sentences embedded one at a time)."""
    rows = [np.asarray(embed([s]), dtype=np.float64).reshape(-1) for s in sentences]
    return np.vstack(rows) if rows else np.zeros((0, EMBEDDING_DIM))


def embed_for(embedder: Embedder | None) -> Embed | None:
    """The embedding function `check_blameless` takes, for an embedder whose vectors the model was trained on (the
    bundled all-MiniLM-L6-v2, int8 or fp32); None for any other (a stand-in, another model): the rules decide alone.
    Nothing is loaded here: the embedder loads on its first call."""
    if embedder is None or embedder.model_id not in EMBEDDING_MODELS:
        return None
    return lambda texts: embedder.embed(texts, kind="document")


@dataclass(frozen=True)
class BlameModel:
    """Standardise, weigh, calibrate; the threshold cross-validation chose."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    platt: tuple[float, float]  # p = sigmoid(a * logit + b)
    threshold: float
    metadata: dict[str, Any]
    veto: float = 0.0  # a sentence the rules flag is not blaming when the model's probability is below this

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        logits = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        z = self.platt[0] * logits + self.platt[1]
        result: np.ndarray = 1.0 / (1.0 + np.exp(-z))
        return result

    def decide(self, probability: float, rule_found: bool) -> bool:
        """Blaming: the rules found a span and the model does not veto it (its probability is at least `veto`), or
        the model's calibrated probability reaches the threshold."""
        return (rule_found and probability >= self.veto) or (self.threshold < 1 and probability >= self.threshold)


def parse(data: dict[str, Any]) -> BlameModel:
    if data.get("feature_version") != FEATURE_VERSION or data.get("features") != feature_names():
        raise ValueError("the blame model file was trained for other features; retrain it (evals/train_blame.py)")
    head, decision = data["head"], data["decision"]
    weights = np.array(head["weights"], dtype=np.float64)
    if weights.shape != (EMBEDDING_DIM + len(feature_names()),):
        raise ValueError("the blame model file has the wrong number of weights; retrain it")
    return BlameModel(
        mean=np.array(head["mean"], dtype=np.float64),
        scale=np.array(head["scale"], dtype=np.float64),
        weights=weights,
        bias=float(head["bias"]),
        platt=(float(head["platt"][0]), float(head["platt"][1])),
        threshold=float(decision["threshold"]),
        metadata=data["metadata"],
        veto=float(decision.get("veto", 0.0)),
    )


@cache
def load(path: Path = MODEL_FILE) -> BlameModel:
    return parse(json.loads(path.read_text(encoding="utf-8")))
