"""The rule-based attributor on small traces written for these tests: a coordinator's premature "request
satisfied", the first step that states figures the run never found, the first claim to have read a source no tool
opened, the action whose tool output began the failures a run ended on, the last attempt of the agent that took the
task on when the run ended on its output, and the first substantive action."""

import json
from pathlib import Path

from agent_postmortem.analysis.attribution_rules import failed, first_action, is_tool_name, pick_step, stated_figures
from agent_postmortem.analysis.steps import Step, heuristic_attribution
from tests.analysis.attribution_runs import SEARCHED, TASK, TERMINAL, make_run


def ledger(satisfied: bool, reason: str) -> str:
    body = {
        "is_request_satisfied": {"reason": reason, "answer": satisfied},
        "is_in_loop": {"reason": "no", "answer": False},
    }
    return "Updated Ledger: " + json.dumps(body)


INVENTED = [
    ("Planner", f"Task: {TASK} Plan: find the monthly figures, then average them."),
    ("Analyst", "Let's download the climate table for Lisbon and read the 2021 rows. ```python\nfetch(2021)\n```"),
    (TERMINAL, "exitcode: 1 (execution failed)\nCode output: ConnectionError: host unreachable"),
    ("Statistician", "The download failed. Let's assume the monthly values were 95, 80, 61, 58, 31, 12 and 4 mm."),
    (TERMINAL, "exitcode: 0 (execution succeeded)\nCode output: 48.71"),
    ("Verifier", "The average of 48.71 mm looks right. TERMINATE"),
]


def test_the_first_step_that_states_figures_the_run_never_found_is_decisive() -> None:
    """The analyst's plan states nothing new; the statistician invents the monthly values after the failed
    download, and the verifier only repeats the tool's 48.71."""
    found = heuristic_attribution(make_run(INVENTED))
    assert (found.responsible, found.decisive_step) == ("Statistician", 3)
    assert "figures found nowhere earlier in the run (95, 80, 61, 58)" in found.reason
    assert "assume" in found.reason and "95, 80, 61" in found.evidence


def test_figures_from_the_task_a_tool_output_code_or_a_link_are_not_new() -> None:
    steps = [
        ("Planner", f"Task: {TASK}"),
        ("Analyst", "Fetching https://example.org/lisbon/2021/rain-mm/12 ```python\nrows = table[2021][1:13]\n```"),
        (TERMINAL, "exitcode: 0 (execution succeeded)\nCode output: 95.0 80.0 61.0 58.0 31.0 12.0"),
        ("Statistician", "The table gives 95.0, 80.0, 61.0 and 58.0 mm for the first months of 2021."),
    ]
    run = make_run(steps)
    assert pick_step(run.steps, run.task).rule == "first_action"
    assert heuristic_attribution(run).decisive_step == 1  # the first substantive action: the analyst's fetch
    assert stated_figures("1,100 readings in `x = 2_000` and ```\n3000\n``` at https://a.b/4000") == {"1100"}


def test_a_figure_written_with_thousands_separators_is_the_one_seen_without() -> None:
    steps = [
        ("Planner", f"Task: {TASK}"),
        (TERMINAL, "exitcode: 0\nCode output: stations=1100 readings=25300 gaps=214"),
        ("Analyst", "We have 1,100 stations, 25,300 readings and 214 gaps, so the data is complete."),
    ]
    run = make_run(steps)
    assert pick_step(run.steps, run.task).rule == "first_action"


def test_a_coordinator_that_declares_the_request_satisfied_is_responsible_at_that_step() -> None:
    steps = [
        ("human", TASK),
        ("Orchestrator", "Initial plan: ask WebSurfer for the 2021 monthly rainfall table."),
        ("Orchestrator", ledger(False, "The table has not been found yet.")),
        ("WebSurfer", "I typed 'Lisbon rainfall 2021' into the search bar. The page shows 2020 averages: 62 mm."),
        ("Orchestrator", ledger(True, "The average monthly rainfall is 62 mm.")),
        ("Orchestrator", "Request satisfied."),
    ]
    found = heuristic_attribution(make_run(steps))
    assert (found.responsible, found.decisive_step) == ("Orchestrator", 4)
    assert "declared the request satisfied" in found.reason and "is_request_satisfied" in found.evidence


def test_a_ledger_that_is_not_satisfied_changes_nothing() -> None:
    steps = [
        ("human", TASK),
        ("Orchestrator", ledger(False, "The table has not been found yet.")),
        ("WebSurfer", "I typed 'Lisbon rainfall 2021' into the search bar."),
    ]
    run = make_run(steps)
    assert pick_step(run.steps, run.task) == first_action(run.steps, run.task)
    assert heuristic_attribution(run).responsible == "WebSurfer"


def test_an_expert_whose_field_names_a_computer_is_an_agent_not_a_tool() -> None:
    """'Computer' inside an expert's field does not make it a terminal: its reading of the search is the action."""
    steps = [
        ("Planner", f"Task: {TASK}"),
        (TERMINAL, "exitcode: 0 (execution succeeded)\nCode output: Lisbon 2021 yearly total: 585 mm"),
        ("ComputerScienceHistory_Expert", "The total is for the year, so the monthly average is 585 / 12."),
        ("Verifier", "Agreed. TERMINATE"),
    ]
    found = heuristic_attribution(make_run(steps))
    assert (found.responsible, found.decisive_step) == ("ComputerScienceHistory_Expert", 2)
    assert [is_tool_name(n) for n in ("Computer_terminal", "code_executor", "user_proxy", "Computer")] == [True] * 4
    assert [is_tool_name(n) for n in ("ComputerVision_Expert", "Terminal_Expert", "WebSurfer")] == [False] * 3


def test_a_browser_page_dump_under_an_agents_name_is_tool_output() -> None:
    """A web agent that only returns the page it opened has not acted yet: the agent that reads the page has."""
    page = "Address: https://example.org/lisbon\nTitle: Lisbon climate\nViewport position: Showing page 1 of 3.\n"
    steps = [
        ("Planner", f"Task: {TASK}"),
        ("WebServing_Expert", page + "Rainfall 2020 2021 2022 in mm: 640 585 702 (yearly)"),
        ("Analyst", "The page gives the 2021 total; dividing by twelve gives the average."),
    ]
    found = heuristic_attribution(make_run(steps))
    assert (found.responsible, found.decisive_step) == ("Analyst", 2)


def test_list_numbering_is_not_a_stated_figure() -> None:
    """An agent that enumerates the months (1. to 12.) states no figures; the one that gives values does."""
    months = "\n".join(f"{i}. {m}" for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                                           "Sep", "Oct", "Nov", "Dec"], start=1))  # fmt: skip
    steps = [
        ("Planner", f"Task: {TASK}"),
        ("Analyst", f"We need a value for each month:\n{months}\nStep 2: average them."),
        ("Statistician", "Typical values are 95, 80 and 61 mm for the first three months."),
    ]
    run = make_run(steps)
    assert stated_figures(steps[1][1]) == set()
    assert (pick_step(run.steps, run.task).index, pick_step(run.steps, run.task).rule) == (2, "new_figures")


def test_one_new_figure_stated_on_an_assumption_is_decisive() -> None:
    """A single figure nobody found is enough when the step says it assumes it; without the guess it is not."""
    guessed = "No 2021 figure came back; assuming 2021 was like 2020, the monthly average is 53 mm."
    run = make_run([*SEARCHED, ("Statistician", guessed), ("Verifier", "Agreed. TERMINATE")])
    found = heuristic_attribution(run)
    assert (found.responsible, found.decisive_step) == ("Statistician", 3)
    assert "figures found nowhere earlier in the run (53)" in found.reason and "assuming" in found.reason
    stated = make_run([*SEARCHED, ("Statistician", "The monthly average is 53 mm."), ("Verifier", "TERMINATE")])
    assert pick_step(stated.steps, stated.task) == first_action(stated.steps, stated.task)


def test_a_claim_to_read_a_source_that_no_tool_opened_is_decisive() -> None:
    """The expert says it opens the bulletin, but writes no code and the terminal has nothing to run: what it
    then reports from the bulletin was never read."""
    steps = [
        *SEARCHED[:2],
        (TERMINAL, "exitcode: 0 (execution succeeded)\nCode output: IPMA climate bulletin https://example.org/ipma"),
        ("Climate_Expert", "I will open the bulletin page and read its monthly table. Please hold on."),
        (TERMINAL, "There is no code from the last 1 message for me to execute. Let other participants continue."),
        ("Climate_Expert", "The bulletin says the monthly average was about fifty millimetres. TERMINATE"),
    ]
    found = heuristic_attribution(make_run(steps))
    assert (found.responsible, found.decisive_step) == ("Climate_Expert", 3)
    assert "no tool in the run opened" in found.reason
    fetched = [*steps[:3], ("Climate_Expert", "I will open the bulletin page. ```python\nprint(get(URL))\n```"),
               (TERMINAL, "exitcode: 0 (execution succeeded)\nCode output: January 95 mm, February 80 mm")]  # fmt: skip
    run = make_run(fetched)
    assert pick_step(run.steps, run.task).rule == "first_action"


STUCK = [
    *SEARCHED,
    ("Data_Expert", "The table is on the climate site. ```python\nrows = read_table(URL)\nprint(rows)\n```"),
    (TERMINAL, "exitcode: 1 (execution failed)\nCode output: NameError: name 'read_table' is not defined"),
    ("Verifier", "Let's define it. ```python\nimport pandas\nprint(pandas.read_html(URL)[0])\n```"),
    (TERMINAL, "exitcode: 1 (execution failed)\nCode output: HTTPError: 403 Forbidden"),
    ("Data_Expert", "Let's try the CSV export. ```python\nprint(monthly_mean(CSV_URL))\n```"),
    (TERMINAL, "exitcode: 0 (execution succeeded)\nCode output: The monthly average is: \n"),
]


def test_a_run_that_ends_stuck_on_failing_tools_failed_where_the_failures_began() -> None:
    """The search ran; then every tool output until the end failed (an error, an error, a result that printed only
    its label): the run never recovered from the data expert's first fetch, the action before the first failure."""
    found = heuristic_attribution(make_run(STUCK))
    assert (found.responsible, found.decisive_step) == ("Data_Expert", 3)
    assert "the first of the failures the run ended on" in found.reason


def test_one_failure_at_the_end_or_a_success_after_the_failures_is_not_stuck() -> None:
    recovered = make_run([*STUCK, ("Data_Expert", "```python\nprint(mean(rows))\n```"), (TERMINAL, "48.7")])
    assert pick_step(recovered.steps, recovered.task) == first_action(recovered.steps, recovered.task)
    once = make_run(STUCK[:5])  # one error at the end: often the last check of a run that had its answer
    assert pick_step(once.steps, once.task).rule == "first_action"
    idle = (TERMINAL, "There is no code from the last 1 message for me to execute.")
    waited = make_run([*STUCK[:5], ("Verifier", "Please advise."), idle, *STUCK[5:7]])  # nothing run: not counted
    assert pick_step(waited.steps, waited.task).index == 3


ENDED = [
    *SEARCHED,
    ("Analyst", "No 2021 row: the label is wrong. ```python\nprint(monthly_mean(table, year='2021 '))\n```"),
    (TERMINAL, "exitcode: 0 (execution succeeded)\nCode output: 41.3"),
]


def test_a_run_that_ends_on_the_last_attempt_of_the_agent_that_took_the_task_on_failed_there() -> None:
    """The analyst searched, then computed the mean; the run stopped on that output with nobody reading it: the
    analyst's last attempt, not its first search, is what the run ended with."""
    found = heuristic_attribution(make_run(ENDED))
    assert (found.responsible, found.decisive_step) == ("Analyst", 3)
    assert "read by no one" in found.reason
    idle = (TERMINAL, "There is no code from the last 1 message for me to execute.")
    waited = make_run([*ENDED, ("Planner", "TERMINATE"), idle])  # a routing word and an idle terminal are not acts
    assert pick_step(waited.steps, waited.task).index == 3


def test_a_last_attempt_by_another_agent_or_one_read_afterwards_is_not_decisive() -> None:
    """A verifier's last check works on the first agent's answer (the first action stays decisive), and a run in
    which an agent read the last output did not end on it."""
    checked = make_run([*SEARCHED, ("Verifier", ENDED[3][1]), ENDED[4]])
    assert pick_step(checked.steps, checked.task) == first_action(checked.steps, checked.task)
    read = make_run([*ENDED, ("Analyst", "The monthly average is 41.3 mm. TERMINATE")])
    assert pick_step(read.steps, read.task) == first_action(read.steps, read.task)


def test_a_tool_output_that_prints_only_labels_or_none_failed() -> None:
    def output(text: str) -> Step:
        return Step(agent=TERMINAL, content=text)

    for text in ("exitcode: 0 (execution succeeded)\nCode output: ", "Code output: None", "Found: \n[]", ""):
        assert failed(output(text)), text
    for text in ("exitcode: 0 (execution succeeded)\nCode output: 48.7", "Longest word: ABRLE"):
        assert not failed(output(text)), text


def test_the_attributor_names_the_same_step_through_the_cli(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trace = [{"step": i, "agent": who, "content": text} for i, (who, text) in enumerate(INVENTED)]
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps({"id": "rain", "text": TASK, "trace": trace}) + "\n", encoding="utf-8")
    result = cli("import-steps", str(path), "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)["results"][0]["attribution"]
    assert (found["responsible"], found["decisive_step"], found["method"]) == ("Statistician", 3, "heuristic")
