"""Review state over MCP: every analysis is a draft until a person accepts or rejects it (review_analysis), and only
accepted analyses feed anything else: similar incidents, lightweight reviews, runbooks, regression cases, and the
grounding context of later drafts."""

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from agent_postmortem.mcp.server import create_server
from tests.factories import CAPTURE, draft, make_service

pytestmark = pytest.mark.anyio

ROOT_CAUSES = {
    "accepted": "The fares API client shared one key across 40 workers with no retry budget.",
    "rejected": "The fares API quota was set too low for a normal peak by the vendor.",
    "draft": "The fares API search agent retried every 429 at once with no jitter.",
}


async def analysed(client: Client, root_cause: str, decision: str | None) -> str:
    """Capture CAPTURE (a new incident: the last one is resolved), record an analysis, review it, resolve it."""
    captured = await client.call_tool("capture_incident", CAPTURE)
    incident_id: str = captured.structured_content["id"]  # type: ignore[index]
    analysis = draft().model_copy(update={"root_cause": root_cause}).model_dump_json()
    recorded = await client.call_tool("record_analysis", {"incident_id": incident_id, "analysis_json": analysis})
    assert not recorded.is_error, recorded.content
    if decision is not None:
        args = {"incident_id": incident_id, "decision": decision, "by": "dana", "note": "read it twice"}
        reviewed = await client.call_tool("review_analysis", args)
        assert not reviewed.is_error, reviewed.content
    await client.call_tool("resolve_incident", {"incident_id": incident_id})
    return incident_id


async def text_of(client: Client, uri: str) -> str:
    result = await client.read_resource(uri)
    return result.contents[0].text  # type: ignore[union-attr]


async def test_a_runbook_and_a_lightweight_review_show_only_the_accepted_analysis(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    async with Client(create_server(lambda: service)) as client:
        accepted = await analysed(client, ROOT_CAUSES["accepted"], "accept")
        rejected = await analysed(client, ROOT_CAUSES["rejected"], "reject")
        drafted = await analysed(client, ROOT_CAUSES["draft"], None)
        captured = (await client.call_tool("capture_incident", CAPTURE)).structured_content
        new: str = captured["id"]  # type: ignore[index]
        review = (await client.call_tool("render_report", {"incident_id": new, "kind": "review"})).structured_content
        runbook = await text_of(client, f"runbook://{captured['category']}")  # type: ignore[index]
        five_whys = await client.get_prompt("five_whys", {"incident_id": new})
        learned_rejected = await client.call_tool("learn_from_incident", {"incident_id": rejected})
    shown: dict[str, Any] = {
        "review": review["text"],  # type: ignore[index]
        "runbook": runbook,
        "similar at capture": str(captured["similar"]),  # type: ignore[index]
        "next draft's context": five_whys.messages[0].content.text,  # type: ignore[union-attr]
    }
    assert rejected in shown["review"] and drafted in shown["review"]  # in the pattern, shown without a root cause
    for where, text in shown.items():
        assert ROOT_CAUSES["accepted"] in text, where
        assert ROOT_CAUSES["rejected"] not in text and ROOT_CAUSES["draft"] not in text, where
    assert f"Known root cause: {ROOT_CAUSES['accepted']}" in shown["review"]
    assert accepted in runbook and rejected not in runbook and drafted not in runbook
    assert learned_rejected.is_error and "no accepted analysis" in learned_rejected.content[0].text  # type: ignore[union-attr]
    assert "`postmortem" not in learned_rejected.content[0].text  # type: ignore[union-attr]  # tools, not commands


async def test_a_review_is_kept_with_who_when_and_why_and_in_the_timeline(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    async with Client(create_server(lambda: service)) as client:
        incident_id = await analysed(client, ROOT_CAUSES["rejected"], "reject")
        shown = (await client.call_tool("get_incident", {"incident_id": incident_id})).structured_content
        report = (await client.call_tool("render_report", {"incident_id": incident_id})).structured_content
    analysis = shown["analysis"]  # type: ignore[index]
    assert (analysis["state"], analysis["reviewed_by"], analysis["review_note"]) == (
        "rejected",
        "dana",
        "read it twice",
    )
    assert analysis["reviewed_at"] is not None
    assert "Analysis (assistant) rejected by dana: read it twice" in [e["description"] for e in shown["timeline"]]  # type: ignore[index]
    assert "## Root cause analysis (rejected)" in report["text"] and "**Rejected** by dana" in report["text"]  # type: ignore[index]


async def test_a_new_draft_leaves_the_accepted_analysis_in_use_until_it_is_accepted_itself(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    async with Client(create_server(lambda: service)) as client:
        first = await analysed(client, ROOT_CAUSES["accepted"], "accept")
        redraft = draft().model_copy(update={"root_cause": ROOT_CAUSES["draft"]}).model_dump_json()
        await client.call_tool("record_analysis", {"incident_id": first, "analysis_json": redraft})
        shown = (await client.call_tool("get_incident", {"incident_id": first})).structured_content
        similar_before = str((await client.call_tool("capture_incident", CAPTURE)).structured_content["similar"])  # type: ignore[index]
        await client.call_tool("review_analysis", {"incident_id": first, "decision": "accept"})
        found = await client.call_tool("search_incidents", {"query": "fares API 429 retries"})
    assert shown["analysis"]["state"] == "draft" and shown["postmortem_completed"] is True  # type: ignore[index]
    assert ROOT_CAUSES["accepted"] in similar_before and ROOT_CAUSES["draft"] not in similar_before
    assert ROOT_CAUSES["draft"] in str(found.structured_content)


async def test_reviewing_an_incident_without_an_analysis_says_to_draft_one(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        result = await client.call_tool("review_analysis", {"incident_id": incident_id, "decision": "accept"})
        wrong = await client.call_tool("review_analysis", {"incident_id": incident_id, "decision": "maybe"})
    assert result.is_error and "no analysis to review: draft one first" in result.content[0].text  # type: ignore[union-attr]
    assert "record_analysis" in result.content[0].text and "postmortem" not in result.content[0].text  # type: ignore[union-attr]
    assert wrong.is_error and "accept" in wrong.content[0].text  # type: ignore[union-attr]


async def test_a_review_naming_the_analysis_read_is_refused_when_a_newer_draft_landed_saying_which_is_latest(
    tmp_path: Path,
) -> None:
    """review_analysis applied to whatever analysis was latest when it arrived: a draft stored after the user read
    the first one was accepted unread. With `analysis_id` (an integer, or digits in a string, quoted or not, as clients
    send it) the
    review is refused when that is no longer the latest, naming the latest and how to review it; without it, as
    before."""
    service = make_service(tmp_path)
    async with Client(create_server(lambda: service)) as client:
        incident_id = await analysed(client, ROOT_CAUSES["draft"], None)
        read = (await client.call_tool("get_incident", {"incident_id": incident_id})).structured_content
        first: int = read["analysis"]["id"]  # type: ignore[index]
        redraft = draft().model_copy(update={"root_cause": ROOT_CAUSES["rejected"]}).model_dump_json()
        recorded = await client.call_tool("record_analysis", {"incident_id": incident_id, "analysis_json": redraft})
        latest: int = recorded.structured_content["id"]  # type: ignore[index]  # the stored draft says its id
        stale = await client.call_tool(
            "review_analysis", {"incident_id": incident_id, "decision": "accept", "analysis_id": first}
        )
        unchanged = (await client.call_tool("get_incident", {"incident_id": incident_id})).structured_content
        given = {"incident_id": incident_id, "decision": "accept", "analysis_id": f'"{latest}"'}  # as the Inspector
        accepted = await client.call_tool("review_analysis", given)
        wrong = await client.call_tool("review_analysis", {**given, "analysis_id": "the latest"})
    assert latest > first
    said = stale.content[0].text  # type: ignore[union-attr]
    assert stale.is_error and f": analysis {first} is not {incident_id}'s latest, analysis {latest} (draft) is" in said
    assert f"review it with analysis_id={latest}" in said and "postmortem" not in said  # a tool's words, no command
    assert unchanged["analysis"]["state"] == "draft" and unchanged["analysis"]["id"] == latest  # type: ignore[index]
    assert not accepted.is_error and accepted.structured_content["state"] == "accepted"  # type: ignore[index]
    assert accepted.structured_content["id"] == latest  # type: ignore[index]
    assert wrong.is_error and "analysis_id" in wrong.content[0].text  # type: ignore[union-attr]
