"""What enters the store is validated and redacted before it is written; a stored row that no longer validates is
read repaired and logged, so one bad row can take down no read, no search and no backup. Driven from outside, as
the defects were found: an MCP client over stdio and `postmortem` commands as subprocesses."""

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from agent_postmortem.store.errors import CorruptRecord
from agent_postmortem.store.models import ActionItem, ActionItemCreate, Analysis, Incident, TimelineEvent
from agent_postmortem.store.records.integrity import for_storage, load
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import FIXED_NOW
from tests.processes import cli, stdio_server

pytestmark = pytest.mark.anyio

ANALYSIS = {
    "whys": [
        {"question": "Why did the refund fail?", "answer": "The payments tool timed out after 30 s."},
        {"question": "Why did it time out?", "answer": "The payments API was rate limiting the agent."},
        {"question": "Why was it rate limited?", "answer": "The agent retried without backoff."},
    ],
    "root_cause": "Retries without backoff exhausted the payments API quota.",
    "contributing_factors": [],
    "action_items": [
        {
            "title": "Add exponential backoff to payment retries",
            "owner_role": "payments team",
            "priority": "P1",
            "due_in_days": 14,
            "addresses": "retries without backoff",
        }
    ],
    "model_behavior": None,
    "determinism": "deterministic",
    "runs_to_verify": None,
    "responsible": None,
    "decisive_step": None,
}


async def call(client: Client, tool: str, /, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, result.content)
    assert result.structured_content is not None
    return result.structured_content


async def refused(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, tool
    return str(getattr(result.content[0], "text", ""))


async def seed(client: Client) -> str:
    """An analysed incident with two action items, as a user makes it."""
    incident = (await call(client, "capture_incident", title="Refund agent failed on order 4412"))["id"]
    await call(client, "record_analysis", incident_id=incident, analysis_json=json.dumps(ANALYSIS))
    await call(client, "review_analysis", incident_id=incident, decision="accept", by="dana")
    await call(client, "add_action_item", incident_id=incident, title="Add backoff to retries", owner="payments")
    await call(client, "add_action_item", incident_id=incident, title="Alert on refund timeouts", by="dana")
    return str(incident)


def rows(home: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home / "postmortem.db") as conn:
        return list(conn.execute(query))


# --- writes validate before they write -----------------------------------------------------------


async def test_an_action_item_update_the_create_model_rejects_writes_nothing(
    tmp_path: Path, embedder: Embedder
) -> None:
    """`owner: "\\u0000"` was rejected after the write committed, and every later read of the item failed."""
    async with Client(stdio_server(tmp_path)) as client:
        incident = await seed(client)
        before = rows(tmp_path, "select * from action_items order by pk")
        changes = rows(tmp_path, "select count(*) from action_item_changes")
        for arguments in ({"owner": "\u0000"}, {"title": "Fix \u0000 it"}, {"by": "dana\u0000"}):
            message = await refused(client, "update_action_item", action_id="AI-1", status="completed", **arguments)
            assert "NUL" in message or "surrogate" in message
            assert "\u0000" not in message  # the rejected value is never echoed
        await refused(client, "update_action_item", action_id="AI-1", title="  ")  # too short once stripped
        await refused(client, "add_action_item", incident_id=incident, title="Fix \u0000 it")
        await refused(client, "add_timeline_event", incident_id=incident, description="paged \u0000 on-call")
        await refused(client, "resolve_incident", incident_id=incident, note="fixed \u0000")
        assert rows(tmp_path, "select * from action_items order by pk") == before
        assert rows(tmp_path, "select count(*) from action_item_changes") == changes
        assert (await call(client, "get_incident", incident_id=incident))["status"] == "open"
        assert len((await call(client, "list_action_items", incident_id=incident))["items"]) == 2


async def test_text_that_redaction_lengthens_is_stored_within_the_models_limits(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A placeholder is longer than an email: a title at its limit grew past it, and the stored row then failed
    validation on every read. Every write now trims what redaction lengthened to the field's limit."""
    emails = " ".join(f"u{n}@ex.io" for n in range(30))
    async with Client(stdio_server(tmp_path)) as client:
        incident = await seed(client)
        title = (emails + " refund")[:300]
        by = "dana \u202e" + emails[:190]  # a bidi control: dropped, like every invisible character
        await call(client, "update_action_item", action_id="AI-1", title=title, owner=emails[:200], by=by)
        await call(client, "add_action_item", incident_id=incident, title=title, owner=emails[:200])
        await call(client, "add_timeline_event", incident_id=incident, description=(emails * 8)[:2000])
        await call(client, "resolve_incident", incident_id=incident, note=(emails * 8)[:2000])
        item = await call(client, "get_action_item", action_id="AI-1")
        stored = await call(client, "get_incident", incident_id=incident)
    assert len(item["title"]) <= 300 and item["title"].startswith("[REDACTED:email]")
    assert item["owner"] is not None and len(item["owner"]) <= 200
    authors = [h["by"] for h in item["history"] if h["by"]]
    assert authors and all(a.startswith("dana [REDACTED:email]") and len(a) <= 200 for a in authors)
    # the review of the analysis is a timeline event too
    assert all(len(e["description"]) <= 2000 for e in stored["timeline"]) and len(stored["timeline"]) == 4
    assert not [t for (t,) in rows(tmp_path, "select title from action_items") if "@ex.io" in t]


# --- one bad stored row takes nothing down ---------------------------------------------------------


def plant_bad_rows(home: Path) -> None:
    """Rows no current write can produce: as an older version wrote them, or as edited in the database."""
    with sqlite3.connect(home / "postmortem.db") as conn:
        conn.execute("update action_items set owner = char(0), title = 'x' || char(0) where pk = 1")
        conn.execute("update action_items set title = :t, priority = 'P9' where pk = 2", {"t": "t" * 400})
        conn.execute("update action_item_changes set by = 'dana' || char(0)")
        conn.execute("update timeline_events set description = 'paged' || char(0) || ' on-call'")
        conn.execute("update incidents set title = 'Refund' || char(0) || ' agent failed'")
        conn.execute("update incidents set body = json_set(body, '$.legacy_field', 1, '$.triage', 'unknown')")
        conn.execute(
            "update analyses set body = json_set(body, '$.whys[0].answer', :a, '$.whys[1].question', '')",
            {"a": "a" * 900},
        )


async def test_one_bad_stored_row_takes_down_no_read_and_no_export(tmp_path: Path, embedder: Embedder) -> None:
    home = tmp_path / "home"
    async with Client(stdio_server(home)) as client:
        incident = await seed(client)
        await call(client, "capture_incident", title="Planner agent timed out calling flights.search")
    plant_bad_rows(home)
    async with Client(stdio_server(home)) as client:
        record = await call(client, "get_incident", incident_id=incident)
        assert "\\u0000" not in json.dumps(record) and record["triage"] == "full"  # a required choice: its first
        first, second = record["action_items"]
        assert (first["owner"], first["title"]) == (None, "x [repaired]")  # NUL dropped (no owner), too short: marked
        assert (len(second["title"]), second["priority"]) == (300, "P1")  # trimmed; its default
        items = (await call(client, "list_action_items", incident_id=incident))["items"]
        assert len(items) == 2 and {i["priority"] for i in items} <= {"P0", "P1", "P2"}
        assert all(3 <= len(i["title"]) <= 300 and "\u0000" not in i["title"] for i in items)
        history = await call(client, "get_action_item", action_id="AI-1")
        assert history["history"] and "\\u0000" not in json.dumps(history)
        found = await call(client, "search_incidents", incident_id=incident)
        assert found["hits"]
        report = await call(client, "render_report", incident_id=incident, kind="full")
        assert "Refund agent failed" in report["text"]
        learned = await call(client, "learn_from_incident", incident_id=incident)
        assert learned["eval_case"]["incident_id"] == incident
        await call(client, "list_incidents")
        resource = await client.read_resource(f"incident://{incident}")
        assert json.loads(resource.contents[0].text)["id"] == incident  # type: ignore[union-attr]
        open_items = await client.read_resource("actions://open")
        assert len(json.loads(open_items.contents[0].text)) == 2  # type: ignore[union-attr]
    exported = cli(home, "export", "-o", str(tmp_path / "backup.jsonl"))
    assert exported.returncode == 0, exported.stderr
    lines = (tmp_path / "backup.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and "\\u0000" not in "".join(lines)  # every incident, as it reads
    restored = cli(tmp_path / "restored", "import", str(tmp_path / "backup.jsonl"), "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout) == {"restored": 2}  # and the backup restores


# --- the policy, on its own ------------------------------------------------------------------------


def test_a_row_that_validates_is_read_as_it_is_and_a_nul_is_never_written() -> None:
    row = {"at": FIXED_NOW, "kind": "note", "description": "paged on-call"}
    assert load(TimelineEvent, row, what="INC-1's timeline event 1") == TimelineEvent(**row)
    built = ActionItemCreate.model_construct(
        title="Fix \u0000 it", owner=None, priority="P1", due_at=None, status="open"
    )
    with pytest.raises(ValueError) as raised:  # validated again on the way in, whatever built it: the field is named
        for_storage(built)
    assert "title" in str(raised.value) and "Fix" not in str(raised.value)
    stored = for_storage(Incident.model_validate({**_incident(), "description": "a\u0000b"}))
    assert stored.description == "ab"  # a stored model has no NUL check of its own: the redactor drops it


def _incident() -> dict[str, Any]:
    return {
        "id": "INC-1",
        "title": "Refund failed",
        "category": "timeout",
        "severity": "SEV3",
        "triage": "full",
        "created_at": FIXED_NOW,
    }


def test_a_row_damaged_beyond_repair_is_a_corrupt_record_and_lists_skip_it() -> None:
    data = {"id": "AI-1", "incident_id": "INC-1", "title": "Fix it", "created_at": "not a time"}
    with pytest.raises(CorruptRecord) as raised:
        load(ActionItem, data, what="AI-1")
    assert raised.value.what == "AI-1"


def test_a_missing_or_unknown_required_choice_reads_as_its_first_value_and_unknown_keys_are_dropped() -> None:
    data = {k: v for k, v in _incident().items() if k != "triage"} | {"severity": "SEV9", "kept_by_v0": 1}
    incident = load(Incident, data, what="INC-1")
    assert (incident.triage, incident.severity) == ("full", "SEV1")
    with pytest.raises(CorruptRecord):  # an analysis without a root cause cannot be made up
        load(Analysis, {"whys": [], "generated_by": "imported", "created_at": FIXED_NOW}, what="INC-1's analysis")
