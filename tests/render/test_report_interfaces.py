"""The Markdown post-mortem through the real interfaces (the MCP tool, the CLI, the service): proposals,
hostile captures, the hypotheses a draft weighed and failures repeated many times."""

import json
from pathlib import Path

import pytest
from mcp import Client

from agent_postmortem.store.models import (
    ProposedAction,
    TimelineEventCreate,
)
from tests.documents import MD, items_of, live, section, structure
from tests.factories import CAPTURE, FakeLLM, draft, make_service, server_for

FRESH = ProposedAction(
    title="Alert when the fares 429 rate passes five percent",
    owner_role="sre",
    priority="P2",
    due_in_days=30,
    addresses="root cause",
)


@pytest.mark.anyio
async def test_proposals_print_as_separate_items_and_the_next_heading_stays_a_heading(tmp_path: Path) -> None:
    service = make_service(
        tmp_path, llm=FakeLLM(draft().model_copy(update={"action_items": [*draft().action_items, FRESH]}))
    )
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        await client.call_tool("draft_analysis", {"incident_id": incident_id})
        result = await client.call_tool("render_report", {"incident_id": incident_id, "kind": "full"})
    text = result.structured_content["text"]  # type: ignore[index]
    proposed = items_of(section(text, "Action items"))
    assert [p.split(" (owner")[0] for p in proposed] == [
        "[ ] P1 Add exponential backoff with jitter to fares calls",
        "[ ] P2 Alert when the fares 429 rate passes five percent",
    ]
    tokens = MD.parse(text)
    headings = [tokens[n + 1].content for n, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings[-1] == "Blameless language check" and "Root cause analysis (draft): 5 whys" in headings


@pytest.mark.anyio
async def test_proposals_that_repeat_open_items_stay_in_the_report_as_links_to_those_items(tmp_path: Path) -> None:
    service = make_service(
        tmp_path, llm=FakeLLM(draft().model_copy(update={"action_items": [*draft().action_items, FRESH]}))
    )
    async with Client(server_for(service)) as client:
        known = (await client.call_tool("capture_incident", {**CAPTURE, "agent": "search-bot"})).structured_content[
            "id"
        ]  # type: ignore[index]
        existing = await client.call_tool(
            "add_action_item", {"incident_id": known, "title": "Add exponential backoff with jitter to fares calls"}
        )
        existing_id = existing.structured_content["id"]  # type: ignore[index]
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        await client.call_tool("draft_analysis", {"incident_id": incident_id})
        await client.call_tool("add_action_item", {"incident_id": incident_id, "title": FRESH.title, "priority": "P2"})
        result = await client.call_tool("render_report", {"incident_id": incident_id, "kind": "full"})
    text = result.structured_content["text"]  # type: ignore[index]
    tokens = section(text, "Action items")
    assert [i.split(" (")[0] for i in items_of(tokens)] == [
        f"[ ] P2 {FRESH.title}",  # tracked here
        f"{existing_id} P1 Add exponential backoff with jitter to fares calls",  # tracked on the known incident
    ]
    links = [t.attrGet("href") for t in tokens for t in t.children or [] if t.type == "link_open"]
    assert links == [f"report://{known}"]
    assert f"[{existing_id}](report://{known})" in text and "already tracked as open items" in text


def test_a_hostile_capture_renders_inert_from_the_cli(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hostile = {
        "title": "Evil <b>title</b> #",
        "description": "line1\n# Heading\n```\nswallowed\n[r]: javascript:alert(1)\n\n[click][r]",
        "agent": "a\n<script>alert(1)</script>",
        "error_type": "Err\n<img src=http://e.vil/x>",
        "error_message": "```\nrest of report",
    }
    benign = {"title": "Plain title", "description": "plain", "agent": "a", "error_type": "Err", "error_message": "m"}
    rows = [
        {**fields, "category": "rate_limit", "severity": "SEV3", "created_at": "2025-09-09T14:12:00Z"}
        for fields in (benign, hostile)
    ]
    path = tmp_path / "incidents.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert cli("import", str(path)).exit_code == 0
    plain, evil = cli("report", "INC-1").stdout, cli("report", "INC-2").stdout
    assert live(evil) == [] and structure(evil) == structure(plain)
    html = MD.render(evil)
    assert "<script" not in html and "<img" not in html and "## Timeline" in evil


@pytest.mark.anyio
async def test_the_hypotheses_a_draft_weighed_are_in_the_report_with_their_evidence(tmp_path: Path) -> None:
    from agent_postmortem.store.models import DraftHypothesis

    hypotheses = [
        DraftHypothesis(
            cause="No retry budget on the fares API client",
            evidence_for="40 workers retried at once on every 429",
            evidence_against="none found",
        ),
        DraftHypothesis(
            cause="The vendor lowered the fares API quota",
            evidence_for="429s began suddenly",
            evidence_against="The quota was unchanged: quota exceeded only at the retry peak",
        ),
    ]
    chosen = "Only the retry storm explains why the 429s stopped when the workers paused."
    analysis = draft().model_copy(update={"hypotheses": hypotheses, "chosen_because": chosen})
    service = make_service(tmp_path)
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        recorded = await client.call_tool(
            "record_analysis", {"incident_id": incident_id, "analysis_json": analysis.model_dump_json()}
        )
        assert not recorded.is_error, recorded.content
        result = await client.call_tool("render_report", {"incident_id": incident_id, "kind": "full"})
    text = result.structured_content["text"]  # type: ignore[index]
    cells = [t.content for t in section(text, "Hypotheses considered") if t.type == "inline"]
    assert cells[3:6] == [
        "No retry budget on the fares API client",
        "40 workers retried at once on every 429",
        "none found",
    ]
    assert cells[6:8] == ["The vendor lowered the fares API quota", "429s began suddenly"]
    assert f"**Why this root cause:** {chosen}" in text


def test_a_failure_repeated_many_times_is_one_line_of_the_report_and_of_show(tmp_path: Path) -> None:
    """1,500 repeats of a failure made a 151 KB report and 268 KB of `postmortem show`, one "Occurred again" line
    each: the earlier ones are one line saying how many and when, the latest 3 and every other event stay."""
    from tests.factories import capture
    from tests.processes import postmortem

    service = make_service(tmp_path, llm=None)
    incident_id = capture(service)
    for _ in range(59):
        assert capture(service) == incident_id
    service.add_timeline_event(incident_id, TimelineEventCreate(kind="note", description="Paged on-call"))
    report = service.render_report(incident_id)
    timeline = report[report.index("## Timeline") : report.index("## ", report.index("## Timeline") + 3)]
    assert timeline.count("Occurred again: ") == 3 and "Paged on-call" in timeline
    assert (
        "Occurred again 56 times from " in timeline
        and "(each time noted on the incident; the latest 3 follow)" in timeline
    )
    assert len(service.get_incident(incident_id).timeline) == 61  # the store keeps every note
    shown = postmortem("show", incident_id, home=tmp_path, env={"COLUMNS": "200"}).stdout.decode()
    assert shown.count("Occurred again: ") == 3 and "Occurred again 56 times from " in shown, shown
