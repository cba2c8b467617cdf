"""Small multi-agent runs written for the attribution tests: a rainfall question, the terminal that runs code, and
a run's first steps that searched and found only another year's figure."""

from typing import Any

from agent_postmortem.analysis.steps import StepRun

TASK = "What was the average monthly rainfall in Lisbon in 2021, in millimetres?"
TERMINAL = "Computer_terminal"


def make_run(steps: list[tuple[str, str]], **extra: Any) -> StepRun:
    trace = [{"step": i, "agent": who, "content": text} for i, (who, text) in enumerate(steps)]
    return StepRun.model_validate({"id": "r", "text": TASK, "trace": trace, **extra})


SEARCHED = [
    ("Planner", f"Task: {TASK}"),
    ("Analyst", "Let's search for the 2021 record. ```python\nsearch('Lisbon rainfall 2021')\n```"),
    (TERMINAL, "exitcode: 0 (execution succeeded)\nCode output: Lisbon yearly rainfall 2020: 640 mm"),
]
