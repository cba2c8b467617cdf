"""The shipped category model: what it records about its making, that the training script reproduces it, and the
`postmortem bench classify` command on a tiny corpus."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.analysis.category_model import CLASSES, CUES, FEATURE_VERSION, MODEL_FILE, load
from agent_postmortem.evals.category_data import (
    default_training_examples,
    file_hash,
    guide_examples,
    product_examples,
    product_hash,
)
from agent_postmortem.evals.failure_corpus import CORPUS
from agent_postmortem.evals.fresh_failures import TRAINED, fresh_set

SHIPPED = json.loads(MODEL_FILE.read_text(encoding="utf-8"))


def test_the_model_file_records_the_data_and_settings_it_was_trained_with() -> None:
    meta = SHIPPED["metadata"]
    assert meta["corpus_sha256"] == file_hash(CORPUS, *(fresh_set(split).path for split in TRAINED)), (
        "the corpus changed: run python -m agent_postmortem.evals.train_category"
    )
    assert meta["product_sha256"] == product_hash(), (
        "seed, cases or guide changed: run python -m agent_postmortem.evals.train_category"
    )
    assert meta["embedder"] == "sentence-transformers/all-MiniLM-L6-v2#onnx-int8"
    assert meta["settings"]["seed"] == 18 and meta["settings"]["class_weight"] == "balanced"
    assert SHIPPED["feature_version"] == FEATURE_VERSION and SHIPPED["cues"] == [name for name, _ in CUES]
    assert SHIPPED["classes"] == [c.value for c in CLASSES]
    for head in ("embedding", "rules"):
        cv = meta["train_cv"][head]
        assert cv["rows"] == meta["corpus_rows"] and 0 < cv["accuracy"] <= 1 and cv["C"] in meta["settings"]["grid"]
    model = load()
    words = len(model.words)
    assert words > 1000 and meta["settings"]["words_min_df"] == 2  # the vocabulary the file was trained with
    assert model.embedding.weights.shape == (len(CLASSES), 384 + len(CLASSES) + len(CUES) + words)
    assert model.rules.weights.shape == (len(CLASSES), len(CLASSES) + len(CUES) + words)


def test_training_never_reads_the_test_half_or_outside_eval_cases() -> None:
    origins = {e.origin for e in product_examples()}
    assert origins == {"seed", "case", "guide"}
    assert len(guide_examples()) >= 20
    assert SHIPPED["metadata"]["corpus_rows"] == len(default_training_examples())


@pytest.mark.slow
def test_the_training_script_reproduces_the_shipped_coefficients() -> None:
    pytest.importorskip("sklearn")
    from agent_postmortem.evals.train_category import differences, refit

    fresh = refit(SHIPPED)
    assert differences(SHIPPED, fresh) == []
    tampered = json.loads(json.dumps(SHIPPED))
    tampered["heads"]["embedding"]["weights"][0][0] += 0.05
    assert differences(tampered, fresh) == ["heads.embedding.weights"]


def tiny_corpus(path: Path) -> Path:
    rows = [
        ("Agent got 429 Too Many Requests from the search API", "RateLimitError: rate limit reached", "rate_limit"),
        ("Tool call timed out after 30 seconds", "httpx.ReadTimeout while waiting for the MCP server", "timeout"),
        ("Chatbot cited a court case that does not exist", "The model invented the citation.", "llm_hallucination"),
        ("Agent deleted the production database", "It ran DROP TABLE and the data was lost.", "data_corruption"),
    ]
    with path.open("w", encoding="utf-8") as handle:
        for i, (title, text, category) in enumerate(rows):
            row = {"id": f"t-{i}", "source": "test", "source_group": "test", "title": title, "text": text}
            handle.write(json.dumps(row | {"category": category, "split": "test" if i else "train"}) + "\n")
    return path


def test_bench_classify_scores_four_deciders_on_the_test_half(tmp_path: Path, cli: Callable[..., Any]) -> None:
    result = cli("bench", "classify", "--corpus", str(tiny_corpus(tmp_path / "tiny.jsonl")), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["test"]) == {"learned", "learned_with_neighbours", "rules", "seed_classifier"}
    for scored in report["test"].values():
        assert scored["rows"] == 3  # the train row is not scored
        low, high = scored["accuracy_95"]
        assert 0 <= low <= scored["accuracy"] <= high <= 1
        assert sum(sum(row.values()) for row in scored["confusion"].values()) == 3
        assert set(scored["per_class"]) == {c.value for c in CLASSES}
    assert report["test"]["learned"]["accuracy"] == 1.0
    assert "train half only" in report["train_cross_validation"]["note"]
    assert report["train_cross_validation"]["embedding"]["macro_f1"] > 0.5
