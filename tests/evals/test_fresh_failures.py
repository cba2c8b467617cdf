"""The fresh check sets (evals/data/failures/fresh41.jsonl, fresh42.jsonl, fresh43.jsonl, fresh44.jsonl): their rows
are new to every earlier labelled file and earlier fresh set, no training run learns from a set before its one scoring
(a spent set, fresh41, trains since, but for owners of test rows), and `postmortem bench classify --split <set>` scores
them."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.evals.category_data import corpus_examples, default_training_examples, training_rows
from agent_postmortem.evals.failure_corpus import CORPUS, read_jsonl
from agent_postmortem.evals.fresh_failures import (
    FRESH_SPLITS,
    TRAINED,
    checked_split,
    default_corpus,
    earlier_rows,
    fresh_problems,
    fresh_set,
    load,
    main,
    relabel_sample,
    repository,
)

LATEST = FRESH_SPLITS[-1]


def fresh_row(rid: str, url: str, split: str = LATEST) -> dict[str, Any]:
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


@pytest.mark.parametrize("split", FRESH_SPLITS)
def test_each_committed_fresh_set_shares_no_id_url_or_repository_with_earlier_files(split: str) -> None:
    fresh = load(split)
    assert len(fresh) >= 80
    assert fresh_problems(fresh, earlier_rows(split), split) == []


@pytest.mark.parametrize(
    ("split", "reports", "owners"), [("fresh42", 100, 90), ("fresh43", 90, 80), ("fresh44", 90, 85)]
)
def test_a_fresh_set_holds_its_reports_from_distinct_owners_with_every_category(
    split: str, reports: int, owners: int
) -> None:
    from agent_postmortem.evals.failure_corpus import CATEGORIES

    fresh = load(split)
    assert len(fresh) >= reports
    assert len({r["source_group"] for r in fresh}) >= owners
    counts = {c: sum(r["category"] == c for r in fresh) for c in CATEGORIES}
    assert min(counts.values()) >= 6, counts
    assert "fresh43" not in TRAINED
    assert "fresh44" not in TRAINED  # the newest set: nothing has learned from it


def test_a_later_set_must_be_fresh_against_the_sets_before_it() -> None:
    assert {r["id"] for r in load("fresh41")} <= {r["id"] for r in earlier_rows("fresh42")}
    assert not {r["id"] for r in load("fresh42")} & {r["id"] for r in earlier_rows("fresh41")}
    assert {r["id"] for r in load("fresh42")} <= {r["id"] for r in earlier_rows("fresh43")}
    assert not {r["id"] for r in load("fresh43")} & {r["id"] for r in earlier_rows("fresh42")}
    assert {r["id"] for r in load("fresh43")} <= {r["id"] for r in earlier_rows("fresh44")}
    assert not {r["id"] for r in load("fresh44")} & {r["id"] for r in earlier_rows("fresh43")}
    reused = fresh_row("gh-x-1", load("fresh41")[0]["source_url"].rsplit("/", 1)[0] + "/999999")
    repo = repository(reused["source_url"])
    assert fresh_problems([reused], earlier_rows(LATEST), LATEST) == [
        f"gh-x-1: repository {repo} already has an earlier row"
    ]


def test_a_reused_repository_or_another_split_is_a_problem() -> None:
    earlier = [fresh_row("gh-a-b-1", "https://github.com/a/b/issues/1", split="test")]
    same_repo = fresh_row("gh-a-b-2", "https://github.com/A/b/pull/2")
    wrong_split = fresh_row("gh-c-d-3", "https://github.com/c/d/issues/3", split="fresh41")
    assert fresh_problems([same_repo, wrong_split], earlier, LATEST) == [
        f"gh-c-d-3: split must be {LATEST}",
        "gh-a-b-2: repository a/b already has an earlier row",
    ]


@pytest.mark.parametrize("split", FRESH_SPLITS)
def test_each_blind_relabelling_covers_its_seeded_quarter_and_carries_labels_only(split: str) -> None:
    relabel = read_jsonl(fresh_set(split).relabel)
    assert [r["id"] for r in relabel] == relabel_sample(load(split), split)
    assert all(set(r) == {"id", "category", "severity", "labeller"} for r in relabel)


UNSPENT = [split for split in FRESH_SPLITS if split not in TRAINED]


@pytest.mark.parametrize("split", ["test", *UNSPENT])
def test_training_refuses_rows_of_the_test_half_and_of_each_unspent_fresh_split(split: str) -> None:
    held = corpus_examples(split) if split == "test" else corpus_examples(split, fresh_set(split).path)
    assert held and {e.origin for e in held} == {f"corpus:{split}"}
    with pytest.raises(ValueError, match=f"scored-only split: corpus:{split}"):
        training_rows(held)
    from agent_postmortem.evals.train_category import train

    with pytest.raises(ValueError, match="scored-only"):
        train(train_rows=held[:3])


def test_the_default_training_rows_hold_no_unspent_fresh_report() -> None:
    rows = training_rows(default_training_examples())
    trained = {e.capture.description for e in rows}
    assert UNSPENT
    for split in UNSPENT:
        assert not {e.capture.description for e in corpus_examples(split, fresh_set(split).path)} & trained


def test_the_once_scored_fresh_rows_train_except_those_of_test_owners() -> None:
    rows = training_rows(default_training_examples())
    assert {e.origin for e in rows} == {"corpus:train", *(f"corpus:{split}" for split in TRAINED)}
    test_groups = {r["source_group"] for r in read_jsonl(CORPUS) if r["split"] == "test"}
    for split in TRAINED:
        fresh = read_jsonl(fresh_set(split).path)
        kept = [r for r in fresh if r["source_group"] not in test_groups]
        assert 0 < len(kept) < len(fresh)  # a few fresh rows come from owners of test rows
        trained_fresh = [e for e in rows if e.origin == f"corpus:{split}"]
        assert len(trained_fresh) == len(kept)
        assert {e.group for e in trained_fresh} == {r["source_group"] for r in kept}
    assert not {e.group for e in rows} & test_groups


@pytest.mark.parametrize("split", FRESH_SPLITS)
def test_bench_classify_scores_a_fresh_split_alone(split: str, tmp_path: Path, cli: Callable[..., Any]) -> None:
    path = tmp_path / "fresh.jsonl"
    rows = [
        fresh_row("f-0", "https://github.com/x/y/issues/1", split=split),
        fresh_row("f-1", "https://github.com/x/y/issues/2", split=split)
        | {"title": "Tool call timed out", "category": "timeout"},
        fresh_row("t-2", "https://github.com/x/y/issues/3", split="test"),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = cli("bench", "classify", "--split", split, "--corpus", str(path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["split"] == split
    assert {scored["rows"] for scored in report["test"].values()} == {2}


def test_bench_classify_names_the_splits_it_takes(cli: Callable[..., Any]) -> None:
    result = cli("bench", "classify", "--split", "train")
    assert result.exit_code != 0
    assert "--split must be test, fresh41, fresh42, fresh43 or fresh44" in result.output


def test_each_fresh_split_is_read_from_its_own_file() -> None:
    for split in FRESH_SPLITS:
        assert default_corpus(split) == fresh_set(split).path
        assert default_corpus(split).name == f"{split}.jsonl"
    assert default_corpus("test") == CORPUS
    assert checked_split("fresh42", ("test",)) == "fresh42"
    with pytest.raises(ValueError, match="--split must be test, train, all, fresh41, fresh42, fresh43 or fresh44"):
        checked_split("dev", ("test", "train", "all"))


def test_the_command_checks_and_relabels_every_set_or_the_one_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    assert "fresh41: 90 rows, fresh42: 102 rows, fresh43: 90 rows, fresh44:" in capsys.readouterr().err
    assert main(["agreement", "fresh42"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"fresh42"}
    assert main(["check", "fresh9"]) == 2
    assert "'fresh9' is not a fresh split" in capsys.readouterr().err
