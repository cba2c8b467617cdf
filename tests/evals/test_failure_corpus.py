"""The labelled failure corpus: the committed rows obey GUIDE.md's schema and the split-by-source rule,
the second-labelling sample is the seeded one and shows no labels, and kappa is computed correctly."""

import math
import re
import subprocess
import sys
from collections import Counter

import pytest

from agent_postmortem.evals.failure_corpus import (
    CATEGORIES,
    HERE,
    SAMPLE,
    SAMPLE_FIELDS,
    agreement,
    assign_split,
    cohen_kappa,
    first_round,
    load,
    problems,
    read_jsonl,
    row_problems,
    rule_baseline,
    second_sample,
)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    return load()


def test_committed_corpus_has_no_problems(rows: list[dict[str, object]]) -> None:
    assert problems(rows) == []


def test_size_balance_and_split(rows: list[dict[str, object]]) -> None:
    assert len(rows) >= 300
    total = Counter(r["category"] for r in rows)
    test = Counter(r["category"] for r in rows if r["split"] == "test")
    assert all(total[c] >= 20 for c in CATEGORIES), total
    assert all(test[c] >= 5 for c in CATEGORIES), test
    assert 0.25 <= sum(test.values()) / len(rows) <= 0.40  # round 2 added test-only sources for severity


def test_a_source_group_on_both_sides_is_a_problem(rows: list[dict[str, object]]) -> None:
    first_dfds = next(r["id"] for r in rows if r["source_group"] == "postmortem:dfds")
    moved = [dict(r, split="test") if r["id"] == first_dfds else r for r in rows]
    assert "source group postmortem:dfds is in both train and test" in problems(moved)


def test_row_problems_name_the_row() -> None:
    row = {
        "id": "x-1",
        "category": "llm_refusal",
        "severity": "SEV2",
        "severity_evidence": None,
        "text": "t",
        "split": "train",
    }
    found = row_problems(row)
    assert "x-1: a severity needs its quoted evidence, and evidence needs a severity" in found
    assert any(p.startswith("x-1: missing field license") for p in found)
    assert "x-1: category 'refusal' is not one of the nine" in row_problems({**row, "category": "refusal"})


def test_second_sample_is_the_seeded_one_and_hides_labels(rows: list[dict[str, object]]) -> None:
    committed = read_jsonl(SAMPLE)
    assert committed == second_sample(rows)
    assert all(list(r) == SAMPLE_FIELDS for r in committed)
    by_id = {r["id"]: r for r in rows}
    picked = Counter(by_id[r["id"]]["category"] for r in committed)
    first = first_round(rows)
    total = Counter(r["category"] for r in first)
    assert all(picked[c] >= math.ceil(0.2 * total[c]) for c in CATEGORIES), picked
    assert len(committed) >= 0.2 * len(first)


def test_assign_split_keeps_fixed_sources_and_whole_groups() -> None:
    rows = [{"source_group": f"g{i % 7}", "category": CATEGORIES[i % 9]} for i in range(90)]
    rows += [{"source_group": "big", "category": c} for c in CATEGORIES]
    assign = assign_split(rows, fixed={"big": "train"}, tries=200)
    assert assign["big"] == "train"
    assert set(assign) == {f"g{i}" for i in range(7)} | {"big"}
    assert set(assign.values()) <= {"train", "test"}


def test_cohen_kappa() -> None:
    assert cohen_kappa(["a", "b", "a"], ["a", "b", "a"]) == 1.0
    # 50 items: 20 yes/yes, 15 no/no, 5 yes/no, 10 no/yes -> po 0.7, pe 0.5, kappa 0.4
    first = ["y"] * 25 + ["n"] * 25
    second = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        cohen_kappa(["a"], [])


def test_check_command_passes_on_the_committed_corpus() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agent_postmortem.evals.failure_corpus", "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "no problems" in done.stderr


def test_agreement_of_a_labelling_with_itself_is_one(rows: list[dict[str, object]]) -> None:
    second = [{"id": r["id"], "category": r["category"], "severity": r["severity"]} for r in rows[:60]]
    result = agreement(rows, second)
    assert result["items"] == 60
    assert result["category_kappa"] == 1.0 and result["rated_or_null_kappa"] == 1.0


def test_guide_lists_exactly_the_test_sources(rows: list[dict[str, object]]) -> None:
    section = (HERE / "GUIDE.md").read_text(encoding="utf-8").split("## 8. The split", 1)[1]
    listed = set(re.findall(r"`((?:github|postmortem|web):[^`]+)`", section))
    assert listed == {r["source_group"] for r in rows if r["split"] == "test"}


def test_rule_baseline_scores_by_split_and_category() -> None:
    rows = [
        {"title": "429 Too Many Requests", "text": "rate limit exceeded", "category": "rate_limit", "split": "test"},
        {"title": "Outage", "text": "rate limit exceeded", "category": "business_logic", "split": "test"},
    ]
    result = rule_baseline(rows)
    assert result["test:rate_limit"] == "1/1 = 1.000"
    assert result["test:business_logic"] == "0/1 = 0.000"
    assert result["test"] == "1/2 = 0.500"
