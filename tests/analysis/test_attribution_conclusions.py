"""The rule-based attributor on runs whose failure is in how they began or ended rather than in their first action:
a conclusion that accepts a zero or empty result as the answer, and a brief that hands on an earlier round's
results it says were mocked, simulated or checked by hand."""

from agent_postmortem.analysis.attribution_rules import NULL_RESULT, first_action, pick_step
from agent_postmortem.analysis.steps import heuristic_attribution
from tests.analysis.attribution_runs import SEARCHED, TASK, TERMINAL, make_run

NULL_ENDED = [
    *SEARCHED,
    ("Statistician", "The station table has the rows. ```python\nprint(rainy_share(table, 2021))\n```"),
    (TERMINAL, "exitcode: 0 (execution succeeded)\nCode output: rainy months: 0\nshare: 0.00%"),
    ("Statistician", "The table shows no rainy months in 2021, so the share of rainy months is 0.00%."),
    ("Verifier", "I have reviewed the analysis: the share is indeed 0.00%, and the result is accurate. TERMINATE"),
    ("Verifier", "TERMINATE"),
]


def test_a_conclusion_that_accepts_a_zero_result_is_decisive() -> None:
    """The verifier approves a result of zero for a task that asks for an amount: its approval, the run's last
    action, is where the run accepted the empty result instead of questioning the data (the first action, the
    search, is not)."""
    run = make_run(NULL_ENDED)
    assert pick_step(run.steps, run.task).rule == "null_result"
    found = heuristic_attribution(run)
    assert (found.responsible, found.decisive_step) == ("Verifier", 6)
    assert "accepting a zero or empty result" in found.reason


def test_a_conclusion_that_nothing_fits_is_a_null_result() -> None:
    ended = [*NULL_ENDED[:5], ("Verifier", "There are no months in the table that meet the criterion. TERMINATE")]
    run = make_run(ended)
    assert heuristic_attribution(run).decisive_step == 5


def test_a_conclusion_with_an_answer_or_with_code_is_not_a_null_result() -> None:
    answered = [*NULL_ENDED[:5], ("Verifier", "The share is 41.7%, with no objections from anyone. TERMINATE")]
    rerun = [*NULL_ENDED[:5], ("Verifier", "The share is 0.00%? Let's check. ```python\nprint(table.head())\n```")]
    for steps in (answered, rerun):
        run = make_run(steps)
        assert pick_step(run.steps, run.task) == first_action(run.steps, run.task)
    assert not NULL_RESULT.search("The exit code is 0 and the output was checked.")
    assert not NULL_RESULT.search("The threshold is 0.5 mm.")


def brief(results: str, plan: str = "1. Verify the monthly figures. 2. Average them.") -> tuple[str, str]:
    return (
        "Data_Expert",
        f"You are given a task and a plan.\n# General Task\n{TASK}\n## Plan for solving the task\n{plan}\n"
        f"## Results from last response\n{results}",
    )


CHECKED = [
    ("Verifier", "The figures give an average of 48.7 mm, which looks consistent. TERMINATE"),
    (TERMINAL, "There is no code from the last 1 message for me to execute."),
    ("Climate_Expert", "I agree with the average. TERMINATE"),
]


def test_a_brief_that_hands_on_mocked_results_is_decisive() -> None:
    """The brief's results come from a mock table; the verifier only checks the arithmetic. The brief (not itself an
    action: it hands the task in) is where values no tool read entered the run."""
    run = make_run([brief("The monthly values from a mock dataset: 95, 80, 61 mm. The average is 48.7 mm."), *CHECKED])
    assert pick_step(run.steps, run.task).rule == "invented_brief"
    found = heuristic_attribution(run)
    assert (found.responsible, found.decisive_step) == ("Data_Expert", 0)
    assert "mocked, simulated or checked by hand" in found.reason
    by_hand = brief("After manually checking the bulletin: 95, 80, 61 mm. The average is 48.7 mm.")
    assert heuristic_attribution(make_run([by_hand, *CHECKED])).decisive_step == 0


def test_a_brief_with_real_results_or_guessing_words_only_in_its_plan_is_not_decisive() -> None:
    real = brief("The station table read by the script: 95, 80, 61 mm. The average is 48.7 mm.")
    plan_only = brief("The station table read by the script: 95, 80, 61 mm.", plan="Do not use mock data.")
    for first in (real, plan_only):
        run = make_run([first, *CHECKED])
        assert pick_step(run.steps, run.task) == first_action(run.steps, run.task)
        assert heuristic_attribution(run).decisive_step == 1
