"""`postmortem list`'s table in the terminal widths people use."""

import io

import pytest
from rich.console import Console

from agent_postmortem.cli.incidents_view import IncidentsView

ROWS = [
    ["INC-32", "2026-12-07", "SEV3", "prompt_injection", "open", "Agent wiped the screen after a tool output"],
    ["INC-31", "2026-12-07", "SEV2", "llm_hallucination", "mitigated", "Air Canada chatbot gave wrong fare policy"],
]


def rendered(width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(IncidentsView([list(row) for row in ROWS]))
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [80, 120])
def test_every_column_but_the_title_is_whole_in_80_columns(width: int) -> None:
    """In 80 columns the category was cut to 'prompt_injecti…' and 'llm_hallucinat…' while the title wrapped."""
    lines = rendered(width)
    assert all(len(line) <= width for line in lines)
    text = "\n".join(lines)
    for value in ("INC-32", "2026-12-07", "SEV2", "prompt_injection", "llm_hallucination", "mitigated"):
        assert value in text, text
    assert "…" not in text


def test_a_terminal_too_narrow_for_the_date_keeps_the_title_readable() -> None:
    lines = rendered(60)
    text = "\n".join(lines)
    assert all(len(line) <= 60 for line in lines) and "2026-12-07" not in text and "llm_hallucination" in text
    assert all(word in text for word in ("Canada", "chatbot", "policy")), text
