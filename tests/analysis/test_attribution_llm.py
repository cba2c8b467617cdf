"""LLM attribution: the prompt's budget and shortening, and how an answer is grounded in the run or replaced by the
rule-based attribution (with FakeLLM)."""

from typing import Any

import pytest

from agent_postmortem.analysis.attribution_llm import AttributionAnswer, budgets, quoted_in, shorten
from agent_postmortem.analysis.steps import StepRun, attribution_prompt, heuristic_attribution, llm_attribution
from agent_postmortem.errors import DraftError
from tests.factories import FakeLLM

TASK = "Which of the three bridges in the city guide was opened first?"
STEPS = [
    ("human", TASK),
    ("Planner", "Plan: open the city guide, list the three bridges with their opening years, compare them."),
    ("Researcher", "I opened the guide. The bridges opened in 1901, 1887 and 1932, so the oldest is Ponte Velha."),
    ("Computer_terminal", "exitcode: 0 (execution succeeded)\nCode output: ['Ponte Velha', 'Ponte Nova']"),
    ("Verifier", "Agreed: Ponte Velha is the oldest. TERMINATE"),
]


def make_run(steps: list[tuple[str, str]] = STEPS) -> StepRun:
    trace = [{"step": i, "agent": who, "content": text} for i, (who, text) in enumerate(steps)]
    return StepRun.model_validate({"id": "bridges", "text": TASK, "trace": trace})


def answer(agent: str, step: int, quote: str = "", reason: str = "It guessed the years.") -> AttributionAnswer:
    return AttributionAnswer(reason=reason, responsible=agent, decisive_step=step, evidence=quote)


def test_a_grounded_answer_is_kept_with_its_quote_and_its_model() -> None:
    llm = FakeLLM(answer("researcher", 2, "\u201cThe bridges opened in 1901, 1887 and 1932\u201d"))
    found = llm_attribution(make_run(), llm, nonce="0")
    assert (found.method, found.responsible, found.decisive_step, found.fallback) == ("llm", "Researcher", 2, None)
    assert found.evidence == "…The bridges opened in 1901, 1887 and 1932…" and found.reason == "It guessed the years."


@pytest.mark.parametrize(
    ("given", "expected", "note"),
    [
        (answer("Researcher", 1, "so the oldest is Ponte Velha"), 2, "the quote is from step 2, not step 1"),
        (answer("Computer_terminal", 3, "Ponte Nova"), 2, "step 3 is tool output; the step that asked for it is 2"),
        (answer("Verifier", 2, "opened in 1901, 1887 and 1932"), 2, "the quoted step is by Researcher"),
    ],
    ids=["number-off-quote-settles", "tool-output-means-its-author", "agent-off-quote-settles"],
)
def test_an_answer_that_is_off_but_grounded_by_its_quote_is_corrected_and_says_so(
    given: AttributionAnswer, expected: int, note: str
) -> None:
    found = llm_attribution(make_run(), FakeLLM(given), nonce="0")
    assert (found.method, found.decisive_step, found.responsible) == ("llm", expected, "Researcher")
    assert note in found.reason and found.fallback is None


@pytest.mark.parametrize(
    ("given", "why"),
    [
        (answer("Verifier", 2, "a sentence that is in no step at all"), "names Verifier, but step 2 is by another"),
        (answer("Nobody", 2), "names an agent that is not in the run"),
        (answer("Researcher", 40, "not quoted anywhere in this run"), "step 40 is not in the run (steps 0-4)"),
        (DraftError("the model's answer was not a valid AttributionAnswer"), "not a valid AttributionAnswer"),
    ],
    ids=["agent-and-step-disagree", "unknown-agent", "missing-step", "invalid-json"],
)
def test_an_answer_that_cannot_be_grounded_keeps_the_rule_based_attribution_saying_why(given: Any, why: str) -> None:
    run = make_run()
    found = llm_attribution(run, FakeLLM(given), nonce="0")
    expected = heuristic_attribution(run)
    assert found.method == "heuristic" and (found.responsible, found.decisive_step) == (
        expected.responsible,
        expected.decisive_step,
    )
    assert found.fallback is not None and why in found.fallback and found.llm_model == "fake-model"


def test_a_quote_with_words_left_out_still_grounds_but_is_not_stored_as_a_quote() -> None:
    quote = "the bridges opened in 1901 ... 1932, so the oldest is Ponte Velha"
    assert quoted_in(quote, STEPS[2][1], exact=False) and not quoted_in(quote, STEPS[2][1])
    assert not quoted_in("the bridges opened long ago", STEPS[2][1], exact=False) and not quoted_in("…", STEPS[2][1])
    llm = FakeLLM(answer("Researcher", 2, quote))
    found = llm_attribution(make_run(), llm, nonce="0")
    assert found.method == "llm" and found.evidence.startswith("I opened the guide.")


def test_an_agents_step_gets_more_room_than_a_tools_output_and_keeps_its_end() -> None:
    long_agent = "Reasoning. " * 400 + "So the answer is Ponte Velha."
    steps = [("Researcher", long_agent), ("Computer_terminal", "exitcode: 0\nCode output: " + "x " * 2000)]
    limits = budgets(make_run(steps).steps, 4_000)
    assert limits[0] == 3_000 and limits[1] == 1_000
    short = shorten(long_agent, 300)
    assert len(short) <= 300 and short.startswith("Reasoning.") and short.endswith("So the answer is Ponte Velha.")
    assert budgets(make_run([("A", "short"), ("Computer_terminal", "y " * 5000)]).steps, 2_000)[1] > 1_000


def test_the_prompt_is_sized_for_the_model_and_marks_tool_output() -> None:
    steps = [("Researcher", "word " * 400)] * 30 + [("Computer_terminal", "exitcode: 0\nCode output: done")]
    run = make_run(steps)
    local = FakeLLM(answer("Researcher", 0, "word word"))
    local.backend = "local"
    llm_attribution(run, local, nonce="0")
    endpoint = FakeLLM(answer("Researcher", 0, "word word"))
    llm_attribution(run, endpoint, nonce="0")
    assert len(local.calls[0][1]) < 14_000 < 30_000 < len(endpoint.calls[0][1])
    assert "step 30 [Computer_terminal] (tool output): exitcode: 0" in attribution_prompt(run, nonce="0")[1]
