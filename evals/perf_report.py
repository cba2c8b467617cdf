"""What the full post-mortem costs as the knowledge base grows, and the share of it that the action items' "did not
hold: seen again in INC-n" takes (`Reports._not_held`: the incidents of the report's own pattern seen since an item
was completed), both measured in the same run, so their ratio holds on a loaded machine:

    python -m agent_postmortem.evals.perf_report --sizes 1000,10000

Each size is a real store: the seed incidents imported (embedded by the product's embedder) and synthetic incidents
made from them written by bulk SQL (perf_corpus), so every seed incident heads a pattern of about n/45 members. The
report is of the first seed incident, with one completed action item."""

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.config import Settings
from agent_postmortem.evals.perf_corpus import SEED, bench_service, bulk_insert_synthetic, sentence_pool
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.lessons import SMALLEST_PATTERN, recurred_after
from agent_postmortem.service.runtime import make_embedder
from agent_postmortem.store.models import ActionItemCreate


def build(home: Path, n: int, *, seed: int = 0) -> tuple[PostmortemService, str]:
    """A store of `n` incidents and the incident whose report is timed (it has a completed item)."""
    service = bench_service(home, make_embedder(Settings.from_env({})))
    seeds = read_incidents(SEED)
    first = service.import_incidents(seeds).ids[0]
    bulk_insert_synthetic(service.store, n - service.store.count(), np.random.default_rng(seed), sentence_pool(seeds))
    for cache in (service.knowledge.exact, service.knowledge.lexical):
        cache.refresh(force=True)
    service.add_action_item(first, ActionItemCreate(title="Add the missing check", status="completed"))
    return service, first


def timed(calls: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """The p50 of each call in ms, the calls interleaved run by run so that each sees the same load."""
    for call in calls.values():
        call()  # warm: the first call loads what later ones reuse
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            t = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - t)
    return {name: round(statistics.median(values) * 1000, 1) for name, values in times.items()}


def measure(n: int, *, runs: int = 5) -> dict[str, Any]:
    """The report's p50, its "did not hold" part (its own pattern's members) and, for reference, that part as it
    was computed before (every pattern of the knowledge base grouped, then the incident's looked up)."""
    with tempfile.TemporaryDirectory(prefix="postmortem-perf-report-") as home:
        service, incident_id = build(Path(home), n)
        incident = service.get_incident(incident_id)
        recurrence = service.recurrence

        def every_pattern() -> object:
            recurrence.grouping.clear()  # not the grouping another call kept: every incident grouped
            groups = recurrence.groups(SMALLEST_PATTERN)[0]
            return recurred_after(incident.action_items, groups, None, [incident], recurrence)

        p50 = timed(
            {
                "report": lambda: service.render_report(incident_id, kind="full"),
                "not_held": lambda: service.reports._not_held(incident),
                "not_held_every_pattern": every_pattern,
            },
            runs,
        )
        same = service.reports._not_held(incident) == every_pattern()
        pattern = recurrence.pattern_of(incident_id, min_size=SMALLEST_PATTERN)
        service.close()
    return {
        "incidents": n,
        "pattern_members": len(pattern[0]) if pattern else 1,
        **{f"{name}_p50_ms": value for name, value in p50.items()},
        "not_held_share_of_report": round(p50["not_held"] / p50["report"], 2),
        "every_pattern_over_report": round(p50["not_held_every_pattern"] / p50["report"], 2),
        "same_answer_as_every_pattern": same,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated store sizes")
    parser.add_argument("--runs", type=int, default=5, help="timed reports at each size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(json.dumps([measure(n, runs=args.runs) for n in sizes], indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
