"""The recurrence benchmark's leave-one-out on a tiny seed, with the bundled model: siblings flagged, one-offs not."""

import json
from pathlib import Path

import pytest

from agent_postmortem.evals.recurrence import seed_leave_one_out
from agent_postmortem.store.search.embedding import Embedder

pytestmark = pytest.mark.slow

ROWS = [
    {
        "title": "Planner agent timed out calling flights.search after 30 s",
        "category": "timeout",
        "agent": "trip-planner",
        "tool": "flights.search",
        "error_type": "TimeoutError",
    },
    {
        "title": "Trip planner timed out waiting for flights.search to answer",
        "category": "timeout",
        "agent": "trip-planner",
        "tool": "flights.search",
        "error_type": "TimeoutError",
    },
    {
        "title": "Support bot invented a refund policy that does not exist",
        "category": "llm_hallucination",
        "agent": "helpdesk",
        "tool": "kb.search",
    },
    {
        "title": "CRM sync agent overwrote 3,000 contact emails with blanks",
        "category": "data_corruption",
        "agent": "crm-sync",
        "tool": "crm.update",
    },
    {
        "title": "Email agent followed instructions hidden in a newsletter",
        "category": "prompt_injection",
        "agent": "inbox",
        "tool": "mail.send",
    },
]


def test_siblings_are_flagged_and_one_offs_are_not(tmp_path: Path, embedder: Embedder) -> None:
    seed = tmp_path / "seed.jsonl"
    seed.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    result = seed_leave_one_out(seed, embedder, tmp_path / "homes")
    assert (result["recurring"], result["one_off"]) == (2, 3)
    assert result["recall"] == 1.0 and result["false_flag_one_off"] == 0.0
