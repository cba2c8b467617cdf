"""Stored text in Markdown templates: no stored value, in any field of any template (the post-mortem, the review, a
runbook, the action-item export), adds live HTML, a link or image, or changes the document's structure (checked with
markdown-it, HTML on, against the same document rendered with a benign value in that field), and each template's
snapshot."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agent_postmortem.analysis.blameless import check_blameless
from agent_postmortem.analysis.learn import IncidentLink, RunbookEntry
from agent_postmortem.render.exports import to_github_markdown
from agent_postmortem.render.report import render_markdown, render_review, render_runbook
from agent_postmortem.store.models import (
    ActionItem,
    Analysis,
    AnalysisAction,
    Category,
    Factor,
    Hypothesis,
    Incident,
    SimilarIncident,
    TimelineEvent,
    Why,
)
from tests.documents import MD, check, live, structure
from tests.factories import FIXED_NOW
from tests.render.hostile_text import VALUE

BENIGN = "plain words"


def assert_inert(render: Callable[[dict[str, str]], str], field: str, value: str) -> None:
    benign, hostile = render({}), render({field: value})
    assert live(hostile) == []
    assert structure(hostile) == structure(benign)


# model_construct: stored values are whatever a store holds, so the models' input bounds do not apply here
def _analysis(v: Callable[[str], str]) -> Analysis:
    return Analysis.model_construct(
        whys=[
            Why.model_construct(question=v("why.question"), answer=v("why.answer")),
            Why.model_construct(question="Why two?", answer="Because."),
        ],
        root_cause=v("root_cause"),
        contributing_factors=[
            Factor.model_construct(factor=v("factor"), effect=v("effect")),
            Factor.model_construct(factor="f2", effect="e2"),
        ],
        action_items=[
            AnalysisAction.model_construct(
                title=v("proposal.title"), owner_role=v("proposal.owner"), priority="P1", due_in_days=7,
                addresses=v("proposal.addresses"),
            ),
            AnalysisAction.model_construct(
                title=v("repeat.title"), owner_role="team", priority="P2", due_in_days=7, addresses="x",
                duplicate_of="AI-9",
            ),
        ],
        model_behavior=v("model_behavior"),
        hypotheses=[
            Hypothesis.model_construct(
                cause=v("hypothesis.cause"), evidence_for=v("hypothesis.for"), evidence_against=v("hypothesis.against")
            ),
            Hypothesis.model_construct(cause="second", evidence_for="", evidence_against="x"),
        ],
        chosen_because=v("chosen_because"),
        generated_by=v("generated_by"),
        llm_model=v("llm_model"),
        state="rejected",
        reviewed_by=v("reviewed_by"),
        reviewed_at=FIXED_NOW,
        review_note=v("review_note"),
        warnings=[v("warning")],
        checks=["placeholders", "distinct_items"],
        created_at=FIXED_NOW,
    )  # fmt: skip


def _item(v: Callable[[str], str], n: int, prefix: str) -> ActionItem:
    return ActionItem.model_construct(
        id=f"AI-{n}",
        incident_id="INC-2",
        title=v(f"{prefix}.title"),
        owner=v(f"{prefix}.owner"),
        created_at=FIXED_NOW,
        due_at=FIXED_NOW + timedelta(days=3),
    )


def _similar(v: Callable[[str], str]) -> list[SimilarIncident]:
    return [
        SimilarIncident.model_construct(
            id="INC-2",
            title=v("similar.title"),
            category=Category.TIMEOUT,
            severity="SEV3",
            status="resolved",
            score=0.8,
            created_at=FIXED_NOW,
            root_cause=v("similar.root_cause"),
        )
    ]


def _incident(v: Callable[[str], str]) -> Incident:
    return Incident.model_construct(
        id="INC-5",
        title=v("title"),
        description=v("description"),
        impact=v("impact"),
        error_type=v("error_type"),
        error_message=v("error_message"),
        agent=v("agent"),
        tool=v("tool"),
        model=v("model"),
        tool_args=v("tool_args"),
        prompt_excerpt=v("prompt_excerpt"),
        stack_trace=v("stack_trace"),
        category=Category.TIMEOUT,
        severity="SEV3",
        severity_reasons=[v("severity_reason")],
        category_signals=[v("category_signal")],
        triage="full",
        triage_reasons=[v("triage_reason")],
        created_at=FIXED_NOW,
        timeline=[TimelineEvent.model_construct(at=FIXED_NOW, kind="detected", description=v("timeline"))],
        analysis=_analysis(v),
        action_items=[_item(v, 1, "tracked")],
    )


def _getter(values: dict[str, str]) -> Callable[[str], str]:
    return lambda name: values.get(name, f"{BENIGN} {name}")


def _report(values: dict[str, str]) -> str:
    v = _getter(values)
    return render_markdown(_incident(v), similar=_similar(v), now=FIXED_NOW, linked={"AI-9": _item(v, 9, "linked")})


def _review(values: dict[str, str]) -> str:
    v = _getter(values)
    items = [_item(v, 1, "tracked"), _item(v, 2, "linked")]
    return render_review(_incident(v), pattern=_similar(v), items=items, same_signature={"INC-2"}, now=FIXED_NOW)


RUNBOOK_LISTS = (
    "symptoms", "checks", "error_patterns", "known_root_causes", "mitigations_proven", "mitigations_failed",
    "mitigations_applied", "mitigations_planned",
)  # fmt: skip


def _runbook(values: dict[str, str]) -> str:
    v = _getter(values)
    lists: dict[str, Any] = {name: [v(name), "second"] for name in RUNBOOK_LISTS}
    entry = RunbookEntry.model_construct(
        key=v("key"),
        title=v("runbook.title"),
        fix_verdict=v("fix_verdict"),
        **lists,
        incidents=[
            IncidentLink.model_construct(
                id="INC-3", title=v("link.title"), severity="SEV3", created_at=FIXED_NOW, report="report://INC-3",
                analysis="draft",
            ),
            IncidentLink.model_construct(
                id="INC-4", title="t", severity="SEV3", created_at=FIXED_NOW, report="report://INC-4",
                analysis="accepted",
            ),
        ],
        generated_at=FIXED_NOW,
    )  # fmt: skip
    return render_runbook(entry)


def _export(values: dict[str, str]) -> str:
    v = _getter(values)
    return to_github_markdown([_item(v, 1, "tracked"), _item(v, 2, "linked")], now=FIXED_NOW)


REPORT_FIELDS = [
    "title", "description", "impact", "error_type", "error_message", "agent", "tool", "model", "severity_reason",
    "category_signal", "triage_reason", "timeline", "why.question", "why.answer", "root_cause", "factor", "effect",
    "model_behavior", "warning", "proposal.title", "proposal.owner", "proposal.addresses", "repeat.title",
    "generated_by", "llm_model", "tracked.title", "tracked.owner", "linked.title", "linked.owner", "similar.title",
    "similar.root_cause", "hypothesis.cause", "hypothesis.for", "hypothesis.against", "chosen_because", "reviewed_by",
    "review_note", "tool_args", "prompt_excerpt", "stack_trace",
]  # fmt: skip
REVIEW_FIELDS = [
    "title", "error_type", "error_message", "agent", "tool", "model", "triage_reason", "similar.title",
    "similar.root_cause", "tracked.title", "tracked.owner", "linked.title", "linked.owner",
]  # fmt: skip
RUNBOOK_FIELDS = ["key", "runbook.title", "fix_verdict", "link.title", *RUNBOOK_LISTS]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.sampled_from(REPORT_FIELDS), VALUE)
def test_no_stored_value_is_live_or_changes_the_post_mortem(field: str, value: str) -> None:
    assume(not check_blameless(value).findings)  # blaming words add a finding to the list: that is the point
    assert_inert(_report, field, value)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.sampled_from(REVIEW_FIELDS), VALUE)
def test_no_stored_value_is_live_or_changes_the_review(field: str, value: str) -> None:
    assert_inert(_review, field, value)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.sampled_from(RUNBOOK_FIELDS), VALUE)
def test_no_stored_value_is_live_or_changes_a_runbook(field: str, value: str) -> None:
    assert_inert(_runbook, field, value)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.sampled_from(["tracked.title", "tracked.owner", "linked.title"]), VALUE)
def test_no_stored_value_is_live_or_changes_the_action_item_export(field: str, value: str) -> None:
    assert_inert(_export, field, value)


def test_the_issue_examples_are_inert_in_the_post_mortem() -> None:
    values = {
        "error_type": "Err\n<script>alert(1)</script>\n<img src=http://e.vil/x>",
        "error_message": "```\nthe rest of the report",
        "description": "ok\n[r]: javascript:alert(1)\n\n[click][r]",
    }
    for field, value in values.items():
        assert_inert(_report, field, value)
    text = _report(values)
    html = MD.render(text)
    assert "<script" not in html and "<img" not in html and "the rest of the report</code>" not in html


SNAPSHOT_VALUES = {
    "title": "Coupon <b>leak</b> #",
    "description": "First line.\n- not a list\n```\n[r]: javascript:alert(1)",
    "error_type": "Err\n<script>alert(1)</script>",
    "error_message": "429 from pr0cure-check.io for campaign_q4_emea: retry budget <30 s",
    "factor": "no budget %%{init:{'themeCSS':'*{background:url(//e.vil/x)}'}}%% set",
    "tracked.title": "Escape `pipes` | and *stars*",
    "symptoms": "RateLimitError: 429 from pr0cure-check.io: retry budget <N s (seen 3x)",
    "error_patterns": "RateLimitError: 429 from pr0cure-check.io: retry budget <N s",
    "link.title": "Promo bot throttled\n## not a heading",
}


@pytest.mark.parametrize(
    ("name", "render"), [("report", _report), ("review", _review), ("runbook", _runbook), ("actions", _export)]
)
def test_template_snapshot(name: str, render: Callable[[dict[str, str]], str]) -> None:
    """How each template looks, escapes included; regenerate after an intended change with UPDATE_SNAPSHOTS=1."""
    check(f"{name}.md", render(SNAPSHOT_VALUES))


def test_the_runbook_legend_names_every_placeholder_the_error_patterns_use() -> None:
    """A certificate error's pattern read "current time TIME is after TIME" under a legend naming only `ID` and `N`,
    so a reader could not tell what TIME stood for."""
    patterns = ["CertificateExpired: x509: current time TIME is after TIME", "Timeout: request ID after N s"]
    entry = RunbookEntry.model_construct(
        key="infrastructure", title="infrastructure", fix_verdict=None, **{n: [] for n in RUNBOOK_LISTS}
    )
    text = render_runbook(
        entry.model_copy(update={"error_patterns": patterns, "incidents": [], "generated_at": FIXED_NOW})
    )
    [legend] = [line for line in text.splitlines() if line.startswith("_In the error patterns")]
    assert all(f"`{p}` stands for" in legend or f"`{p}` for" in legend for p in ("TIME", "ID", "N"))
