"""The live receiver's memory of recent traces: a trace's batches read together, within bounds of age and size."""

from agent_postmortem.ingest.otlp import Span
from agent_postmortem.ingest.trace_memory import TraceMemory


def _span(trace_id: str, span_id: str, *, failed: bool = False) -> Span:
    return Span(trace_id, span_id, None, span_id, 10**18, 10**18 + 1, {}, status_code=2 if failed else 0)


def test_a_later_batch_is_read_with_the_earlier_ones_and_a_span_sent_again_as_sent_now() -> None:
    memory = TraceMemory()
    first = memory.join([_span("t", "model")])
    memory.remember(first, 100)
    later = memory.join([_span("t", "tool", failed=True), _span("t", "model", failed=True)])
    assert sorted((s.span_id, s.failed) for s in later["t"]) == [("model", True), ("tool", True)]


def test_a_batch_not_remembered_is_not_read_again() -> None:
    memory = TraceMemory()
    memory.join([_span("t", "broken")])  # its import failed: remember was not called
    assert [s.span_id for s in memory.join([_span("t", "next")])["t"]] == ["next"]


def test_old_traces_and_the_oldest_beyond_the_size_bound_are_forgotten() -> None:
    now = [0.0]
    memory = TraceMemory(max_age_s=60, max_bytes=1000, clock=lambda: now[0])
    memory.remember(memory.join([_span("old", "a")]), 100)
    now[0] = 61
    assert [s.span_id for s in memory.join([_span("old", "b")])["old"]] == ["b"]
    memory.remember(memory.join([_span("x", "a")]), 600)
    memory.remember(memory.join([_span("y", "a")]), 600)  # 1,200 bytes: x, the oldest, goes
    assert [s.span_id for s in memory.join([_span("x", "b")])["x"]] == ["b"]
    assert sorted(s.span_id for s in memory.join([_span("y", "b")])["y"]) == ["a", "b"]
