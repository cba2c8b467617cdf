"""Round 11's rule for rule additions, on small snapshots: kept only when Q loses no recall, at most 0.01 precision,
and the project's own text gains no finding."""

from typing import Any

from agent_postmortem.evals.blame_round11 import compare


def _snapshot(q_ships: list[bool], own: list[str]) -> dict[str, Any]:
    y = [1, 1, 0, 0]
    rows = {"y": y, "ships": q_ships, "rules": q_ships}
    return {"Q": rows, "C": rows, "test10": {**rows, "text": ["a", "b", "c", "d"]}, "own": own}


def test_a_change_that_only_adds_true_findings_is_kept_and_its_new_fresh_sentences_listed() -> None:
    result = compare(_snapshot([True, False, False, False], []), _snapshot([True, True, False, False], []))
    assert result["kept"]
    assert result["Q"]["ships"]["newly_flagged"] == 1 and result["Q"]["ships"]["of_them_blaming"] == 1
    assert result["test10"]["rules"]["new"] == ["b"]


def test_a_change_that_costs_recall_or_precision_on_q_is_not_kept() -> None:
    assert not compare(_snapshot([True, True, False, False], []), _snapshot([True, False, False, False], []))["kept"]
    assert not compare(_snapshot([True, False, False, False], []), _snapshot([True, False, True, False], []))["kept"]


def test_a_change_that_adds_a_finding_on_the_projects_own_text_is_not_kept() -> None:
    result = compare(_snapshot([True, False, False, False], ["x"]), _snapshot([True, True, False, False], ["x", "y"]))
    assert not result["kept"] and result["own_newly_flagged"] == ["y"]
