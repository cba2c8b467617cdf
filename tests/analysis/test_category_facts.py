"""Facts that rule categories out: Python's own exception classes, refusal words a service wrote, messages that are
not text. With the real bundled embedder and the shipped coefficients (the classifier alone misread each of these),
through the service's capture (what the CLI and the MCP tool call) and the SDK's recorder. The captures are written
here: tests, never training data."""

from pathlib import Path
from typing import Any

import pytest

from agent_postmortem import Recorder
from agent_postmortem.analysis.category_facts import exception_class, ruled_out, unreadable
from agent_postmortem.cli.demo import SEED
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import Category, IncidentCreate
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import make_service

MISREAD: list[tuple[dict[str, Any], set[str]]] = [
    (  # a payment declined by the payment service: no model refused anything
        {"title": "Payment tool failed", "tool": "stripe.charge", "error_message": "Stripe API error: card_declined"},
        {"tool_failure", "business_logic"},
    ),
    (
        {
            "title": "ConnectionRefusedError in agent",
            "error_type": "ConnectionRefusedError",
            "error_message": "Connection refused",
        },
        {"infrastructure"},
    ),
    ({"title": "MemoryError in agent", "error_type": "MemoryError", "error_message": ""}, {"infrastructure"}),
    (  # Python's stack limit: the code that recursed is the fault, not a time or step budget
        {
            "title": "RecursionError in agent",
            "error_type": "RecursionError",
            "error_message": "maximum recursion depth exceeded",
        },
        {"tool_failure"},
    ),
]

UNCHANGED: list[tuple[dict[str, Any], str]] = [
    ({"title": "Assistant refused a plain question", "error_message": "I can't help with that"}, "llm_refusal"),
    ({"title": "No answer for the user", "description": "the model declined to answer"}, "llm_refusal"),
    ({"title": "Tool call timed out", "error_type": "TimeoutError", "error_message": "timed out after 30s"}, "timeout"),
    (  # an agent framework's step budget: a timeout, although its name ends in RecursionError
        {
            "title": "Agent stopped",
            "error_type": "GraphRecursionError",
            "error_message": "Recursion limit of 25 reached without hitting a stop condition",
        },
        "timeout",
    ),
]


def failure(**fields: str) -> IncidentCreate:
    return IncidentCreate(title="Agent failed", **fields)


@pytest.fixture
def seeded(tmp_path: Path, embedder: Embedder) -> PostmortemService:
    service = make_service(tmp_path / "home", embedder=embedder)
    service.import_incidents(read_incidents(SEED))
    return service


@pytest.mark.parametrize(("fields", "expected"), MISREAD, ids=["card_declined", "refused", "memory", "recursion"])
def test_exception_classes_and_service_refusals_get_the_guides_category(
    seeded: PostmortemService, fields: dict[str, Any], expected: set[str]
) -> None:
    result = seeded.capture_incident(IncidentCreate(**fields))
    assert result.category in expected, result.category_signals
    assert any("labelling guide" in s for s in result.category_signals)


def test_real_refusals_timeouts_and_step_budgets_keep_their_category(seeded: PostmortemService) -> None:
    got = [seeded.capture_incident(IncidentCreate(**fields)).category for fields, _ in UNCHANGED]
    assert got == [expected for _, expected in UNCHANGED]


JUNK = "b'1\\xe8v\\x10~w\\xe3%\\x80)t\\xb8\\x83\\xd8\\x8e\\x02'"  # a bytes repr: no words


def test_an_error_message_that_is_not_text_states_no_model_behaviour(seeded: PostmortemService) -> None:
    result = seeded.capture_incident(IncidentCreate(title="ValueError", error_type="ValueError", error_message=JUNK))
    assert result.category == "tool_failure"
    assert result.category_signals[0].startswith("learned classifier: ")  # its reading of the noise comes first
    assert "its error message is not text: it states no model behaviour" in result.category_signals


def test_what_is_not_text() -> None:
    assert unreadable(JUNK) and unreadable("\x8b\xa2\xd6\x92V(F\x9b\xcf\xbb\xfd!\x86")
    for message in ("maximum recursion depth exceeded", "[Errno 111] Connection refused", "模型拒绝回答这个问题", "x'"):
        assert not unreadable(message)
    hallucinated = IncidentCreate(title="Model invented a citation", error_type="ValueError", error_message=JUNK)
    assert Category.LLM_HALLUCINATION not in ruled_out(hallucinated)[0]  # the title states it


def test_a_connection_refused_raised_in_agent_code_is_infrastructure_through_the_recorder(
    seeded: PostmortemService,
) -> None:
    recorder = Recorder(agent="trip-planner", service=lambda: seeded, wait_on_error=0)
    try:
        raise ConnectionRefusedError("Connection refused")
    except ConnectionRefusedError as e:
        recorder.capture(e, tool="web.fetch")  # the learned classifier alone reads llm_refusal at 0.75
    assert recorder.flush() and len(recorder.captured_ids) == 1
    assert seeded.get_incident(recorder.captured_ids[0]).category == Category.INFRASTRUCTURE


def test_only_a_built_in_exception_class_counts() -> None:
    assert exception_class(failure(error_type="builtins.MemoryError")) == "MemoryError"
    assert exception_class(failure(error_type="langgraph.errors.GraphRecursionError")) is None
    assert exception_class(failure(error_type="mylib.MemoryError")) is None


def test_text_stating_data_lost_keeps_data_corruption_open_beside_the_exception() -> None:
    oom = IncidentCreate(
        title="Migration died halfway", error_type="MemoryError", description="half of the table was overwritten"
    )
    out, _ = ruled_out(oom)
    assert Category.DATA_CORRUPTION not in out and Category.INFRASTRUCTURE not in out
    assert Category.TIMEOUT in out and Category.LLM_REFUSAL in out


def test_a_refusal_beside_a_service_refusal_is_still_a_refusal() -> None:
    both = IncidentCreate(
        title="Checkout failed", error_message="card_declined; then the model refused to retry the payment"
    )
    assert Category.LLM_REFUSAL not in ruled_out(both)[0]
    assert Category.LLM_REFUSAL in ruled_out(failure(error_message="connection refused"))[0]
