"""What the calls about one pattern cost as the knowledge base grows (a runbook of a pattern or a category, `learn`
for one incident), against the same answers from every pattern grouped (as they were computed before), and what the
calls that need every pattern cost (recurring_patterns, fix_effectiveness, action_item_stats): as a long-running
server answers them again (the grouping kept, analysis/grouping.py), and `_cold`, as the first call after a change
or a new process (the command line) answers them (grouped again); each as a ratio to the full post-mortem of one
incident (as perf_report times it) measured in the same run, so the ratios hold on a loaded machine:

    python -m agent_postmortem.evals.perf_lessons --sizes 1000,10000

The store is the one perf_report builds (the seed and synthetic incidents, a completed item on the first)."""

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from agent_postmortem.analysis.runbook import RunbookEntry
from agent_postmortem.evals.perf_report import build, timed
from agent_postmortem.service.lessons import SMALLEST_PATTERN, _runbook_key
from agent_postmortem.service.recurrence import Rows


def measure(n: int, *, runs: int = 5) -> dict[str, Any]:
    with TemporaryDirectory(prefix="postmortem-perf-lessons-") as home:
        service, incident_id = build(Path(home), n)
        recurrence = service.recurrence

        def every() -> list[Rows]:
            recurrence.grouping.clear()  # every incident grouped, as each call did before
            return recurrence.groups(SMALLEST_PATTERN)[0]

        def cold(call: Callable[[], object]) -> Callable[[], object]:
            def again() -> object:
                recurrence.grouping.clear()  # a new process, or the first call after a change
                return call()

            return again

        [own] = recurrence.pattern_of(incident_id, min_size=SMALLEST_PATTERN)
        pattern, category = f"PAT-{own[0].pk}", service.get_incident(incident_id).category.value
        case = service.regression_case(incident_id)

        def learned_every() -> object:
            groups = every()
            return service.runbook(_runbook_key(case, groups, 3), min_size=3, groups=groups)

        calls: dict[str, Callable[[], object]] = {
            "get_incident": lambda: service.get_incident(incident_id),
            "report": lambda: service.render_report(incident_id, kind="full"),
            "runbook_pattern": lambda: service.runbook(pattern),
            "runbook_pattern_every": lambda: service.runbook(pattern, groups=every()),
            "runbook_category": lambda: service.runbook(category),
            "runbook_category_every": lambda: service.runbook(category, groups=every()),
            "learn": lambda: service.learn(incident_id).runbook,
            "learn_every": learned_every,
            "recurring_patterns": lambda: service.recurring_patterns(),
            "fix_effectiveness": lambda: service.fix_effectiveness(),
            "action_item_stats": lambda: service.action_item_stats(),
            "recurring_patterns_cold": cold(service.recurring_patterns),
            "fix_effectiveness_cold": cold(service.fix_effectiveness),
            "action_item_stats_cold": cold(service.action_item_stats),
        }
        load = os.getloadavg()[0]
        p50 = timed(calls, runs)
        load = (load + os.getloadavg()[0]) / 2  # at the start and the end of the timed calls
        # generated_at aside; grouped first, so that each pair is read within a second: a verdict says how long ago
        # the fix was ("holding: ... in the 12 min since"), and at 10,000 incidents the grouping took 8 s between them
        groups = every()
        same = {
            "runbook_pattern": _entry(service.runbook(pattern)) == _entry(service.runbook(pattern, groups=groups)),
            "runbook_category": _entry(service.runbook(category)) == _entry(service.runbook(category, groups=groups)),
            "learn": _entry(service.learn(incident_id).runbook)
            == _entry(service.runbook(_runbook_key(case, groups, 3), min_size=3, groups=groups)),
        }
        service.close()
    reference = p50["report"]
    return {
        "incidents": n,
        "pattern_members": len(own),
        "load_average_1min": round(load, 1),
        **{f"{name}_p50_ms": value for name, value in p50.items()},
        **{f"{name}_over_report": round(value / reference, 2) for name, value in p50.items() if name != "report"},
        **{f"{name}_same_answer_as_every_pattern": value for name, value in same.items()},
    }


def _entry(entry: object) -> dict[str, Any]:
    assert isinstance(entry, RunbookEntry)
    return entry.model_dump(exclude={"generated_at"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated store sizes")
    parser.add_argument("--runs", type=int, default=5, help="timed calls of each kind at each size")
    args = parser.parse_args()
    print(json.dumps([measure(int(s), runs=args.runs) for s in args.sizes.split(",")], indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
