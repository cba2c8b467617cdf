"""The fresh Who&When runs (evals/data/who_and_when_fresh.jsonl, none of them in the development file): the file
reads as the benchmark reads it, and every row is whole: one id and one question each, steps numbered 0, 1, 2, ...
in order, labels naming an agent of the run and a step inside it, and no reference answer."""

import json
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.evals import attribution
from agent_postmortem.ingest.steps import read_runs

FRESH = Path(attribution.__file__).parent / "data" / "who_and_when_fresh.jsonl"
SOURCE = "https://github.com/nguyenddat/failure_attribution/blob/"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in FRESH.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_benchmark_reads_every_row_as_a_labelled_failure(rows: list[dict[str, Any]]) -> None:
    runs = attribution.load(FRESH, limit=None)
    assert len(runs) == len(rows) == len(read_runs(FRESH))
    assert {r.subset for r in runs} <= {"Algorithm-Generated", "Hand-Crafted"}


def test_ids_and_questions_are_unique(rows: list[dict[str, Any]]) -> None:
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["text"].strip() for r in rows}) == len(rows)


def test_steps_are_contiguous_from_zero_and_counted(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        assert [s["step"] for s in r["trace"]] == list(range(len(r["trace"]))) == list(range(r["n_steps"])), r["id"]
        assert r["agents"] == sorted({s["agent"] for s in r["trace"]}), r["id"]


def test_labels_name_an_agent_of_the_run_and_a_step_inside_it(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        labels = r["labels"]
        assert 0 <= labels["mistake_step"] < r["n_steps"], r["id"]
        assert labels["mistake_agent"] in r["agents"], r["id"]


def test_every_row_keeps_its_source_and_licence_and_no_reference_answer(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        assert r["source_url"].startswith(SOURCE) and r["license"].startswith("MIT"), r["id"]
        assert "ground_truth_answer" not in r, r["id"]
