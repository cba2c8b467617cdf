"""`bench classify` reports each labelling round's test rows alone, so a round committed before training is read as
a first look while the older rounds (looked at before) stay separate."""

import json
from pathlib import Path

from agent_postmortem.evals.classification import by_round


def test_scores_are_split_by_round_in_corpus_order(tmp_path: Path) -> None:
    rows = [
        {"split": "test", "category": "timeout"},
        {"split": "train", "category": "timeout", "round": 5},
        {"split": "test", "category": "rate_limit", "round": 4},
        {"split": "test", "category": "timeout", "round": 4},
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    truth = ["timeout", "rate_limit", "timeout"]
    decided = {name: ["timeout", "timeout", "timeout"] for name in ("learned", "learned_with_neighbours", "rules")}
    decided["seed_classifier"] = ["rate_limit", "rate_limit", "timeout"]
    result = by_round(corpus, truth, decided)
    assert set(result) == {"round_1", "round_4"}
    assert result["round_1"]["learned"]["accuracy"] == 1.0
    assert result["round_4"]["learned"]["accuracy"] == 0.5
    assert result["round_4"]["seed_classifier"]["accuracy"] == 1.0
    assert result["round_1"]["seed_classifier"]["accuracy"] == 0.0
