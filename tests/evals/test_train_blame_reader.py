"""The blame reader's trainer: what it learns from, how it chooses, and that what it exports is what the product
reads."""

import json
from pathlib import Path

import numpy as np
import pytest

from agent_postmortem.analysis.blame_reader import HEAD_FILE, BlameReader
from agent_postmortem.evals import train_blame_reader as trainer
from agent_postmortem.evals.blameless import SEALED, SETS, UNSCORED, load


def test_the_sealed_set_and_the_regression_set_are_never_learnt_from() -> None:
    texts = {row["text"] for row in trainer.rows()}
    for name in (*SEALED, "regression"):
        path, split = SETS[name]
        assert not texts & {row["text"] for row in load(path, split)}, name
    assert set(trainer.FRESH_FOR_RULES) <= {row["set"] for row in trainer.rows()}  # the threshold's rows exist


def test_an_unscored_set_is_never_learnt_from_until_it_is_scored() -> None:
    rows = trainer.rows()
    for name in UNSCORED:
        path, split = SETS[name]
        held = load(path, split)
        assert held, name  # the set has rows, so their absence below is the loader's doing
        assert name not in {row["set"] for row in rows}
        assert not {row["text"] for row in rows} & {row["text"] for row in held}, name
        assert not {row["source"] for row in rows} & {row["source"] for row in held}, name
    assert {"external_test14", "external_test15"} <= set(UNSCORED)
    assert "external_test16" in UNSCORED
    assert "external_test13" not in UNSCORED


def test_a_source_is_read_only_by_readers_that_never_learnt_from_it() -> None:
    rows = trainer.rows()
    folds: dict[str, set[str]] = {}
    for row in rows:
        folds.setdefault(row["source"], set()).add(row["fold"])
    assert all(len(f) == 1 for f in folds.values())
    sizes = [sum(row["fold"] == f for row in rows) for f in {row["fold"] for row in rows}]
    assert len(sizes) == trainer.FOLDS and min(sizes) > len(rows) / (2 * trainer.FOLDS)


def test_the_choice_is_the_most_recall_at_the_target_precision() -> None:
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    rules = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)  # one true, one false hit
    p = np.array([0.9, 0.95, 0.8, 0.3, 0.02, 0.85, 0.1, 0.1, 0.1, 0.1])
    chosen = trainer.choose(p, y, rules)
    # the false rule hit must be vetoed (p 0.02) and 0.85 stay out: threshold above 0.85, veto above 0.02
    assert 0.85 < chosen["threshold"] <= 0.9 and 0.02 < chosen["veto"] <= 0.9
    assert chosen["criterion"] == "recall at precision 0.90"
    flagged = (p >= chosen["threshold"]) | (rules & (p >= chosen["veto"]))
    assert trainer.rates(flagged, y) == {"precision": 1.0, "recall": 0.5, "f1": 0.667}


def test_without_a_veto_every_rule_hit_counts_and_only_the_threshold_is_chosen() -> None:
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    rules = np.zeros(20, dtype=bool)
    rules[[0, 4]] = True  # one true, one false hit: 1 of 2 right, so a reader hit must be right to reach 0.90
    p = np.array([0.9, 0.95, 0.8, 0.3, 0.02, 0.85] + [0.1] * 14)
    chosen = trainer.choose(p, y, rules, veto=False)
    assert chosen["veto"] == 0.0 and chosen["criterion"] == "best F1 (precision 0.90 not reached)"
    flagged = (p >= chosen["threshold"]) | rules  # the false rule hit stays: recall is bought with a lower threshold
    assert 0.1 < chosen["threshold"] <= 0.3
    assert trainer.rates(flagged, y) == {"precision": 0.667, "recall": 1.0, "f1": 0.8}


@pytest.mark.slow
def test_what_the_trainer_exports_reads_as_the_torch_model_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    monkeypatch.setattr(trainer, "EPOCHS", 1)
    texts = ["The intern deleted the production table.", "The API timed out after 30 s.",
             "Dana pushed the config without review.", "The cache evicted every key at once."] * 2  # fmt: skip
    net = trainer.fit(texts, np.array([1, 0, 1, 0] * 2))
    trainer.export(net, tmp_path)
    head = {"weights": net.out.weight.detach().numpy()[0].tolist(), "bias": float(net.out.bias.detach()[0]),
            "threshold": 0.5, "veto": 0.0}  # fmt: skip
    (tmp_path / HEAD_FILE).write_text(json.dumps(head), encoding="utf-8")
    assert (tmp_path / "LICENSE").is_file() and "fine-tuned" in (tmp_path / "NOTICE").read_text(encoding="utf-8")
    exported = BlameReader.load(tmp_path).probabilities(texts)
    assert exported == pytest.approx(trainer.probabilities(net, texts), abs=0.05)  # int8 against fp32
