"""`postmortem list` and `show` on an SQLite home read it with the standard library (store/records/sqlite_reader.py)
and print exactly what they printed through the record store (SQLAlchemy), on hostile, damaged and filtered rows,
in every format; nothing heavy is imported on the way (issue #21: these reads take at most half a second at 10k).

Each command runs twice as the installed `postmortem`, on a copy of a home one schema revision old: the first run
migrates it and reads through the record store (the full path), the second reads the now current home through the
quick reader. The imports of each run are told by Python itself (PYTHONPROFILEIMPORTTIME), so the check needs no hook
in the product."""

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.store.models import AnalysisDraft, SeedIncident
from tests.factories import capture, draft, make_service
from tests.processes import postmortem

HEAVY = ("openai", "numpy", "sqlalchemy", "chromadb", "onnxruntime", "torch", "alembic", "mcp")
MARKUP = "Agent crashed [/bold] after [link=https://evil.example]retry[/link] [reference removed]"
CONTROLS = "Clipboard \x1b]52;c;aGk=\x07 then \x1b[2J screen \x9b31m red \u202eevil"


def _seed(n: int, **extra: Any) -> SeedIncident:
    day = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=n)
    row = {"title": f"Incident {n}: the flight search timed out", "created_at": day, "agent": "booker"}
    return SeedIncident.model_validate({**row, "status": ("open", "mitigated", "resolved")[n % 3], **extra})


@pytest.fixture(scope="module")
def older_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with hostile and damaged rows, taken back to the revision before the newest (as `downgrade` does)."""
    home = tmp_path_factory.mktemp("older")
    analysis = {"whys": [{"question": "Why [bold]?", "answer": "Because \x1b[2J [/] it did"}], "root_cause": "R [red]c"}
    items = [{"title": "Guard [/red] \x1b]8;;https://evil.example\x07link", "owner": "x[/b]", "due_at": "2026-01-02"}]
    rows = [_seed(n) for n in range(30)]
    rows.append(_seed(30, analysis=analysis, action_items=items, description="Line \x1b[31mred\x1b[0m"))
    rows.append(_seed(31, timeline=[{"kind": "detected", "description": "paged [b]"}], severity="SEV1"))
    service = make_service(home)
    service.import_incidents(rows)
    service.store.engine.dispose()
    with sqlite3.connect(home / "postmortem.db") as conn:
        conn.execute("update incidents set title = ? where pk = 31", [MARKUP])
        conn.execute("update incidents set title = ?, severity = 'SEV9' where pk = 32", [CONTROLS])
        conn.execute("update incidents set title = 'Refund' || char(0) || ' failed' where pk = 3")
        conn.execute("update incidents set title = X'FF' where pk = 5")  # beyond repair: left out, or an error
        conn.execute("update action_items set priority = 'P9'")
        conn.execute("drop index ix_analyses_state")
        conn.execute("alter table analyses drop column state")
        conn.execute("alter table idempotency_keys drop column occurrence")  # 0011
        conn.execute("drop index ix_action_items_owner_key")  # 0014
        conn.execute("alter table action_items drop column owner_key")
        conn.execute("update alembic_version set version_num = '0007'")
    return home


COMMANDS = [
    ["list"],
    ["list", "--status", "open", "--limit", "4"],
    ["list", "--json"],
    ["list", "--status", "resolved", "--limit", "3", "--json"],
    ["list", "--limit", "3", "--offset", "4"],
    ["list", "--status", "resolved", "--offset", "2", "--json"],
    ["show", "INC-31"],
    ["show", "INC-31", "--json"],
    ["show", "INC-32"],
    ["show", "INC-32", "--json"],
    ["show", "INC-3"],
    ["show", "INC-33"],
    ["show", "INC-5"],
    ["show", "INC-99"],
    ["show", "nonsense"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_the_quick_read_prints_what_the_record_store_read(older_home: Path, tmp_path: Path, args: list[str]) -> None:
    home = tmp_path / "home"
    shutil.copytree(older_home, home)
    timed = {"PYTHONPROFILEIMPORTTIME": "1"}
    full = postmortem(*args, home=home, env=timed)
    quick = postmortem(*args, home=home, env=timed)
    assert "sqlalchemy" in _imported(full.stderr)  # the first run migrated and read through the record store
    assert (quick.returncode, quick.stdout) == (full.returncode, full.stdout), quick.stderr.decode()[-800:]
    assert _messages(quick.stderr) == _messages(full.stderr)
    assert not set(HEAVY) & _imported(quick.stderr)
    assert b"\x1b" not in quick.stdout and b"Traceback" not in quick.stderr


def _imported(stderr: bytes) -> set[str]:
    """The top-level packages an `-X importtime` log names."""
    lines = stderr.decode(errors="replace").splitlines()
    return {line.rsplit("|", 1)[-1].strip().partition(".")[0] for line in lines if line.startswith("import time:")}


def _messages(stderr: bytes) -> list[str]:
    lines = stderr.decode(errors="replace").splitlines()
    return [line for line in lines if line.startswith("error")]


def test_show_gives_the_analysis_whys_and_factors_not_its_root_cause_alone(tmp_path: Path) -> None:
    """`postmortem show` says it shows an incident's analysis; it printed the root cause and nothing of the whys or
    the contributing factors that led to it."""
    service = make_service(tmp_path)
    incident_id = capture(service)
    analysis = service.record_analysis(incident_id, draft(), generated_by="assistant")
    service.knowledge.release_index()
    shown = postmortem("show", incident_id, home=tmp_path)
    text = " ".join(shown.stdout.decode().split())
    assert shown.returncode == 0, shown.stderr.decode()
    for n, why in enumerate(analysis.whys, start=1):
        assert f"{n}. {why.question} {why.answer}" in text, text
    factor = analysis.contributing_factors[0]
    assert f"factor: {factor.factor} -> {factor.effect}" in text


def test_show_gives_the_hypotheses_the_analysis_weighed_as_text(tmp_path: Path) -> None:
    """The report lists the candidate root causes an analysis weighed, with the evidence for and against each, and
    why it chose; `show` left them out. They are shown as the rest of `show` is: markup and controls as text."""
    service = make_service(tmp_path)
    incident_id = capture(service)
    weighed = [
        {"cause": "Unbounded retries [bold]on the quota", "evidence_for": "40 workers \x1b[2J", "evidence_against": ""},
        {"cause": "The fares API was down", "evidence_for": "429s", "evidence_against": "it answered others"},
    ]
    said = AnalysisDraft.model_validate(
        {**draft().model_dump(), "hypotheses": weighed, "chosen_because": "Only retries explain [/] bursts"}
    )
    service.record_analysis(incident_id, said, generated_by="assistant")
    service.knowledge.release_index()
    shown = postmortem("show", incident_id, home=tmp_path)
    text = " ".join(shown.stdout.decode().split())
    assert shown.returncode == 0, shown.stderr.decode()
    assert "hypothesis: Unbounded retries [bold]on the quota for: 40 workers" in text and "against: -" in text, text
    assert "hypothesis: The fares API was down for: 429s against: it answered others" in text
    assert "why this root cause: Only retries explain [/] bursts" in text
    assert b"\x1b" not in shown.stdout


def test_list_pages_past_its_limit_with_offset(tmp_path: Path) -> None:
    """`list --limit 200` on a larger home said "more incidents: --limit shows more", and --limit stops at 200: no
    page past the newest 200 could be listed. --offset pages on, and a page past the end is not "no incidents yet"."""
    service = make_service(tmp_path)
    service.import_incidents([SeedIncident(title=f"Planner agent looped on tool call {n}") for n in range(1, 6)])
    service.store.engine.dispose()
    first = postmortem("list", "--limit", "2", home=tmp_path)
    assert "--offset 2 shows the next page" in first.stderr.decode()
    page = postmortem("list", "--limit", "2", "--offset", "2", "--json", home=tmp_path)
    listed = json.loads(page.stdout)
    assert [i["id"] for i in listed["incidents"]] == ["INC-3", "INC-2"] and listed["next_offset"] == 4
    past = postmortem("list", "--offset", "9", home=tmp_path)
    said = "offset 9 is past the end: 5 incident(s) match (offsets 0 to 4)"  # as `actions` and list_incidents say it
    assert past.returncode == 0 and past.stdout == b"" and past.stderr.decode().strip() == said


def test_a_list_page_past_the_end_says_why_it_is_empty_in_json_too(tmp_path: Path) -> None:
    """`list --offset 9 --json` gave `{"incidents": [], "empty_because": null}`, which a script reads as a home with
    nothing in it; list_incidents and `actions --offset --json` said a page past the end is past the end."""
    service = make_service(tmp_path)
    service.import_incidents([SeedIncident(title=f"Planner agent looped on tool call {n}") for n in range(1, 4)])
    service.store.engine.dispose()
    past = json.loads(postmortem("list", "--offset", "9", "--json", home=tmp_path).stdout)
    assert past["incidents"] == [] and past["next_offset"] is None
    assert past["empty_because"] == "offset 9 is past the end: 3 incident(s) match (offsets 0 to 2)"
    filtered = json.loads(postmortem("list", "--status", "open", "--json", home=tmp_path).stdout)
    assert filtered["empty_because"] == "no incident matches these filters (3 in all); leave some out"
