"""The fresh Who&When runs (evals/data/who_and_when_fresh.jsonl, Algorithm-Generated, and
evals/data/who_and_when_fresh_hand.jsonl, Hand-Crafted; none of them in the development file): each file reads as
the benchmark reads it, and every row is whole: one id and one question each, steps numbered 0, 1, 2, ... in order,
labels naming an agent of the run and a step inside it, and no reference answer. Where the development file is at
hand, no fresh run shares a question or its opening steps with a development run. Who&When asks the same question
of both of its systems, so the two fresh files may share a question, but never a run."""

import json
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.evals import attribution
from agent_postmortem.ingest.steps import read_runs

DATA = Path(attribution.__file__).parent / "data"
FRESH = {
    "Algorithm-Generated": DATA / "who_and_when_fresh.jsonl",
    "Hand-Crafted": DATA / "who_and_when_fresh_hand.jsonl",
}
SOURCE = "https://github.com/nguyenddat/failure_attribution/blob/"
ROOT = Path(__file__).resolve().parents[2]
# the shared data sits beside the main checkout (../shared) and two levels up from a worktree
DEVELOPMENT = (
    next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()), ROOT / "shared")
    / "data"
    / "who_and_when"
    / "traces_dev.jsonl"
)


def _opening(run: dict[str, Any]) -> tuple[str, ...]:
    return tuple(s["content"] for s in run["trace"][:3])


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module", params=sorted(FRESH))
def subset(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def rows(subset: str) -> list[dict[str, Any]]:
    return _rows(FRESH[subset])


def test_the_benchmark_reads_every_row_as_a_labelled_failure(subset: str, rows: list[dict[str, Any]]) -> None:
    runs = attribution.load(FRESH[subset], limit=None)
    assert len(runs) == len(rows) == len(read_runs(FRESH[subset]))
    assert {r.subset for r in runs} == {subset}


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


def test_the_two_fresh_files_share_no_run() -> None:
    algorithm, hand = (_rows(FRESH[s]) for s in ("Algorithm-Generated", "Hand-Crafted"))
    assert not {r["id"] for r in algorithm} & {r["id"] for r in hand}
    assert not {_opening(r) for r in algorithm} & {_opening(r) for r in hand}


@pytest.mark.skipif(not DEVELOPMENT.exists(), reason="the Who&When development file is not at hand")
def test_no_fresh_run_is_a_development_run(rows: list[dict[str, Any]]) -> None:
    development = _rows(DEVELOPMENT)
    questions = {r["text"].strip() for r in development}
    openings = {_opening(r) for r in development}
    for r in rows:
        assert r["text"].strip() not in questions, r["id"]
        assert _opening(r) not in openings, r["id"]
