"""`postmortem bench classify`: category accuracy on the test half of the failure corpus (or, with `--split fresh42`,
on a fresh check set of evals/fresh_failures.py; `fresh41`, scored once at 0.756, is trained on since, so its figure
now reads rows the model learned from), four deciders in one run.

Each test row goes through the service's capture dry run (`classify_incident`: redaction, the default embedder,
hybrid search) over a knowledge base holding the seed incidents, and is decided four ways:

- `learned`: the learned classifier on the capture alone (no knowledge base);
- `learned_with_neighbours`: what capture now decides (the learned classifier, then the neighbour rule of
  `server/categorize.py` over the seed knowledge base);
- `rules`: the keyword rules alone;
- `seed_classifier`: the decision before the learned classifier: keyword rules plus similarity-weighted votes of
  the nearest seed incidents.

Per decider: accuracy with its 95% Wilson interval, macro-F1 with a seeded bootstrap interval, per-class precision
and recall, and the confusion matrix; for the learned deciders, the rows only they or only the rules got right.
The train half's cross-validation figures, computed when the model was trained, are reported separately from the
model file: the test half was never used to fit or choose anything.
"""

import random
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent_postmortem.analysis.categorize import categorize
from agent_postmortem.analysis.category_model import CLASSES, load
from agent_postmortem.analysis.classify import Neighbour, classify
from agent_postmortem.analysis.verify import wilson
from agent_postmortem.config import Settings
from agent_postmortem.evals.category_data import corpus_examples, default_embedder
from agent_postmortem.evals.failure_corpus import CORPUS
from agent_postmortem.evals.failure_corpus import load as load_rows
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import search_text

DECIDERS = ("learned", "learned_with_neighbours", "rules", "seed_classifier")
BOOTSTRAP = 1000


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """The mean F1 over the categories that occur in the labels or the predictions."""
    f1s = []
    for c in [c for c in CLASSES if c in truth or c in predicted]:
        tp = sum(t == p == c for t, p in zip(truth, predicted, strict=True))
        denominator = sum(t == c for t in truth) + sum(p == c for p in predicted)
        f1s.append(2 * tp / denominator if denominator else 0.0)
    return sum(f1s) / len(f1s) if f1s else 0.0


def per_class(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, dict[str, Any]]:
    found = {}
    for c in CLASSES:
        tp = sum(t == p == c for t, p in zip(truth, predicted, strict=True))
        said, support = sum(p == c for p in predicted), sum(t == c for t in truth)
        found[c.value] = {
            "precision": round(tp / said, 3) if said else None,
            "recall": round(tp / support, 3) if support else None,
            "support": support,
        }
    return found


def scores(truth: Sequence[str], predicted: Sequence[str], *, seed: int = 18) -> dict[str, Any]:
    """Accuracy (Wilson 95%), macro-F1 (bootstrap 95%), per class, and the confusion matrix (rows: the label)."""
    n = len(truth)
    right = sum(t == p for t, p in zip(truth, predicted, strict=True))
    interval = wilson(n - right, n)
    rng = random.Random(seed)
    samples = []
    for _ in range(BOOTSTRAP if n else 0):
        picks = [rng.randrange(n) for _ in range(n)]
        samples.append(macro_f1([truth[i] for i in picks], [predicted[i] for i in picks]))
    samples.sort()
    return {
        "rows": n,
        "correct": right,
        "accuracy": round(right / n, 3) if n else None,
        "accuracy_95": [round(1 - interval.high, 3), round(1 - interval.low, 3)],
        "macro_f1": round(macro_f1(truth, predicted), 3) if n else None,
        "macro_f1_95_bootstrap": [
            round(samples[int(0.025 * len(samples))], 3),
            round(samples[int(0.975 * len(samples)) - 1], 3),
        ]
        if samples
        else None,
        "per_class": per_class(truth, predicted),
        "confusion": {
            t.value: {p.value: sum(a == t and b == p for a, b in zip(truth, predicted, strict=True)) for p in CLASSES}
            for t in CLASSES
        },
    }


def paired(truth: Sequence[str], one: Sequence[str], other: Sequence[str]) -> dict[str, int]:
    """On the same rows: how many only `one` got right, and how many only `other` did (the discordant pairs)."""
    rows = list(zip(truth, one, other, strict=True))
    return {
        "only_this_right": sum(a == t != b for t, a, b in rows),
        "only_rules_right": sum(b == t != a for t, a, b in rows),
    }


def decide_all(
    corpus: Path, seed: Path, progress: Callable[[int, int], None], split: str = "test"
) -> tuple[list[str], dict[str, list[str]]]:
    """The label and each decider's category for every row of `split`."""
    examples = corpus_examples(split, corpus)
    embedder = default_embedder()
    model = load()
    decided: dict[str, list[str]] = {d: [] for d in DECIDERS}
    with tempfile.TemporaryDirectory(prefix="bench-classify-") as home:
        settings = Settings.from_env({"POSTMORTEM_HOME": home, "POSTMORTEM_LLM": "none"})
        service = build_service(settings, embedder=embedder, claim_index=True)
        try:
            service.import_incidents(read_incidents(seed))
            for i, example in enumerate(examples):
                result = service.classify_incident(example.capture)
                neighbours = [
                    Neighbour(s.id, s.category, s.score) for s in sorted(result.similar, key=lambda s: -s.score)
                ]
                vector = service.knowledge.embed_documents([search_text(example.capture)])[0]
                alone = categorize(example.capture, [], vector=vector, model_id=embedder.model_id, model=model)
                decided["learned"].append(alone.category.value)
                decided["learned_with_neighbours"].append(result.category.value)
                decided["rules"].append(classify(example.capture, []).category.value)
                decided["seed_classifier"].append(classify(example.capture, neighbours).category.value)
                progress(i + 1, len(examples))
        finally:
            service.knowledge.release_index()
            service.store.engine.dispose()
    return [e.label.value for e in examples], decided


def by_round(corpus: Path, truth: Sequence[str], decided: dict[str, list[str]], split: str = "test") -> dict[str, Any]:
    """The same scores on each labelling round's rows alone (GUIDE.md section 8): a round committed before the
    model was trained is a first look at that model, the older rounds have been looked at before."""
    rounds = [row.get("round", 1) for row in load_rows(corpus) if row["split"] == split]
    assert len(rounds) == len(truth)
    result: dict[str, Any] = {}
    for k in sorted(set(rounds)):
        keep = [i for i, r in enumerate(rounds) if r == k]
        pick = [truth[i] for i in keep]
        result[f"round_{k}"] = {name: scores(pick, [decided[name][i] for i in keep]) for name in DECIDERS}
    return result


def run(
    corpus: Path = CORPUS,
    seed: Path | None = None,
    *,
    split: str = "test",
    progress: Callable[[int, int], None] = lambda d, t: None,
    llm_rows: int = 0,
) -> dict[str, Any]:
    """The four deciders on the rows of `split` (the test half, or the fresh check set of evals/fresh_failures.py);
    with `llm_rows`, the configured model too on a sample of that many rows (evals/classification_llm.py)."""
    from agent_postmortem.cli.demo import SEED

    truth, decided = decide_all(corpus, seed or SEED, progress, split)
    metadata = load().metadata
    extra = {}
    if llm_rows > 0:
        from agent_postmortem.evals import classification_llm

        captures = [e.capture for e in corpus_examples(split, corpus)]
        learned = decided["learned_with_neighbours"]
        extra["configured_model"] = classification_llm.run(
            captures, truth, learned, llm_rows, scores=scores, progress=progress
        )
    return {
        **extra,
        "corpus": str(corpus),
        "split": split,
        "knowledge_base": str(seed or SEED),
        "test": {name: scores(truth, decided[name]) for name in DECIDERS},
        "test_by_round": by_round(corpus, truth, decided, split),
        "paired_with_rules": {name: paired(truth, decided[name], decided["rules"]) for name in DECIDERS[:2]},
        "train_cross_validation": {
            "note": "train half only (with the once-scored fresh41 rows), 5-fold cross-validation grouped by source, "
            "computed when the model was trained",
            **metadata["train_cv"],
        },
        "model": {k: metadata[k] for k in ("embedder", "corpus_sha256", "settings")},
    }
