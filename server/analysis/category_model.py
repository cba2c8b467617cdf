"""The learned category classifier, applied with numpy alone (no scikit-learn at run time).

A multinomial logistic regression over three groups of features of a capture:

* `embedding`: the capture's vector from the bundled all-MiniLM-L6-v2 (the one the knowledge base stores), so
  the classifier reads what the text means, not only which words it uses;
* `rules`: log(1 + score) of each category's keyword rules (`server/classify.py`);
* `cues`: structural cues (an HTTP status class, an exception name, a stack trace) and the labelling guide's
  boundaries as patterns;
* `words`: tf-idf of the capture's words and word pairs over the vocabulary shipped in the file
  (`server/analysis/category_words.py`), so the words a report uses count beside what it means.

Its coefficients are trained by `evals/train_category.py` on the train half of the labelled failure corpus plus the
project's own seed incidents and eval cases, and shipped as `server/category_model.json` (package data, next to the
code that reads it). The file has two heads: `embedding` (every group) for vectors of the model it was trained with,
and `rules` (rules and cues only) for any other embedder, so a knowledge base on another model is still classified.
Probabilities are calibrated by a temperature fitted on cross-validated predictions of the train half.
"""

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.analysis.category_words import Words, capture_text
from agent_postmortem.analysis.classify import rule_scores
from agent_postmortem.store.models import Category, IncidentCreate
from agent_postmortem.store.search.onnx_embedding import INT8_MODEL_ID, MODEL_ID

MODEL_FILE = Path(__file__).parent / "category_model.json"
FEATURE_VERSION = 2
# Vectors of these models are the ones the embedding head was trained on (int8) or within rounding of them (fp32).
EMBEDDING_MODELS = frozenset({INT8_MODEL_ID, MODEL_ID})
EMBEDDING_DIM = 384

# Cheap cues read from the whole capture. The first five are structural; the rest are the boundaries of the
# labelling guide (evals/data/failures/GUIDE.md, section 4) as patterns, so the classifier learns how much each
# counts: "connection refused" is the platform, not a model refusing; a database's `relation ... does not exist` is
# a rejected tool call, not an invention; "SYSTEM OVERRIDE: admin mode" is an injection.
CUES: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in [
        ("a 429/529 status", r"\b(429|529)\b"),
        ("a 4xx status other than 429", r"\b(400|401|403|404|405|409|413|415|422)\b"),
        ("a 5xx status", r"\b(500|502|503|504)\b"),
        ("an exception name", r"\b(?-i:[A-Z][A-Za-z]+(Error|Exception))\b"),
        ("a stack trace", r"Traceback \(most recent call last\)|\n\s+at \S+\(|File \"[^\"]+\", line \d+"),
        (
            "a connection that never opened",
            r"connection ?refused|errno 111|econnrefused|connect etimedout|getaddrinfo|name resolution|"
            r"certificate_verify_failed|ssl ?error|certificate verify",
        ),
        (
            "data deleted, lost or overwritten",
            r"\b(deleted|wiped|erased|dropped|lost|overwr(ote|itten|iting)|corrupt\w*|rm -rf|reset --hard|"
            r"push --force|force[- ]push\w*)\b",
        ),
        (
            "a database rejecting a query",
            r"relation \S+ does not exist|no such (table|column)|column \S+ does not exist|undefinedtable|sqlstate",
        ),
        (
            "something invented",
            r"hallucinat\w*|\binvent\w*|made[- ]up|fabricat\w*|non-?existent|never existed|does(n't| not) exist",
        ),
        (
            "instructions overriding the system's",
            r"(ignore|disregard) (all |any )?(previous|prior|above|earlier|your) (instructions|prompts?)|"
            r"system override|\b(admin|developer|debug|god) mode|jailbr\w*|you are now|prompt[- ]injection|"
            r"injected (instructions|prompt)|hidden (instructions|text|prompt)|exfiltrat\w*",
        ),
        (
            "throttling or overload",
            r"\b529\b|overloaded|resource_exhausted|insufficient_quota|(tokens|requests) per (minute|day)|"
            r"rate[_ ]?limit",
        ),
        (
            "a model or filter declining",
            r"i('m| am) sorry|i can('|no)t (help|assist|comply)|content[_ ]?filter|usage polic\w*|"
            r"finish_reason\W{0,5}\w*safety|safety (settings|guidelines|filter|system)|responsibleaipolicy|"
            r"refus(es|ed|al)\b|declin(es|ed)",
        ),
        (
            "a time or step budget",
            r"max_(iterations|turns|steps)|recursion limit|iteration limit|timed? ?out|-32001|\bhang(s|ing)?\b|"
            r"\bstuck\b|infinite loop|deadline",
        ),
        (
            "an action without consent or against a rule",
            r"without (asking|approval|confirmation|consent|permission|review|authori[sz]ation)|--no-verify|"
            r"bypass\w*|\bforbidden\b|against (the|my) (rules|instructions)",
        ),
        (
            "one user's data shown to another",
            r"(another|other|different) (user|customer|person)s?'?s? (data|chats?|conversations?|histor\w+|"
            r"messages?)|wrong (user|session|account)",
        ),
        (
            "a malformed tool call or output",
            r"(unexpected|missing|invalid|required) (keyword )?(argument|parameter|field)s?|validation ?error|"
            r"could not parse|output ?parser|json ?decode|malformed|\bschema\b",
        ),
    ]
]
_CUE_FIELDS = ("title", "description", "error_type", "error_message", "stack_trace", "tool")
CLASSES = list(Category)


def rule_features(capture: IncidentCreate) -> tuple[np.ndarray, dict[Category, list[str]]]:
    """log(1 + rule score) per category, in `CLASSES` order, and the matches behind each score."""
    scores, evidence = rule_scores(capture)
    return np.array([math.log1p(scores[c]) for c in CLASSES], dtype=np.float64), evidence


def cue_features(capture: IncidentCreate) -> np.ndarray:
    text = "\n".join(str(getattr(capture, f) or "") for f in _CUE_FIELDS)
    return np.array([1.0 if pattern.search(text) else 0.0 for _, pattern in CUES], dtype=np.float64)


def features(capture: IncidentCreate, vector: np.ndarray | None, words: Words | None = None) -> np.ndarray:
    """The feature row of a capture: [embedding;] rules; cues[; words] (the embedding part only when a vector is
    given, the words only with a vocabulary)."""
    rules, _ = rule_features(capture)
    parts = [rules, cue_features(capture)]
    if vector is not None:
        parts.insert(0, np.asarray(vector, dtype=np.float64).reshape(-1))
    if words is not None:
        parts.append(words.row(capture_text(capture)))
    return np.concatenate(parts)


def group_slices(*, embedding: bool, words: int = 0) -> dict[str, slice]:
    """Where each feature group sits in a row of `features` (`words`: the vocabulary's size)."""
    start = EMBEDDING_DIM if embedding else 0
    cues_end = start + len(CLASSES) + len(CUES)
    groups = {"rules": slice(start, start + len(CLASSES)), "cues": slice(start + len(CLASSES), cues_end)}
    if words:
        groups["words"] = slice(cues_end, cues_end + words)
    return {"embedding": slice(0, EMBEDDING_DIM), **groups} if embedding else groups


@dataclass(frozen=True)
class Head:
    """One logistic regression: standardise, weights, temperature."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # (classes, features)
    bias: np.ndarray
    temperature: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Head":
        return cls(
            mean=np.array(data["mean"], dtype=np.float64),
            scale=np.array(data["scale"], dtype=np.float64),
            weights=np.array(data["weights"], dtype=np.float64),
            bias=np.array(data["bias"], dtype=np.float64),
            temperature=float(data["temperature"]),
        )

    def contributions(self, row: np.ndarray) -> np.ndarray:
        """Per class and feature: weight x standardised value (their sum plus the bias is the logit)."""
        z = (row - self.mean) / self.scale
        contributed: np.ndarray = self.weights * z[None, :]
        return contributed

    def probabilities(self, row: np.ndarray) -> np.ndarray:
        logits = (self.contributions(row).sum(axis=1) + self.bias) / self.temperature
        exp = np.exp(logits - logits.max())
        result: np.ndarray = exp / exp.sum()
        return result


@dataclass(frozen=True)
class CategoryModel:
    embedding: Head
    rules: Head
    words: Words
    metadata: dict[str, Any]

    def head_for(self, model_id: str | None) -> tuple[Head, bool]:
        """The head for vectors of `model_id`, and whether it reads the vector."""
        return (self.embedding, True) if model_id in EMBEDDING_MODELS else (self.rules, False)


def parse(data: dict[str, Any]) -> CategoryModel:
    if data.get("feature_version") != FEATURE_VERSION or data.get("classes") != [c.value for c in CLASSES]:
        raise ValueError("the category model file was trained for other features or classes; retrain it")
    heads = data["heads"]
    words = Words.from_json(data["words"])
    return CategoryModel(Head.from_json(heads["embedding"]), Head.from_json(heads["rules"]), words, data["metadata"])


@cache
def load(path: Path = MODEL_FILE) -> CategoryModel:
    return parse(json.loads(path.read_text(encoding="utf-8")))
