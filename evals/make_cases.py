"""How the dataset-derived eval cases were made (re-run to rebuild them):
`python -m agent_postmortem.evals.make_cases DATA_DIR`.

- 16 public company postmortems (DFDS, PostHog; MIT): the drafter gets a neutral title, the timeline and the
  impact section when there is one, never the summary (it states the cause); the reference is the human root
  cause / contributing factors and action items.
- 10 failed multi-agent runs (Who&When, ICML 2025; MIT): the drafter gets the task and the trace as a timeline;
  the reference is the human one-line root cause, the agent at fault and the decisive step.

Folder names are `<nn>_<neutral word>`; nothing in them or in the title hints at the answer.
"""

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from agent_postmortem.evals.cases import CASES_DIR, Case

WORDS = (
    "acorn anchor atlas beacon bramble canvas cedarwood cobble compass crest delta drift ember fable fathom "
    "fennel flint glade gravel harrow hollow inlet juniper keel lantern ledger linden marrow meadow mosaic "
    "nimbus oakum orchard paddle pebble quarry quill rafter reed ripple saddle sorrel spindle tarn thicket "
    "timber trellis umber vale willow yarrow zephyr"
).split()
POSTMORTEMS = 16
TRACES = 10
BASE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_ROW = re.compile(r"^\|\s*([^|]*?)\s*\|\s*(.+?)\s*\|?\s*$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def timeline_events(table: str) -> list[dict[str, Any]]:
    """Markdown timeline table rows -> events; the original time label is kept in the text (formats vary)."""
    events: list[dict[str, Any]] = []
    for line in table.splitlines():
        match = _ROW.match(line.strip())
        if not match or set(match.group(1)) <= set("-: ") or match.group(1).lower() in ("time", "date and time in cet"):
            continue
        when, what = match.group(1), _BOLD.sub(r"\1", match.group(2)).strip(" |")
        if what and what.lower() not in ("event", "events") and "HH:mm" not in when:
            at = BASE + timedelta(minutes=10 * len(events))
            events.append({"at": at.isoformat(), "kind": "note", "description": f"[{when}] {what}"[:2000]})
    return events[:60]


def _section(markdown: str, names: tuple[str, ...]) -> str | None:
    for name in names:
        match = re.search(rf"^#+\s*{name}\s*$(.*?)(?=^#+\s|\Z)", markdown, flags=re.MULTILINE | re.DOTALL)
        if match and match.group(1).strip():
            return match.group(1).strip()[:2000]
    return None


def postmortem_case(row: dict[str, Any], n: int) -> dict[str, Any]:
    org = "PostHog" if row["id"].startswith("posthog") else "DFDS"
    return {
        "kind": "postmortem",
        "source": f"{row['source']} ({row['license']})",
        "source_url": row["source_url"],
        "incident": {
            "title": f"{org} production incident, case {n}",
            "category": "infrastructure",
            "description": "A production incident described by its timeline below (times as the team wrote them).",
            "impact": _section(row["raw_markdown"], ("Impact", "Incident Impact", "Stats")),
            "timeline": timeline_events(row["timeline"]),
        },
        "reference": {
            "root_cause": row["root_cause"][:2000],
            "action_items": [_BOLD.sub(r"\1", a)[:500] for a in row["action_items"]][:12],
            "determinism": "deterministic",
        },
        "expect": {"must_not_say": ["human error"]},
    }


def trace_case(row: dict[str, Any], n: int) -> dict[str, Any]:
    events = [
        {
            "at": (BASE + timedelta(minutes=step["step"])).isoformat(),
            "kind": "note",
            "description": f"step {step['step']} [{step.get('name') or step.get('role')}]: {step['content']}"[:2000],
        }
        for step in row["trace"]
    ]
    return {
        "kind": "trace",
        "source": f"{row['source']} ({row['license']})",
        "source_url": row["source_url"],
        "incident": {
            "title": f"Multi-agent run returned a wrong answer, case {n}",
            "category": "llm_hallucination",
            "description": f"Task given to the agents: {row['text'][:1500]}\nThe final answer was wrong. Agents: "
            + ", ".join(row["agents"])
            + ". The run's messages are in the timeline, one event per step (step numbers from 0).",
            "agent": "multi-agent group chat",
            "timeline": events[:60],
        },
        "reference": {
            "root_cause": row["root_cause"],
            "action_items": [],
            "determinism": "probabilistic",
            "responsible_agent": row["labels"]["mistake_agent"],
            "decisive_step": int(row["labels"]["mistake_step"]),
        },
    }


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(data: Path) -> None:
    read = _read
    rows = read(data / "postmortems" / "dfds_posthog.jsonl")
    postmortems = [r for r in rows if r["timeline"] and r["action_items"] and r["root_cause"]]
    seen: set[str] = set()
    chosen = []
    for row in sorted(postmortems, key=lambda r: -len(r["action_items"])):
        group = row.get("cluster_or_group_id") or row["id"]
        if group not in seen and len(timeline_events(row["timeline"])) >= 3:
            seen.add(group)
            chosen.append(row)
    traces = sorted(read(data / "who_and_when" / "traces_dev.jsonl"), key=lambda r: len(r["trace"]))
    picked = [r for r in traces if r["subset"] == "Hand-Crafted"][:4] + [
        r for r in traces if r["subset"] == "Algorithm-Generated"
    ][: TRACES - 4]
    cases = [postmortem_case(r, 34 + i) for i, r in enumerate(chosen[:POSTMORTEMS])]
    cases += [trace_case(r, 34 + POSTMORTEMS + i) for i, r in enumerate(picked)]
    taken = {p.name.split("_", 1)[1] for p in CASES_DIR.glob("[0-3][0-9]_*") if int(p.name[:2]) < 34}
    words = [w for w in WORDS if w not in taken]
    for old in CASES_DIR.glob("[3-9][0-9]_*"):
        if int(old.name[:2]) >= 34:
            for file in old.iterdir():
                file.unlink()
            old.rmdir()
    for i, case in enumerate(cases):
        Case.model_validate(case)
        folder = CASES_DIR / f"{34 + i:02d}_{words[i]}"
        folder.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(case, sort_keys=False, allow_unicode=True, width=110)
        (folder / "case.yaml").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
