"""The fresh check set (evals/data/failures/fresh41.jsonl): its rows are new to every earlier labelled file; scored
once, they train since (but for owners of test rows), and `postmortem bench classify --split fresh41` still scores
them."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.evals.category_data import corpus_examples, default_training_examples, training_rows
from agent_postmortem.evals.failure_corpus import CORPUS, read_jsonl
from agent_postmortem.evals.fresh_failures import (
    FRESH,
    FRESH_SPLIT,
    RELABEL,
    earlier_rows,
    fresh_problems,
    relabel_sample,
)


def fresh_row(rid: str, url: str, split: str = FRESH_SPLIT) -> dict[str, Any]:
    return {
        "id": rid,
        "source": "github:a/b",
        "source_group": "github:a",
        "source_url": url,
        "license": "excerpt",
        "title": "Agent got 429",
        "text": "rate limit exceeded",
        "category": "rate_limit",
        "severity": None,
        "severity_evidence": None,
        "labeller": "A",
        "notes": "",
        "split": split,
    }


def test_the_committed_fresh_set_shares_no_id_url_or_repository_with_earlier_files() -> None:
    fresh = read_jsonl(FRESH)
    assert len(fresh) >= 80
    assert fresh_problems(fresh, earlier_rows()) == []


def test_a_reused_repository_or_another_split_is_a_problem() -> None:
    earlier = [fresh_row("gh-a-b-1", "https://github.com/a/b/issues/1", split="test")]
    same_repo = fresh_row("gh-a-b-2", "https://github.com/A/b/pull/2")
    wrong_split = fresh_row("gh-c-d-3", "https://github.com/c/d/issues/3", split="train")
    assert fresh_problems([same_repo, wrong_split], earlier) == [
        "gh-c-d-3: split must be fresh41",
        "gh-a-b-2: repository a/b already has an earlier row",
    ]


def test_the_blind_relabelling_covers_the_seeded_quarter_and_carries_labels_only() -> None:
    relabel = read_jsonl(RELABEL)
    assert [r["id"] for r in relabel] == relabel_sample(read_jsonl(FRESH))
    assert all(set(r) == {"id", "category", "severity", "labeller"} for r in relabel)


def test_training_refuses_rows_of_the_test_half() -> None:
    test = corpus_examples("test")
    with pytest.raises(ValueError, match="scored-only split: corpus:test"):
        training_rows(test)
    from agent_postmortem.evals.train_category import train

    with pytest.raises(ValueError, match="scored-only"):
        train(train_rows=test[:3])


def test_the_once_scored_fresh_rows_train_except_those_of_test_owners() -> None:
    rows = training_rows(default_training_examples())
    assert {e.origin for e in rows} == {"corpus:train", f"corpus:{FRESH_SPLIT}"}
    test_groups = {r["source_group"] for r in read_jsonl(CORPUS) if r["split"] == "test"}
    fresh = read_jsonl(FRESH)
    kept = [r for r in fresh if r["source_group"] not in test_groups]
    assert 0 < len(kept) < len(fresh)  # a few fresh rows come from owners of test rows
    trained_fresh = [e for e in rows if e.origin == f"corpus:{FRESH_SPLIT}"]
    assert len(trained_fresh) == len(kept)
    assert {e.group for e in trained_fresh} == {r["source_group"] for r in kept}
    assert not {e.group for e in rows} & test_groups


def test_bench_classify_scores_the_fresh_split_alone(tmp_path: Path, cli: Callable[..., Any]) -> None:
    path = tmp_path / "fresh.jsonl"
    rows = [
        fresh_row("f-0", "https://github.com/x/y/issues/1"),
        fresh_row("f-1", "https://github.com/x/y/issues/2") | {"title": "Tool call timed out", "category": "timeout"},
        fresh_row("t-2", "https://github.com/x/y/issues/3", split="test"),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = cli("bench", "classify", "--split", FRESH_SPLIT, "--corpus", str(path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["split"] == FRESH_SPLIT
    assert {scored["rows"] for scored in report["test"].values()} == {2}


def test_the_fresh_split_is_read_from_its_own_file() -> None:
    from agent_postmortem.evals.fresh_failures import default_corpus

    assert default_corpus(FRESH_SPLIT) == FRESH
    assert default_corpus("test") == CORPUS
