"""The spans of recent traces, kept by the live receiver between batches. Exporters send a trace's spans as they
end, in batches (every 5 s, or 512 spans): a long run's model calls come in a batch with no failure, its failed tool
call and agent step in a later one, and steps after a handled failure in a batch after that. Each batch alone loses
the others: the incident had no model, no prompt and no model calls in its timeline. Each batch is read with the
spans of its trace seen before, within bounds (the traces last seen in the past 15 minutes, 32 MiB of bodies): the
oldest traces are forgotten first, and a trace forgotten is read from what comes after, as before."""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from agent_postmortem.ingest.otlp import Span, group_traces

MAX_AGE_S = 15 * 60
MAX_BYTES = 32 * 1024 * 1024


class TraceMemory:
    def __init__(
        self, *, max_age_s: float = MAX_AGE_S, max_bytes: int = MAX_BYTES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age_s, self.max_bytes, self.clock = max_age_s, max_bytes, clock
        self._traces: OrderedDict[str, tuple[float, int, list[Span]]] = OrderedDict()  # last seen, bytes, spans
        self._bytes = 0
        self._lock = threading.Lock()

    def join(self, spans: list[Span]) -> dict[str, list[Span]]:
        """The batch's traces, each with its spans seen before (a span sent again is read as sent now)."""
        batch = group_traces(spans)
        with self._lock:
            self._forget(self.clock())
            return {t: group_traces(new + self._traces.get(t, (0.0, 0, []))[2])[t] for t, new in batch.items()}

    def remember(self, traces: dict[str, list[Span]], body_bytes: int) -> None:
        """Keep the traces `join` gave, once they were read without error (a span that cannot be stored is not
        held, to refuse each later batch); a body's bytes are shared among its traces' spans, to bound the hold."""
        now = self.clock()
        with self._lock:
            added = {t: max(len(spans) - len(self._traces.get(t, (0.0, 0, []))[2]), 0) for t, spans in traces.items()}
            share = body_bytes / max(sum(added.values()), 1)
            for trace_id, spans in traces.items():
                _, held_bytes, _ = self._traces.pop(trace_id, (now, 0, []))
                size = held_bytes + round(share * added[trace_id])
                self._traces[trace_id] = (now, size, spans)
                self._bytes += size - held_bytes
            self._forget(now)

    def _forget(self, now: float) -> None:
        while self._traces:
            trace_id, (seen, size, _) = next(iter(self._traces.items()))
            if now - seen <= self.max_age_s and self._bytes <= self.max_bytes:
                return
            del self._traces[trace_id]
            self._bytes -= size
