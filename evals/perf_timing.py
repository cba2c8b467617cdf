"""`postmortem bench perf`, what its parts share: the constants of the measurements, the progress callback,
latency statistics, a timer that wraps live methods, and loading a model timed."""

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from agent_postmortem.store.search.embedding import Embedder

K = 10  # recall@K
POOL = 100  # what the service asks chromadb for (agent_postmortem.store.search.knowledge.POOL)
WARMUP = 10
TIE = 1e-6  # a returned id counts when its exact cosine is within TIE of the K-th best
TARGETS = {"search_p50_ms": 30.0, "index_recall_at_10": 0.98, "import_ratio": 0.8, "initialize_ms": 1500.0}
MB = 1024  # ru_maxrss and VmHWM are in KiB on Linux
DENSE_RECALL = "recall_at_10_vs_exact_float32"
HNSW_UP_TO = 100_000  # sizes at which the benchmark fills chromadb and compares its HNSW with exact search

Progress = Callable[[str, int, int], None]


def timed_load(embedder: Embedder) -> float:
    """Seconds to load the model (for ONNX, exporting it first when the model cache does not have it yet)."""
    t = time.perf_counter()
    load = getattr(embedder, "load", None)
    if load is not None:
        load()
    return round(time.perf_counter() - t, 2)


def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds, dtype=np.float64) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "mean_ms": round(float(ms.mean()), 3),
    }


class Timers:
    """Wraps methods of live objects (instance attributes shadow the class's) and adds up the time spent in each."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self._wrapped: list[tuple[object, str]] = []

    def wrap(self, owner: object, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter() - t

        setattr(owner, name, timed)
        self._wrapped.append((owner, name))

    def restore(self) -> None:
        for owner, name in reversed(self._wrapped):
            delattr(owner, name)
        self._wrapped.clear()


# --- 2. bulk import ------------------------------------------------------------------------------
