"""The examples the category classifier is trained and measured on, as the product sees them at capture.

A corpus row becomes the capture a reporter would write (title, and the report as the description), goes through
the same redaction as a capture, and is embedded alone by the product's default embedder (the bundled
all-MiniLM-L6-v2, int8 ONNX), exactly as `capture_incident` embeds one failure: the int8 model quantizes each
batch's activations together, so a text embedded in a batch would get a slightly different vector.

Training may add the project's own writing: the seed knowledge base, the eval cases written by the team (`source:
team`) and the labelling guide's boundary table. Eval cases taken from outside datasets are left out, so no report
from a test source leaks in.
"""

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent_postmortem.analysis.category_model import CLASSES, features
from agent_postmortem.analysis.category_words import Words, capture_text
from agent_postmortem.cli.demo import SEED
from agent_postmortem.config import Settings
from agent_postmortem.evals.cases import load_cases
from agent_postmortem.evals.failure_corpus import CORPUS, HERE, load
from agent_postmortem.evals.fresh_failures import FRESH_SPLITS, TRAINED, fresh_set
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.runtime import make_embedder
from agent_postmortem.store.models import Category, IncidentCreate, search_text
from agent_postmortem.store.redact import redact_model
from agent_postmortem.store.search.embedding import Embedder

GUIDE = HERE / "GUIDE.md"
_CAPTURE_FIELDS = set(IncidentCreate.model_fields) - {"category", "severity", "occurred_at", "idempotency_key"}


@dataclass(frozen=True)
class Example:
    capture: IncidentCreate
    label: Category
    group: str  # rows of one group share a cross-validation fold
    origin: str  # corpus:<split>, seed or case


def corpus_capture(title: str | None, text: str) -> IncidentCreate:
    return IncidentCreate(title=(title or text)[:200], description=text)


def cv_group(row: dict[str, str]) -> str:
    """A GitHub owner or a postmortem collection is one group (its reports share a style and often a product);
    an AIID row is its own group: every AIID incident is a separate event described by the AIID editors."""
    return f"aiid:{row['id']}" if row["source_group"] == "aiid" else row["source_group"]


# Splits read only to score a shipped model, never to fit or choose one: the corpus's test half and the fresh
# check sets (evals/fresh_failures.py) not yet spent, whose figures count only if no model ever learned from them. A
# spent set (`TRAINED`, scored once) is training data since.
SCORED_ONLY = ("test", *(s for s in FRESH_SPLITS if s not in TRAINED))


def training_rows(examples: Sequence[Example]) -> list[Example]:
    """`examples` as rows to fit on, refusing any that came from a scored-only split."""
    scored = sorted({e.origin for e in examples if e.origin.removeprefix("corpus:") in SCORED_ONLY})
    if scored:
        raise ValueError(f"training rows must not come from a scored-only split: {', '.join(scored)}")
    return list(examples)


def corpus_examples(split: str, path: Path = CORPUS, *, leave_out: frozenset[str] = frozenset()) -> list[Example]:
    """The rows of `split` in `path` as examples, without those whose source group is in `leave_out`."""
    rows = [r for r in load(path) if r["split"] == split and r["source_group"] not in leave_out]
    return [
        Example(
            redact_model(corpus_capture(r["title"], r["text"]))[0],
            Category(r["category"]),
            cv_group(r),
            f"corpus:{split}",
        )
        for r in rows
    ]


def default_training_examples() -> list[Example]:
    """What the classifier is fitted on: the corpus's train half and the once-scored fresh check set, without the
    fresh rows whose source group (a GitHub owner) has rows in the test half, so no test source gains a train twin."""
    test_groups = frozenset(r["source_group"] for r in load(CORPUS) if r["split"] == "test")
    spent = [e for split in TRAINED for e in corpus_examples(split, fresh_set(split).path, leave_out=test_groups)]
    return [*corpus_examples("train"), *spent]


def product_examples() -> list[Example]:
    """The seed incidents, the team-written eval cases and the guide's boundary table, with their labels."""
    found: list[Example] = []
    for i, seed in enumerate(read_incidents(SEED)):
        capture = IncidentCreate.model_validate(seed.model_dump(include=_CAPTURE_FIELDS))
        found.append(Example(redact_model(capture)[0], seed.category or Category.INFRASTRUCTURE, f"seed:{i}", "seed"))
    for case in load_cases():
        if case.case.source != "team":
            continue
        incident = case.case.incident
        capture = IncidentCreate.model_validate(incident.model_dump(include=_CAPTURE_FIELDS, exclude_none=True))
        found.append(Example(redact_model(capture)[0], Category(incident.category), f"case:{case.name}", "case"))
    return found + guide_examples()


def guide_examples(path: Path = GUIDE) -> list[Example]:
    """The boundary table of the labelling guide (section 4), one short example per row: what a report says, and
    the category the guide gives it. It is how the labels were decided, so it teaches the same boundaries."""
    text = path.read_text(encoding="utf-8")
    table = text[text.index("## 4.") : text.index("## 5.")]
    found: list[Example] = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1] in {c.value for c in Category}:
            capture = IncidentCreate(title=cells[0].replace("`", "")[:200])
            found.append(Example(capture, Category(cells[1]), f"guide:{len(found)}", "guide"))
    return found


def default_embedder() -> Embedder:
    """The embedder the product uses by default (int8 ONNX), from the usual model cache."""
    settings = Settings.from_env({**os.environ, "POSTMORTEM_EMBEDDER": "onnx-int8"})
    return make_embedder(settings)


def embed_one_by_one(
    embedder: Embedder, texts: Sequence[str], progress: Callable[[int], None] = lambda n: None
) -> np.ndarray:
    rows = []
    for i, text in enumerate(texts):
        rows.append(np.asarray(embedder.embed([text], kind="document"), dtype=np.float32)[0])
        progress(i + 1)
    return np.vstack(rows) if rows else np.zeros((0, 384), dtype=np.float32)


def vectors(
    embedder: Embedder, examples: Sequence[Example], progress: Callable[[int], None] = lambda n: None
) -> np.ndarray:
    return embed_one_by_one(embedder, [search_text(e.capture) for e in examples], progress)


def design(examples: Sequence[Example], vecs: np.ndarray | None, words: Words | None = None) -> np.ndarray:
    """The feature matrix: with the embedding when `vecs` is given, else rules and cues only; the words last when
    a vocabulary is given."""
    return np.vstack([features(e.capture, None if vecs is None else vecs[i], words) for i, e in enumerate(examples)])


def texts(examples: Sequence[Example]) -> list[str]:
    """What the words group reads of each example."""
    return [capture_text(e.capture) for e in examples]


def labels(examples: Sequence[Example]) -> np.ndarray:
    return np.array([CLASSES.index(e.label) for e in examples])


def file_hash(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def product_hash() -> str:
    """A hash of the augmentation data: the seed file, every team-written case and the guide."""
    cases = [c.case.model_dump(mode="json") for c in load_cases() if c.case.source == "team"]
    digest = hashlib.sha256(SEED.read_bytes() + GUIDE.read_bytes())
    digest.update(json.dumps(cases, sort_keys=True).encode())
    return digest.hexdigest()
