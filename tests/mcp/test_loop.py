"""The follow-through tools over MCP: learning and its resources, reopening, effectiveness and verify_fix."""

import json
from pathlib import Path

import pytest
from mcp import Client, MCPError

from agent_postmortem.store.models import SeedIncident
from tests.factories import CAPTURE, MODES, FakeLLM, draft, make_service, server_for

pytestmark = pytest.mark.anyio


@MODES
async def test_learning_over_mcp_and_its_resources(tmp_path: Path, mode: str) -> None:
    service = make_service(tmp_path, llm=FakeLLM(draft()))
    async with Client(server_for(service), mode=mode) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        early = await client.call_tool("learn_from_incident", {"incident_id": incident_id})
        with pytest.raises(MCPError) as not_analysed:  # the incident is there: no hint that reads as if it were not
            await client.read_resource(f"evalcase://{incident_id}")
        await client.call_tool("draft_analysis", {"incident_id": incident_id})
        unreviewed = await client.call_tool("learn_from_incident", {"incident_id": incident_id})
        await client.call_tool("review_analysis", {"incident_id": incident_id, "decision": "accept", "by": "dana"})
        learned = await client.call_tool("learn_from_incident", {"incident_id": incident_id})
        case = await client.read_resource(f"evalcase://{incident_id}")
        runbook = await client.read_resource("runbook://rate_limit")
        review = await client.read_resource(f"review://{incident_id}")
        with pytest.raises(MCPError, match="PAT-n"):
            await client.read_resource("runbook://not-a-category")
        with pytest.raises(MCPError, match="no recurring pattern PAT-99 now") as unknown:  # well formed, no such one
            await client.read_resource("runbook://PAT-99")
        assert str(unknown.value).endswith("call recurring_patterns for the current ids")  # not the command's name
    assert early.is_error and "draft_analysis" in early.content[0].text  # type: ignore[union-attr]
    assert str(not_analysed.value) == early.content[0].text.removeprefix("Error executing tool learn_from_incident: ")  # type: ignore[union-attr]
    assert "list_incidents" not in str(not_analysed.value) and "`postmortem" not in str(not_analysed.value)
    assert unreviewed.is_error and "review_analysis" in unreviewed.content[0].text  # type: ignore[union-attr]
    result = learned.structured_content
    assert result["eval_case"]["id"] == f"regress-{incident_id}"  # type: ignore[index]
    assert result["eval_case"]["trials"] == 50  # type: ignore[index]  # the draft's runs_to_verify
    assert result["runbook"]["key"] == "rate_limit"  # type: ignore[index]
    assert json.loads(case.contents[0].text)["incident_id"] == incident_id  # type: ignore[union-attr]
    text = runbook.contents[0].text  # type: ignore[union-attr]
    assert text.startswith("# Runbook: rate limit") and f"[{incident_id}](report://{incident_id})" in text
    assert "unbounded retries against a shared fares API quota" in text  # the accepted analysis' root cause
    assert review.contents[0].text.startswith("# Lightweight review:")  # type: ignore[union-attr]


@MODES
async def test_an_incident_marked_again_keeps_its_times_and_one_reopened_is_no_longer_resolved(
    tmp_path: Path, mode: str
) -> None:
    service = make_service(tmp_path)
    async with Client(server_for(service), mode=mode) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        first = (await client.call_tool("resolve_incident", {"incident_id": incident_id})).structured_content
        again = (await client.call_tool("resolve_incident", {"incident_id": incident_id})).structured_content
        back = await client.call_tool("resolve_incident", {"incident_id": incident_id, "status": "mitigated"})
    assert again["resolved_at"] == first["resolved_at"]  # type: ignore[index]  # a second resolve moves nothing
    reopened = back.structured_content
    assert reopened["status"] == "mitigated" and reopened["resolved_at"] is None  # type: ignore[index]
    assert reopened["mitigated_at"] is not None  # type: ignore[index]
    assert service.get_incident(incident_id).timeline[-1].kind == "mitigated"  # the change is on the timeline


async def test_a_reopen_note_longer_than_the_timeline_keeps_after_its_prefix_is_refused_not_cut(
    tmp_path: Path,
) -> None:
    """reopen_incident took a 2,000-character note and kept "Reopened: " and its first 1,990 characters."""
    service = make_service(tmp_path)
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        await client.call_tool("resolve_incident", {"incident_id": incident_id})
        tools = {t.name: t for t in (await client.list_tools()).tools}
        refused = await client.call_tool("reopen_incident", {"incident_id": incident_id, "note": "n" * 1_995})
        kept = await client.call_tool("reopen_incident", {"incident_id": incident_id, "note": "k" * 1_990})
    assert tools["reopen_incident"].input_schema["properties"]["note"]["maxLength"] == 1_990
    assert refused.is_error and "1990" in refused.content[0].text  # type: ignore[union-attr]
    assert not kept.is_error
    assert service.get_incident(incident_id).timeline[-1].description == "Reopened: " + "k" * 1_990


@MODES
async def test_an_incident_is_reopened_with_its_reason_and_a_repeated_mark_adds_one_event(
    tmp_path: Path, mode: str
) -> None:
    """Nothing could set an incident back to open; a client's retry of resolve_incident added a second "resolved"."""
    service = make_service(tmp_path)
    async with Client(server_for(service), mode=mode) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        for _ in range(2):
            await client.call_tool("resolve_incident", {"incident_id": incident_id})
        reopened = await client.call_tool(
            "reopen_incident", {"incident_id": incident_id, "note": "the fix did not hold"}
        )
        again = await client.call_tool("reopen_incident", {"incident_id": incident_id})
        await client.call_tool("reopen_incident", {"incident_id": incident_id, "note": "paged the owner"})
        unknown = await client.call_tool("reopen_incident", {"incident_id": "INC-9999"})
    assert reopened.structured_content["status"] == "open" and reopened.structured_content["resolved_at"] is None  # type: ignore[index]
    assert not again.is_error and unknown.is_error and "INC-9999" in unknown.content[0].text  # type: ignore[union-attr]
    events = [(e.kind, e.description) for e in service.get_incident(incident_id).timeline[-3:]]
    assert events == [  # already open: only the note, not a second "Reopened"
        ("resolved", "Marked resolved."), ("note", "Reopened: the fix did not hold"), ("note", "paged the owner")
    ]  # fmt: skip


async def test_fix_effectiveness_and_an_item_tell_a_fix_completed_on_a_date_not_recorded(tmp_path: Path) -> None:
    """An item imported as completed without a date was dated at its incident's creation, so fix_effectiveness told
    the calling model "recurred after the fix" by a date nobody recorded; it now says the date is unknown."""
    service = make_service(tmp_path)
    same = {"agent": "eks-pipeline", "tool": "terraform", "error_message": "HTTP 503 from ALB", "status": "resolved"}
    done = {"title": "Revert the de-registration delay", "status": "completed"}
    rows = [
        {**same, "title": f"All services returning 503, wave {n}", "created_at": f"2021-06-2{n}T09:00:00Z"}
        for n in (2, 5)
    ]
    service.import_incidents(
        [SeedIncident.model_validate({**rows[0], "action_items": [done]}), SeedIncident(**rows[1])]
    )
    async with Client(server_for(service)) as client:
        item = await client.call_tool("get_action_item", {"action_id": "AI-1"})
        effect = await client.call_tool("fix_effectiveness", {"min_size": 2})
    assert (item.structured_content["status"], item.structured_content["completed_at"]) == ("completed", None)  # type: ignore[index]
    report = effect.structured_content
    assert (report["recurred"], report["holding"], report["fix_date_unknown"]) == (0, 0, 1)  # type: ignore[index]
    [pattern] = report["patterns"]  # type: ignore[index]
    assert pattern["verdict"] == "fixed; completion date unknown for 1 item: recurrence after the fix cannot be told"


async def test_verify_fix_takes_the_counts_the_cli_takes_and_says_the_limit_past_them(tmp_path: Path) -> None:
    """The tool capped each count at ten million while the CLI and the analysis take up to MAX_COUNT: a client with
    twenty million trials a side got a schema error that `postmortem verify-fix` would not have given."""
    from agent_postmortem.analysis.verify import MAX_COUNT

    counts = {"before_failures": 50, "before_trials": 20_000_000, "after_failures": 0, "after_trials": 20_000_000}
    async with Client(server_for(make_service(tmp_path))) as client:
        large = await client.call_tool("verify_fix", counts)
        largest = await client.call_tool("verify_fix", {**counts, "after_trials": MAX_COUNT})
        past = await client.call_tool("verify_fix", {**counts, "before_trials": MAX_COUNT + 1})
    assert not large.is_error and large.structured_content["verdict"] == "fixed"  # type: ignore[index]
    assert not largest.is_error, largest.content
    assert past.is_error and past.content[0].text == (  # type: ignore[union-attr]
        "Invalid argument: before_trials must be an integer between 0 and 1,000,000,000,000,000."
    )


async def test_verify_fix_with_no_trials_after_gives_no_rate_after(tmp_path: Path) -> None:
    """The tool returned an after rate of 0 with an interval of 0-1 and a p-value of 1 for a fix not yet tried."""
    counts = {"before_failures": 3, "before_trials": 10, "after_failures": 0, "after_trials": 0}
    async with Client(server_for(make_service(tmp_path))) as client:
        result = await client.call_tool("verify_fix", counts)
    report = result.structured_content
    assert not result.is_error and report["verdict"] == "need_data"  # type: ignore[index]
    assert report["after"]["rate"] is None and report["p_value"] is None  # type: ignore[index]
