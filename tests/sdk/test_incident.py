"""What a capture stores of the context agent code gives it, as the agent's author writes it."""

from pathlib import Path

import pytest

from agent_postmortem.sdk.recorder import Recorder
from tests.factories import make_service


def test_a_conversation_given_as_the_prompt_is_stored_as_its_last_user_message(tmp_path: Path) -> None:
    """`prompt=messages` (what the agent sent the model) was stored as JSON from its start, cut at 2,000 characters:
    the system prompt filled it and the user's request was not stored at all."""
    service = make_service(tmp_path)
    recorder = Recorder(agent="support-bot", service=lambda: service)
    messages = [
        {"role": "system", "content": "You are a careful travel agent. " * 100},
        {"role": "user", "content": [{"type": "text", "text": "Refund booking ABC123, I was charged twice"}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "1", "function": {"name": "refund"}}]},
    ]
    recorder.capture(RuntimeError("refund failed: 502 from payments"), tool="payments.refund", prompt=messages)
    recorder.capture(RuntimeError("no reply"), tool="chat", prompt=[{"role": "system", "content": "Be brief."}])
    assert recorder.flush(timeout=60)
    first, second = (service.get_incident(i) for i in recorder.captured_ids)
    assert first.prompt_excerpt == "Refund booking ABC123, I was charged twice"
    assert second.prompt_excerpt == '[{"role": "system", "content": "Be brief."}]'  # no user message: as JSON


def test_a_severity_or_category_written_in_another_case_is_stored_not_dropped(tmp_path: Path) -> None:
    """`severity="sev1"` or `category="Rate limit"` dropped the whole capture ("invalid context field(s)")."""
    service = make_service(tmp_path)
    recorder = Recorder(agent="support-bot", service=lambda: service)
    recorder.capture(RuntimeError("refund sent twice"), tool="payments.refund", severity="sev1")
    recorder.capture(RuntimeError("429 from search"), tool="search", category="Rate limit", severity=" Sev2 ")
    recorder.capture(RuntimeError("x"), tool="t", category="weather")  # not a category at all: still dropped
    assert recorder.flush(timeout=60)
    stored = [service.get_incident(i) for i in recorder.captured_ids]
    assert stored[0].severity == "SEV1"
    assert (stored[1].severity, stored[1].category) == ("SEV2", "rate_limit")
    assert len(stored) == 2 and recorder.failed == 1


def test_an_llm_category_named_without_its_prefix_is_stored_and_an_unknown_one_names_the_accepted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`category="hallucination"` (a check that caught a made-up order id) or `"refusal"` dropped the capture: the
    stored names are `llm_hallucination` and `llm_refusal`, and the line on stderr named the field, not the names."""
    service = make_service(tmp_path)
    recorder = Recorder(agent="support-bot", service=lambda: service)
    recorder.capture("the answer cites order ORD-99999, which does not exist", category="hallucination")
    recorder.capture("model refused: I'm sorry, but I can't help with that", category="Refusal")
    recorder.capture("the weather tool failed", tool="t", category="weather")
    assert recorder.flush(timeout=60)
    stored = [service.get_incident(i).category for i in recorder.captured_ids]
    assert stored == ["llm_hallucination", "llm_refusal"] and recorder.failed == 1
    dropped = [r.getMessage() for r in caplog.records if "capture dropped" in r.getMessage()]
    assert len(dropped) == 1 and "category" in dropped[0] and "llm_hallucination" in dropped[0]
    assert "weather" not in dropped[0]


def _raise(error: Exception) -> None:
    raise error


def test_a_stack_trace_cut_to_its_limit_never_keeps_part_of_a_secret() -> None:
    """The trace was sliced at its last 8,000 characters before redaction: a key the slice fell inside was stored
    as its end (`kLzXcVbNm1234567890abcd`), which no rule recognises, in clear."""
    from agent_postmortem.sdk.incident import incident_of

    key = "sk-proj-Q7wErTy9UiOp2AsDfGhJkLzXcVbNm1234567890abcd"
    for shift in range(0, 2_000, 7):  # moves the key across where the trace is cut (7 < the key's length)
        error = RuntimeError(f"upstream said: key={key} " + "z" * shift)
        for _ in range(3):  # a chain of retries, each with a long message: the trace is longer than it keeps
            try:
                _raise(RuntimeError("retry failed: " + "y" * 1_800))
            except RuntimeError as outer:
                outer.__cause__, error = error, outer
        long = RuntimeError("x" * shift + f" key={key} " + "z" * 3_000)  # one long message, cut on its own
        for trace in (incident_of(e, {}, agent="bot", model=None).stack_trace or "" for e in (error, long)):
            assert key[-12:] not in trace or key in trace, shift
            assert key[:12] not in trace or key in trace, shift


def test_a_huge_exception_message_leaves_the_frames_in_the_stack_trace() -> None:
    """The trace kept its last 8,000 characters: an exception carrying a 100 KB response body filled them with the
    body, and where the agent failed (its file, line and function) was not stored at all."""
    from agent_postmortem.sdk.incident import TRACE_CHARS, incident_of

    try:
        _raise(ValueError("bad gateway: " + "<html>" * 20_000))
    except ValueError as error:
        trace = incident_of(error, {}, agent="bot", model=None).stack_trace or ""
    assert "in _raise" in trace and "test_incident.py" in trace
    assert trace.rstrip().endswith("…") and len(trace) <= TRACE_CHARS
    assert "ValueError: bad gateway: <html>" in trace


def test_a_context_name_nothing_stores_or_a_value_of_none_keeps_the_capture(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A LangChain-style callback's `capture(error, tool=..., run_id=run_id)`, a typo (`tol="search"`) in a watch, or
    `title=None` passed on from an optional argument dropped the whole capture ("invalid context field(s): run_id"),
    every time that code failed: the failure was lost for a name nothing stores. The failure is stored, the names
    are left out with a line naming them and the names a capture takes, and None is "not given"."""
    service = make_service(tmp_path)
    recorder = Recorder(agent="support-bot", service=lambda: service)
    recorder.capture(RuntimeError("search gave 502"), tool="search", run_id="9f1c", tags=["prod"])
    recorder.capture(RuntimeError("refund failed"), tool="refund", title=None, agent=None, severity=None)
    recorder.capture(RuntimeError("crm down"), tool="crm", severity=2)
    assert recorder.flush(timeout=60) and recorder.failed == 0
    first, second, third = (service.get_incident(i) for i in recorder.captured_ids)
    assert (first.title, first.tool) == ("RuntimeError in search", "search")
    assert (second.title, second.agent) == ("RuntimeError in refund", "support-bot")
    assert third.severity == "SEV2"
    lines = [r.getMessage() for r in caplog.records if "run_id" in r.getMessage()]
    assert len(lines) == 1 and "tags" in lines[0] and "tool_args" in lines[0] and "9f1c" not in lines[0]


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("__str__ of the agent's object failed")


def test_an_agent_object_whose_str_raises_is_stored_as_its_type_name_said_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`capture(error, agent=obj)` with a `__str__` that raises dropped the whole capture: the title is built from the
    agent ("ValueError in <agent>"), and that formatting raised."""
    service = make_service(tmp_path)
    recorder = Recorder(service=lambda: service)
    recorder.capture(ValueError("quota exceeded"), agent=_Unprintable())
    assert recorder.flush(timeout=60)
    assert recorder.failed == 0 and len(recorder.captured_ids) == 1
    stored = service.get_incident(recorder.captured_ids[0])
    assert stored.agent == "<unprintable _Unprintable>" and stored.error_message == "quota exceeded"
    said = [r.getMessage() for r in caplog.records if "agent stored as its type name" in r.getMessage()]
    assert len(said) == 1
