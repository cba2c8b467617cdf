"""Learning from completed post-mortems: runbook entries and regression eval cases from stored records."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

from agent_postmortem.analysis.learn import CATEGORY_CHECKS, regression_case, runbook_entry
from agent_postmortem.cli.demo import SEED
from agent_postmortem.errors import NotAnalysed, UnknownRunbook
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.render.report import render_runbook
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.models import ActionItem, Analysis, Category, Incident, IncidentCreate, TimelineEvent, Why
from tests.documents import items_of, section
from tests.factories import FIXED_NOW, make_service


def analysed(**changes: object) -> Incident:
    analysis = Analysis(
        whys=[Why(question="Why did the search hang?", answer="The tool had no deadline.")],
        root_cause="The system allowed a tool call without a deadline.",
        determinism="deterministic",
        generated_by="assistant",
        created_at=FIXED_NOW,
    )
    base = Incident(
        id="INC-7",
        title="Planner timed out on flights.search",
        category=Category.TIMEOUT,
        severity="SEV3",
        triage="full",
        agent="trip-planner",
        tool="flights.search",
        error_type="TimeoutError",
        error_message="read timed out after 30 s (request 8812)",
        prompt_excerpt="Find me a flight to Lisbon on Friday",
        created_at=FIXED_NOW,
        analysis=analysis,
        timeline=[TimelineEvent(at=FIXED_NOW, kind="mitigated", description="Raised the pool size")],
    )
    return base.model_copy(update=changes)


def test_a_deterministic_timeout_becomes_a_one_run_case_with_its_budget() -> None:
    case = regression_case(analysed())
    assert case.id == "regress-INC-7" and case.input == "Find me a flight to Lisbon on Friday"
    assert case.trials == 1 and case.determinism == "deterministic"
    kinds = {c.kind: c.value for c in case.checks}
    assert kinds["within_seconds"] == "30" and kinds["not_raises"] == "TimeoutError" and "rubric" in kinds
    assert case.todo == [] and case.source == "report://INC-7"
    assert case.root_cause == "The system allowed a tool call without a deadline."


def test_a_case_whose_input_held_a_secret_says_what_to_put_in_its_place() -> None:
    """A case learnt from a capture whose prompt and tool arguments held a key and a password had `todo: []`, yet its
    input read "using key [REDACTED:openai_key]": run as it stands, the agent gets the placeholder, not a key, and the
    case does not reproduce the failure. The todo now names the fields and the placeholders to replace."""
    case = regression_case(
        analysed(
            prompt_excerpt="ship logs using key [REDACTED:openai_key]",
            tool_args='{"password": "[REDACTED:password_pair]", "path": "/var/log"}',
        )
    )
    assert case.todo == [
        "input, tool_args: redacted at capture ([REDACTED:openai_key], [REDACTED:password_pair]); put test "
        "credentials or data of the same kind in their place before running the case"
    ]
    assert regression_case(analysed()).todo == []


def test_a_regression_case_keeps_the_whole_title_of_its_incident() -> None:
    """A case title, "Regression: " and the incident's, was cut at 200 characters: a long title lost its end."""
    title = "Planner timed out on flights.search " + "z" * 160 + " END"
    assert regression_case(analysed(title=title)).title == f"Regression: {title}"


def test_a_probabilistic_case_runs_enough_times_to_trust_the_fix() -> None:
    incident = analysed(category=Category.LLM_REFUSAL, prompt_excerpt=None, error_message=None)
    assert incident.analysis is not None
    probabilistic = incident.analysis.model_copy(update={"determinism": "probabilistic", "runs_to_verify": None})
    case = regression_case(incident.model_copy(update={"analysis": probabilistic}))
    assert case.trials == 73  # 0 failures in 73 runs: Wilson upper bound (z=1.96) falls below 5%
    assert any(c.kind == "not_refusal" for c in case.checks)
    assert case.todo and "input" in case.todo[0]
    chosen = probabilistic.model_copy(update={"runs_to_verify": 200})
    assert regression_case(incident.model_copy(update={"analysis": chosen})).trials == 200


def test_the_pass_rule_says_what_the_runs_the_analysis_asked_for_show() -> None:
    """30 runs asked for by the analysis read "all 30 runs pass (0 failures in 73 runs shows a failure rate below
    5% ...)": the figure was the default's, not what 30 clean runs show (below 11.4%)."""
    incident = analysed(category=Category.INFRASTRUCTURE)
    assert incident.analysis is not None
    default = incident.analysis.model_copy(update={"determinism": "probabilistic", "runs_to_verify": None})
    assert (
        "0 failures in 73 runs shows a failure rate below 5%"
        in regression_case(incident.model_copy(update={"analysis": default})).pass_rule
    )
    thirty = default.model_copy(update={"runs_to_verify": 30})
    rule = regression_case(incident.model_copy(update={"analysis": thirty})).pass_rule
    assert rule.startswith("all 30 runs pass (0 failures in 30 runs shows a failure rate below 11.4% with 95%")
    assert "73 runs would show it below 5%" in rule
    one = regression_case(incident.model_copy(update={"analysis": default.model_copy(update={"runs_to_verify": 1})}))
    assert one.pass_rule.startswith("the one run passes (0 failures in 1 run shows")  # not "all 1 runs pass"


def test_a_runbook_entry_collects_symptoms_checks_causes_and_mitigations() -> None:
    items = [
        ActionItem(
            id="AI-1",
            incident_id="INC-7",
            title="Add a deadline",
            status="completed",
            created_at=FIXED_NOW,
            completed_at=FIXED_NOW,
        ),
        ActionItem(id="AI-2", incident_id="INC-7", title="Alert on p99", priority="P2", created_at=FIXED_NOW),
    ]
    second = analysed(id="INC-8", error_message="read timed out after 45 s (request 9001)")
    entry = runbook_entry("timeout", "timeout", [analysed(), second], items, Category.TIMEOUT, now=FIXED_NOW)
    assert entry.symptoms[0] == "TimeoutError: read timed out after N s (request N) (seen 2x)"
    assert entry.checks[:3] == CATEGORY_CHECKS[Category.TIMEOUT]
    assert entry.known_root_causes == ["The system allowed a tool call without a deadline."]
    assert entry.mitigations_proven[0] == "Add a deadline (AI-1, INC-7)"
    assert entry.mitigations_applied == ["Raised the pool size (INC-7)", "Raised the pool size (INC-8)"]
    assert entry.mitigations_planned == ["Alert on p99 (AI-2, P2, open)"]
    text = render_runbook(entry)
    assert text.startswith("# Runbook: timeout") and "- [INC-8](report://INC-8) SEV3" in text
    assert "## Checks" in text and "1. Find the step" in text


def test_a_runbook_item_completed_on_a_date_not_recorded_is_not_called_proven() -> None:
    """An item imported as completed without a date was listed "✅ completed, and the failure has not come back
    since", though when it was completed, and so what came after it, is not known."""
    undated = ActionItem(
        id="AI-1", incident_id="INC-7", title="Add a deadline", status="completed", created_at=FIXED_NOW
    )
    entry = runbook_entry("timeout", "timeout", [analysed()], [undated], Category.TIMEOUT, now=FIXED_NOW)
    assert entry.mitigations_proven == [] and entry.mitigations_failed == []
    assert entry.mitigations_undated == ["Add a deadline (AI-1, INC-7): completed, date unknown"]
    text = render_runbook(entry)
    assert "- ❔ Add a deadline (AI-1, INC-7): completed, date unknown" in text and "- ✅" not in text
    assert "❔ completed on a date not recorded: whether it held cannot be told" in text


def test_a_runbook_symptom_names_the_error_type_once() -> None:
    """A message that starts with its type (as str() of many clients' exceptions does) read
    'ToolSchemaValidationError: ToolSchemaValidationError: missing required property ...' in a runbook."""
    said = "ToolSchemaValidationError: missing required property order_id"
    twice = analysed(error_type="ToolSchemaValidationError", error_message=said)
    entry = runbook_entry("tool", "tool", [twice, analysed(id="INC-8")], [], Category.TIMEOUT, now=FIXED_NOW)
    assert entry.symptoms[:2] == [said, "TimeoutError: read timed out after N s (request N)"], entry.symptoms


def test_a_runbook_with_no_analysed_incident_says_so_under_each_heading() -> None:
    """`runbook://rate_limit` on a knowledge base with no analysed rate-limit incident showed a bare "## Symptoms"
    and "## Incidents" heading with nothing under them."""
    text = render_runbook(runbook_entry("rate_limit", "rate limit", [], [], Category.RATE_LIMIT, now=FIXED_NOW))
    symptoms = text.split("## Symptoms", 1)[1].split("##", 1)[0]
    assert symptoms.strip() == "_None seen yet: no analysed incident of this category._"
    assert text.rstrip().endswith("## Incidents\n\n_None analysed yet._")
    # "No mitigation or action item recorded yet." read as if an accepted analysis's proposed items were lost
    assert "_No action item tracked yet: the items an analysis proposes count here once tracked" in text


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> PostmortemService:
    service = make_service(tmp_path_factory.mktemp("learn"), clock=lambda: FIXED_NOW + timedelta(days=400))
    service.import_incidents(read_incidents(SEED))
    return service


def test_learning_from_a_seed_post_mortem(seeded: PostmortemService) -> None:
    incident = next(
        i for i in seeded.list_incidents(limit=50, filters=SearchFilters.of(category="rate_limit")).incidents
    )
    learned = seeded.learn(incident.id)
    assert learned.eval_case.incident_id == incident.id and learned.eval_case.category == Category.RATE_LIMIT
    runbook = learned.runbook
    assert incident.id in {i.id for i in runbook.incidents}
    assert runbook.known_root_causes and runbook.mitigations_proven
    assert learned.runbook_markdown.startswith("# Runbook:")
    category = seeded.runbook("rate_limit")
    assert category.key == "rate_limit" and len(category.incidents) == 5
    assert all(i.id.startswith("INC-") for i in category.incidents)


def test_learning_needs_an_analysis_and_a_known_runbook_key(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    raw = service.capture_incident(IncidentCreate(title="Unanalysed failure of the planner")).id
    with pytest.raises(NotAnalysed, match="draft_analysis"):
        service.learn(raw)
    with pytest.raises(UnknownRunbook, match="no recurring pattern PAT-999 now .* call recurring_patterns"):
        service.runbook("PAT-999")
    with pytest.raises(UnknownRunbook, match=r"a runbook key is .*\(PAT-n\)$"):
        service.runbook("PAT-9x<script>")  # not a pattern id: never named back
    with pytest.raises(UnknownRunbook):
        service.runbook("timeouts")
    assert service.runbook("TIMEOUT").incidents == []


ERROR = "429 Too Many Requests from pr0cure-check.io for campaign_q4_emea (request {n}): retry budget <30 s"


DONE = "2025-09-01T12:00:00Z"  # the fix's date: without one, whether it held cannot be told


def test_the_runbook_of_a_pattern_whose_fix_did_not_hold(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Found with `postmortem runbook PAT-n` after `postmortem effectiveness` said the fix did not hold."""
    same = {"agent": "promo-bot", "tool": "coupons.apply", "error_type": "RateLimitError", "category": "rate_limit"}
    rows = [
        {
            **same,
            "title": f"Promo bot throttled while applying coupons, wave {n}",
            "error_message": ERROR.format(n=8800 + n),
            "severity": "SEV3",
            "status": "resolved",
            "created_at": f"2025-09-0{n}T10:00:00Z",
            "analysis": {"whys": [{"question": "Why?", "answer": "No backoff."}], "root_cause": "No backoff."},
            "action_items": [{"title": "Add backoff to coupon calls", "status": "completed", "completed_at": DONE}]
            if n == 1
            else [],
        }
        for n in (1, 2, 3)
    ]
    path = tmp_path / "incidents.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert cli("import", str(path)).exit_code == 0
    again = ["--agent", same["agent"], "--tool", same["tool"], "--error-type", same["error_type"]]
    title = "Promo bot throttled again after the backoff fix"
    assert cli("capture", "--title", title, "--error-message", ERROR.format(n=9999), *again).exit_code == 0
    [pattern] = json.loads(cli("effectiveness", "--json").stdout)["patterns"]
    assert pattern["verdict"].startswith("recurred after the fix")
    text = cli("runbook", pattern["pattern_id"]).stdout
    mitigations = items_of(section(text, "Mitigations"))
    assert [m.split(" (AI-")[0] for m in mitigations] == ["❌ Add backoff to coupon calls"]
    assert "INC-4" in mitigations[0] and "did not hold" in mitigations[0]  # and no ✅ item (the list is whole)
    symptom = "RateLimitError: 429 Too Many Requests from pr0cure-check.io for campaign_q4_emea (request N): "
    assert items_of(section(text, "Symptoms"))[0] == symptom + "retry budget <N s (seen 3x)"
    codes = [c.content for t in section(text, "Checks") for c in t.children or [] if c.type == "code_inline"]
    assert codes[0] == symptom + "retry budget <N s"  # in a code span, not `&lt;N s`
    assert len(items_of(section(text, "Incidents"))) == 3  # one item per incident, not one line


def test_a_patterns_runbook_is_built_from_its_newest_incidents_by_time(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A team that imports its history after capturing (or a file not in time order) has ids out of time order:
    the pattern's runbook took its 'newest' 20 by id, so the latest failure, first in the file, was left out of its
    incidents, root causes and symptoms while a two-year-old one was listed first."""
    same = {"agent": "promo-bot", "tool": "coupons.apply", "error_type": "RateLimitError", "category": "rate_limit"}
    rows = [
        {
            **same,
            "title": f"Promo bot throttled while applying coupons, wave {n}",
            "error_message": ERROR.format(n=8800 + n),
            "created_at": "2026-06-01T10:00:00Z" if n == 0 else f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}T10:00:00Z",
            "analysis": {"whys": [{"question": "Why?", "answer": "No backoff."}], "root_cause": f"Cause {n}."},
        }
        for n in range(22)
    ]
    path = tmp_path / "incidents.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert cli("import", str(path)).exit_code == 0
    [pattern] = json.loads(cli("patterns", "--json").stdout)["patterns"]
    entry = json.loads(cli("runbook", pattern["id"], "--json").stdout)
    times = [i["created_at"] for i in entry["incidents"]]
    assert entry["incidents"][0]["id"] == "INC-1" and times == sorted(times, reverse=True)
    assert entry["known_root_causes"][0] == "Cause 0."


def test_learning_lists_the_incidents_own_completed_items_in_a_busy_categorys_runbook(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`postmortem learn INC-n` on a category with more than ten completed items listed the ten with the lowest ids:
    the items of the incident just learnt from, the newest, were missing from its runbook, and nothing said so."""
    old = {
        "title": "Planner timed out on flights.search during the spring sale",
        "category": "timeout",
        "created_at": "2025-03-01T10:00:00Z",
        "analysis": {"whys": [{"question": "Why?", "answer": "No deadline."}], "root_cause": "No deadline."},
        "action_items": [
            {"title": f"Old fix number {n} for the planner", "status": "completed", "completed_at": DONE}
            for n in range(12)
        ],
    }
    new = {
        "title": "Invoice exporter hung on a slow ledger query",
        "category": "timeout",
        "created_at": "2026-06-01T10:00:00Z",
        "analysis": {"whys": [{"question": "Why?", "answer": "No query budget."}], "root_cause": "No query budget."},
        "action_items": [
            {"title": "Give ledger queries a 5 s budget", "status": "completed", "completed_at": "2026-06-02T10:00:00Z"}
        ],
    }
    path = tmp_path / "incidents.jsonl"
    path.write_text(json.dumps(old) + "\n" + json.dumps(new) + "\n", encoding="utf-8")
    assert cli("import", str(path)).exit_code == 0
    [runbook] = json.loads(cli("learn", "INC-2", "--json").stdout)["runbooks"]
    assert runbook["mitigations_proven"][0] == "Give ledger queries a 5 s budget (AI-13, INC-2)"
    assert len(runbook["mitigations_proven"]) == 10 and runbook["mitigations_left_out"] == 3
    text = cli("runbook", "timeout").stdout
    assert "_3 more not listed here (the newest incidents' come first)" in text


def test_a_categorys_runbook_does_not_call_a_fix_held_when_its_pattern_of_two_recurred(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A failure seen again after its fix (a pattern of two: capture flags it `recurred_after_fix`) had its items
    listed "✅ completed, and the failure has not come back since" in the category's runbook, which `learn` gives
    when the pattern is smaller than three; the pattern's own runbook said ❌."""
    same = {"agent": "promo-bot", "tool": "coupons.apply", "error_type": "RateLimitError", "category": "rate_limit"}
    rows = [
        {
            **same,
            "title": f"Promo bot throttled while applying coupons, wave {n}",
            "error_message": ERROR.format(n=8800 + n),
            "status": "resolved",
            "created_at": f"2025-09-0{n}T10:00:00Z" if n == 1 else "2025-10-01T10:00:00Z",
            "analysis": {"whys": [{"question": "Why?", "answer": "No backoff."}], "root_cause": "No backoff."},
            "action_items": [{"title": "Add backoff to coupon calls", "status": "completed", "completed_at": DONE}]
            if n == 1
            else [],
        }
        for n in (1, 2)
    ]
    path = tmp_path / "incidents.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert cli("import", str(path)).exit_code == 0
    [pattern] = json.loads(cli("patterns", "--min-size", "2", "--json").stdout)["patterns"]
    assert pattern["incident_ids"] == ["INC-1", "INC-2"]
    [runbook] = json.loads(cli("learn", "INC-1", "--json").stdout)["runbooks"]
    assert runbook["key"] == "rate_limit" and runbook["mitigations_proven"] == []
    assert runbook["mitigations_failed"] == [
        "Add backoff to coupon calls (AI-1, INC-1): did not hold, seen again since it was completed in INC-2"
    ]


def test_a_runbook_says_how_many_of_its_analysed_incidents_it_is_built_from(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A category of 23 analysed incidents had a runbook "Built from 20 analysed incident(s)": the newest 20, which it
    did not say, and a plural written as "(s)"."""
    from agent_postmortem.analysis.learn import RUNBOOK_INCIDENTS

    def incident(n: int) -> str:
        return json.dumps(
            {
                "title": f"Planner timed out on search number {n}",
                "category": "timeout",
                "created_at": f"2026-01-{n + 1:02d}T10:00:00Z",
                "analysis": {"whys": [{"question": "Why?", "answer": "No deadline."}], "root_cause": "No deadline."},
            }
        )

    path = tmp_path / "incidents.jsonl"
    path.write_text("\n".join(incident(n) for n in range(RUNBOOK_INCIDENTS + 3)) + "\n", encoding="utf-8")
    assert cli("import", str(path)).exit_code == 0
    text = cli("runbook", "timeout").stdout
    assert f"_Built from the newest {RUNBOOK_INCIDENTS} of {RUNBOOK_INCIDENTS + 3} analysed incidents on" in text
    assert json.loads(cli("runbook", "timeout", "--json").stdout)["analysed_total"] == RUNBOOK_INCIDENTS + 3
    one = render_runbook(runbook_entry("timeout", "timeout", [analysed()], [], Category.TIMEOUT, now=FIXED_NOW))
    assert "_Built from 1 analysed incident on" in one


def test_a_runbook_symptom_says_where_it_failed_in_words() -> None:
    """The place read "in agent / tool - / feature_flags::server": a path with a dash for the agent not known."""
    both, tool_only = analysed(), analysed(id="INC-8", agent=None, tool="feature_flags::server")
    entry = runbook_entry("timeout", "timeout", [both, tool_only], [], Category.TIMEOUT, now=FIXED_NOW)
    assert "in agent trip-planner, calling tool flights.search" in entry.symptoms, entry.symptoms
    assert "calling tool feature_flags::server" in entry.symptoms and not any("/" in s for s in entry.symptoms)


def test_a_case_keeps_the_class_its_incidents_stack_trace_records_raising_under_its_error_type() -> None:
    """Whether `not_raises RateLimitError` names a class (the case is carried by it) or a label (carried by its
    rubric) is read from the incident: the trace's line naming the raised class, plain or inside an exception
    group, is kept in the case as `error_class`; an error type written by hand, with no trace, has none."""
    from agent_postmortem.sdk.incident import incident_of

    error = type("RateLimitError", (Exception,), {"__module__": "openai"})

    def captured(raised: BaseException) -> str | None:
        try:
            raise raised
        except BaseException as e:  # noqa: BLE001 - the raised exception is what is captured
            return incident_of(e, {}, agent="helpdesk", model=None).stack_trace

    for trace in (captured(error("429")), captured(error()), captured(ExceptionGroup("calls", [error("429")]))):
        case = regression_case(analysed(error_type="RateLimitError", stack_trace=trace))
        assert case.context["error_class"] == "openai.RateLimitError", trace
    assert "error_class" not in regression_case(analysed(error_type="RateLimitError")).context
    other = captured(ValueError("RateLimitError: 429"))  # the name in a message, not as the class raised
    assert "error_class" not in regression_case(analysed(error_type="RateLimitError", stack_trace=other)).context
