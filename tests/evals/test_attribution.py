"""The attribution benchmark: accuracies with intervals and the baselines, computed on the same labelled runs."""

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from agent_postmortem.analysis.steps import AttributionAnswer
from agent_postmortem.cli.app import app
from agent_postmortem.evals.attribution import run
from tests.factories import FakeLLM


def labelled(run_id: str, steps: list[tuple[str, str]], agent: str, step: int) -> dict[str, Any]:
    trace = [{"step": i, "agent": who, "content": text} for i, (who, text) in enumerate(steps)]
    return {"id": run_id, "trace": trace, "labels": {"mistake_agent": agent, "mistake_step": step}}


TERMINAL = ("Computer_terminal", "exitcode: 1")
RUNS = [
    # the heuristic picks step 1 (Coder): right agent and step
    labelled("a", [("human", "task"), ("Coder", "code"), TERMINAL, ("Coder", "fix")], "Coder", 1),
    # it picks step 1 (Coder) again; the mistake is the Checker's at step 2: wrong agent, step off by one
    labelled("b", [("human", "task"), ("Coder", "code"), ("Checker", "ok"), ("Coder", "more")], "Checker", 2),
]


def write(tmp_path: Path) -> Path:
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RUNS) + "\n", encoding="utf-8")
    return path


def test_heuristic_scores_with_intervals_next_to_the_baselines(tmp_path: Path) -> None:
    result = run(write(tmp_path))
    assert (result["runs"], result["agent"]["hits"], result["step"]["hits"], result["step_within_1"]["hits"]) == (
        2,
        1,
        1,
        2,
    )
    assert result["step"]["low"] < 0.5 < result["step"]["high"] and result["step"]["rate"] == 0.5
    # the most talkative agent is the Coder in both runs: right in a, wrong in b
    assert result["baselines"]["most_talkative_agent"]["hits"] == 1
    assert result["baselines"]["random_step_expected"] == 0.25
    assert set(result["by_half"]) == {"design", "held_out"} and result["llm_fallbacks"] is None


def test_llm_scores_count_fallbacks_and_score_the_llm_answers_alone(tmp_path: Path) -> None:
    llm = FakeLLM(
        AttributionAnswer(responsible="Coder", decisive_step=1, evidence="code", reason="Wrong code."),
        AttributionAnswer(responsible="Nobody", decisive_step=2, evidence="", reason="Not an agent."),
    )
    result = run(write(tmp_path), method="llm", llm=llm)
    assert result["llm_fallbacks"] == 1 and result["llm_answers_only"]["agent"] == {
        "hits": 1,
        "n": 1,
        "rate": 1.0,
        "low": 0.2065,
        "high": 1.0,
    }


def test_bench_attribution_rejects_an_unknown_attributor_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "attribution", "--dataset", str(write(tmp_path)), "--attribute", "x"])
    assert result.exit_code == 2 and "heuristic or llm" in result.stderr and "Traceback" not in result.stderr


def test_the_earlier_rule_and_the_heuristic_are_scored_on_the_same_runs_and_each_half(tmp_path: Path) -> None:
    """Run c: the first action (step 1) plans; step 2 states figures nobody found, and is the labelled mistake."""
    invented = labelled(
        "c",
        [("human", "task"), ("Planner", "search"), ("Analyst", "assume 120, 340 and 560"), TERMINAL],
        "Analyst",
        2,
    )
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [*RUNS, invented]) + "\n", encoding="utf-8")
    heuristic = run(path)
    assert (heuristic["step"]["hits"], heuristic["baselines"]["first_action"]["step"]["hits"]) == (2, 1)
    assert "heuristic" not in heuristic["baselines"]
    halves = heuristic["by_half"]
    assert sum(h["step"]["n"] for h in halves.values()) == 3
    assert all(h["baselines"] is None or "first_action" in h["baselines"] for h in halves.values())
    llm = FakeLLM(
        *(AttributionAnswer(responsible="Nobody", decisive_step=0, evidence="", reason="None.") for _ in "abc")
    )
    with_llm = run(path, method="llm", llm=llm)
    assert with_llm["baselines"]["heuristic"]["step"]["hits"] == 2 and with_llm["llm_fallbacks"] == 3
    assert with_llm["llm_fallback_reasons"] == {"the answer names an agent that is not in the run": 3}


def test_one_half_is_scored_without_the_other_being_attributed(tmp_path: Path) -> None:
    """`--half design` drops the held-out runs before anything attributes them (a and b are held out, c is design),
    so a round of design can be measured without looking at the held-out figures."""
    invented = labelled("c", [("human", "task"), ("Analyst", "assume 120, 340 and 560"), TERMINAL], "Analyst", 1)
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [*RUNS, invented]) + "\n", encoding="utf-8")
    design = run(path, only="design")
    assert (design["runs"], design["half"], set(design["by_half"])) == (1, "design", {"design"})
    assert design["step"]["hits"] == 1
    result = CliRunner().invoke(app, ["bench", "attribution", "--dataset", str(path), "--half", "design", "--json"])
    assert result.exit_code == 0 and "held_out" not in result.stdout, result.stderr
    assert json.loads(result.stdout)["runs"] == 1
    wrong = CliRunner().invoke(app, ["bench", "attribution", "--dataset", str(path), "--half", "both"])
    assert wrong.exit_code == 2 and "design or held_out" in wrong.stderr
    only_held_out = tmp_path / "held_out.jsonl"
    only_held_out.write_text("\n".join(json.dumps(r) for r in RUNS) + "\n", encoding="utf-8")
    empty = CliRunner().invoke(app, ["bench", "attribution", "--dataset", str(only_held_out), "--half", "design"])
    assert empty.exit_code != 0 and "in the design half" in empty.stderr and "Traceback" not in empty.stderr


def test_the_design_half_is_scored_on_two_folds_and_the_other_half_never_is(tmp_path: Path) -> None:
    """The design half splits by the parity of sha256("fold:" + id): c is in fold 1 and e in fold 0 (both design
    runs; a and b are held out). A change is kept only when it holds on both folds, so each is scored on its own."""
    right = labelled("c", [("human", "task"), ("Analyst", "assume 120, 340 and 560"), TERMINAL], "Analyst", 1)
    wrong_step = labelled("e", [("human", "task"), ("Coder", "code"), ("Checker", "ok")], "Coder", 2)
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [*RUNS, right, wrong_step]) + "\n", encoding="utf-8")
    folds = run(path, only="design")["folds"]
    assert (folds["fold_0"]["step"]["n"], folds["fold_0"]["step"]["hits"]) == (1, 0)
    assert (folds["fold_1"]["step"]["n"], folds["fold_1"]["step"]["hits"]) == (1, 1)
    assert folds["fold_0"]["agent"]["hits"] == 1  # e: the right agent at the wrong step
    assert run(path)["folds"] is None  # both halves: folds would mix the held-out runs in
