"""Round 9's tooling: the held rows of the cached reader, the rules' partial evidence, and the ways of combining the
reader with the rules that it compares."""

import numpy as np

from agent_postmortem.evals import blame_round9 as round9
from agent_postmortem.evals.blame_heldout import held, key
from agent_postmortem.evals.blameless import SEALED
from agent_postmortem.evals.train_blame_reader import rows


def test_the_held_rows_are_test6_test7_and_one_quarter_of_train8_and_train9_never_a_sealed_set() -> None:
    data = rows()
    kept = [r for r in data if held(r)]
    assert {r["set"] for r in kept} == {"external_test6", "external_test7", "external_train8", "external_train9"}
    assert not {r["set"] for r in data} & set(SEALED)
    quarter = [r for r in kept if r["set"] in ("external_train8", "external_train9")]
    assert {r["fold"] for r in quarter} == {"part-1"}
    # a source is on one side only: the reader that read a held row never learnt from its source
    sources = {r["source"] for r in kept}
    assert not sources & {r["source"] for r in data if not held(r)}
    assert len({key(r["set"], r["text"]) for r in kept}) == len(kept)


def test_a_person_heading_a_clause_is_partial_evidence_and_a_system_is_not() -> None:
    assert round9.person_head("The intern restarted the service after the alert.")
    assert round9.person_head("Yesterday we rolled the release back twice.")
    assert not round9.person_head("The scheduler forgot to release the lock.")
    assert not round9.person_head("The migration was deployed by the pipeline at noon.")


def test_the_baseline_keeps_a_rule_hit_that_names_a_role_whatever_the_reader_says() -> None:
    p = np.array([0.01, 0.01, 0.99, 0.5])
    f = {"rules": np.array([True, True, False, False]), "role": np.array([True, False, False, False])}
    assert round9.baseline(p, f).tolist() == [True, False, True, False]


def test_a_conditioned_threshold_lowers_only_for_evidence_without_a_rule_hit() -> None:
    p = np.array([0.6, 0.6, 0.6, 0.01])
    f = {"rules": np.array([False, False, True, True]), "role": np.zeros(4, dtype=bool)}
    evidence = np.array([True, False, True, True])
    assert round9.conditioned(p, f, evidence, 0.5).tolist() == [True, False, True, False]


def test_the_choice_is_the_most_recall_at_the_floor_and_the_higher_threshold_on_a_tie() -> None:
    y = np.array([1, 1, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.4, 0.85, 0.1])
    on = np.ones(5, dtype=bool)
    t, figures = round9.best(lambda t: p >= t, y, on, 0.9, np.array([0.3, 0.5, 0.86, 0.88]))
    assert t == 0.88 and figures["recall"] == 0.333  # 0.5 and 0.3 let 0.85 in (precision 0.67, 0.75)


def test_the_logistic_layer_learns_which_way_a_feature_points() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] - x[:, 1] + rng.normal(scale=0.5, size=400) > 0).astype(float)
    w = round9._logistic(x, y)
    assert w[0] > 1 and w[1] < -1
    scores = round9.cross_fit(x, y, [str(i) for i in range(400)])
    assert np.mean((scores > 0.5) == (y == 1)) > 0.8
