"""Severity from scale: the numbers a person would cite are found with their words, and mapped to SEV1-4 by the
policy's thresholds; the three severities the issue found wrong are pinned through the real CLI."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent_postmortem.analysis.policy import TriagePolicy
from agent_postmortem.analysis.severity_policy import SeverityPolicy, assess
from agent_postmortem.analysis.severity_scale import ALL, extract
from agent_postmortem.store.models import IncidentCreate

CLI = str(Path(sys.executable).parent / "postmortem")


def found(text: str) -> dict[str, list[tuple[float, str]]]:
    out: dict[str, list[tuple[float, str]]] = {}
    for f in extract({"impact": text}):
        out.setdefault(f.dimension, []).append((f.value, f.quote))
    return out


def level(impact: str, policy: SeverityPolicy | None = None, **flags: bool) -> str:
    return assess(IncidentCreate(title="agent failure", impact=impact, **flags), policy or SeverityPolicy())[0]


@pytest.mark.parametrize(
    ("text", "dimension", "value", "quote"),
    [
        ("2.1M rows lost in a production migration", "records", 2_100_000, "2.1M rows"),
        ("erased 1,943,200 database rows", "records", 1_943_200, "1,943,200 database rows"),
        ("about 2,229 files were deleted", "records", 2229, "2,229 files"),
        ("exposed the data of 483,000 patients", "people", 483_000, "483,000 patients"),
        ("ChatGPT was unavailable to all users", "people", ALL, "unavailable to all"),
        ("a $149 goodwill refund", "money", 149, "$149"),
        ("theft of 55.5 ETH (approximately $106,200)", "money", 106_200, "$106,200"),
        ("charged 29 times, totaling 661.08 USD", "money", 661.08, "661.08 USD"),
        ("every RAG agent down for 38 minutes", "outage_minutes", 38, "RAG agent down for 38 minutes"),
        ("lasting 19 hours and 26 minutes", "outage_minutes", 19 * 60 + 26, "lasting 19 hours and 26 minutes"),
        ("Between 3:30am PT and 7:08am PT errors rose", "outage_minutes", 218, "Between 3:30am PT and 7:08am"),
        ("impact occurred from 17:34–18:52 UTC", "outage_minutes", 78, "17:34–18:52"),
        ("approximately 84% of requests failed", "failing_share", 84, "approximately 84% of requests failed"),
        ("5 out of 46 nodes failed to ship logs", "failing_share", 10.9, "5 out of 46 nodes failed to ship logs"),
        ("**Severity:** Critical", "stated", 1, "Severity:** Critical"),
        ("CVSS score 8.1", "stated", 2, "CVSS score 8.1"),
    ],
)
def test_each_number_is_found_with_the_words_it_rests_on(text: str, dimension: str, value: float, quote: str) -> None:
    hits = found(text)[dimension]
    assert any(v == pytest.approx(value) and q == quote for v, q in hits), hits


def test_flags_are_found_and_hypotheticals_are_not() -> None:
    assert "data_loss" in found("the agent deleted the production database")
    assert "data_exposed" in found("other users' chat histories were shown")
    assert "attack" in found("an attacker stole the wallet's funds")
    assert "non_production" in found("it ran against the staging environment")
    assert "no_impact" in found("no customer impact; caught before release")
    assert "data_loss" not in found("this could have wiped local files")
    assert "people" not in found("a platform serving over 100,000 students went down")
    # a contingency inside an if-clause (a DFDS postmortem's design) is no outage; a clause ended by a comma is
    assert "outage" not in found("spread over three zones, so that if a zone goes down or has service disruptions the")
    assert "outage" in found("If you were affected, the outage lasted 3 hours")


def test_a_secret_is_exposed_only_where_it_is_out() -> None:
    # the demo's own incident: 40 workers sharing one API key is how they called the API, not a leak
    assert "data_exposed" not in found("40 parallel workers sharing one API key. The fares provider answered 429")
    assert "data_exposed" not in found("the agent could not authenticate: the api key had expired")
    assert "data_exposed" in found("the agent printed the API key in its reply to the user")
    assert "data_exposed" in found("database credentials were committed to a public repo")
    assert "data_exposed" in found("secrets leaked into the model's context")


def test_the_demo_incident_is_an_outage_not_a_data_exposure() -> None:
    from agent_postmortem.cli.demo import DEMO_INCIDENT

    severity, reasons = assess(DEMO_INCIDENT, SeverityPolicy())
    assert not any("exposed" in r for r in reasons), reasons
    assert severity in ("SEV2", "SEV3"), reasons


@pytest.mark.parametrize(
    ("impact", "expected"),
    [
        ("2.1M rows lost in a production migration", "SEV1"),
        ("every RAG agent down for 38 minutes", "SEV2"),
        ("a $149 goodwill refund", "SEV3"),
        ("ChatGPT was unavailable to all users for 4 hours", "SEV1"),
        ("elevated error rates for 20 minutes", "SEV3"),
        ("elevated error rates for 3 hours", "SEV2"),
        ("0.2% of requests returned errors for 67 minutes", "SEV3"),
        ("the agent deleted my local project folder", "SEV3"),
        ("1.9M rows deleted in production, restored from backup", "SEV2"),
        ("an attacker used injected prompts to drain $500", "SEV1"),
        ("a prompt injection vulnerability, demonstrated by security researchers", "SEV3"),
        ("the agent's loop burned $3 of credits", "SEV4"),
        ("the migration dropped 40,000 rows in the staging database", "SEV4"),
        ("the user died after the chatbot's advice", "SEV1"),
        ("the airline lost the case in a tribunal", "SEV2"),
    ],
)
def test_scale_maps_to_the_guides_levels(impact: str, expected: str) -> None:
    assert level(impact) == expected


def test_reasons_cite_the_number_and_the_quote() -> None:
    _, reasons = assess(
        IncidentCreate(title="migration", impact="2.1M rows lost in a production migration"), SeverityPolicy()
    )
    assert reasons == [
        "SEV1: data lost at scale (impact: '2.1M rows lost in a production'), 2,100,000 records (impact: '2.1M rows'); "
        "sev1_records = 1000"
    ]


def test_internal_tooling_caps_only_a_failure_that_concerns_no_one_outside() -> None:
    """An AIID title with "Monitoring" in a product's name was capped at SEV4 as internal tooling though it names the
    students it failed."""
    proctoring = "Exam Monitoring Systems Provided Allegedly Discriminatory Experiences for BIPOC Students"
    assert assess(IncidentCreate(title=proctoring), SeverityPolicy())[0] == "SEV3"
    exporter = IncidentCreate(title="Prometheus exporter stopped scraping the agent's metrics")
    assert assess(exporter, SeverityPolicy())[0] == "SEV4"
    staff = IncidentCreate(title="Monitoring dashboard for internal users went blank")
    assert assess(staff, SeverityPolicy())[0] == "SEV4"


def test_the_reporters_severity_wins_and_flags_set_floors() -> None:
    explicit = IncidentCreate(title="agent failure", impact="2.1M rows lost in production", severity="SEV4")
    assert assess(explicit, SeverityPolicy()) == ("SEV4", ["severity set explicitly by the reporter"])
    assert level("the agent's loop burned $3 of credits", customer_reported=True) == "SEV3"
    assert level("dropped 40,000 rows in the staging database", user_facing=True) == "SEV3"


def test_policy_thresholds_change_the_level() -> None:
    assert level("every RAG agent down for 38 minutes", SeverityPolicy(sev1_outage_minutes=30)) == "SEV1"
    assert level("2,000 rows lost in production", SeverityPolicy(sev1_records=10_000)) == "SEV1"  # production
    assert level("2,000 rows were lost", SeverityPolicy(sev1_records=10_000)) == "SEV3"
    assert level("the staging run lost 5 rows", SeverityPolicy(non_production="SEV3")) == "SEV3"


def test_the_policy_file_sets_severity_thresholds_and_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "triage.toml"
    path.write_text('full_severities = ["SEV1"]\n[severity]\nsev1_outage_minutes = 30\nsev2_money = 100\n', "utf-8")
    policy = TriagePolicy.load(path)
    assert policy.severity.sev1_outage_minutes == 30 and policy.severity.sev2_money == 100
    path.write_text("[severity]\nsev1_usrs = 5\n", "utf-8")
    with pytest.raises(ValueError, match=r"severity\.sev1_usrs: Extra inputs are not permitted"):
        TriagePolicy.load(path)
    path.write_text('[severity]\nnon_production = "SEV9"\n', "utf-8")
    with pytest.raises(ValueError, match=r"severity\.non_production"):
        TriagePolicy.load(path)
    path.write_text("[severity]\nsev1_money = 10\nsev2_money = 1000\n", "utf-8")  # 500 lost was SEV1
    with pytest.raises(ValueError, match=r"sev1_money \(10\) must be at least sev2_money \(1000\)"):
        TriagePolicy.load(path)


def classify_cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none", "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run(
        [CLI, "classify", "--json", *args],
        env=full,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_issues_three_severities_through_the_cli(tmp_path: Path) -> None:
    """2.1M rows lost in a production migration was SEV4, every RAG agent down for 38 minutes SEV4, a $149 goodwill
    refund SEV2: the dry-run capture path (redaction, classification, severity) now reads the scale."""
    cases = [
        ("Migration lost data", "--description", "2.1M rows lost in a production migration", "SEV1", "2,100,000"),
        ("RAG agents down", "--impact", "every RAG agent down for 38 minutes", "SEV2", "38 min"),
        ("Support bot refund", "--impact", "a $149 goodwill refund to one customer", "SEV3", "$149"),
    ]
    for title, option, text, expected, cited in cases:
        done = classify_cli(tmp_path / "home", title, option, text)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["severity"] == expected, result["severity_reasons"]
        assert any(cited in reason for reason in result["severity_reasons"])


def test_a_team_policy_file_moves_the_threshold_and_a_bad_one_is_one_clear_error(tmp_path: Path) -> None:
    policy = tmp_path / "triage.toml"
    policy.write_text("[severity]\nsev1_outage_minutes = 30\n", "utf-8")
    done = classify_cli(tmp_path / "home", "RAG down", "--impact", "every RAG agent down for 38 minutes",
                        POSTMORTEM_TRIAGE_POLICY=str(policy))  # fmt: skip
    assert json.loads(done.stdout)["severity"] == "SEV1"
    policy.write_text("[severity]\nsev1_outage_minutes = -1\n", "utf-8")
    done = classify_cli(tmp_path / "home", "RAG down", POSTMORTEM_TRIAGE_POLICY=str(policy))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "severity.sev1_outage_minutes" in done.stderr


@pytest.mark.parametrize(
    "report",
    [
        "A production migration by the agent deleted 2.1M rows of customer orders.",
        "The agent deleted the production database of the billing service.",
        "Every RAG agent was down for 38 minutes for all customers.",
    ],
)
def test_a_report_wrapped_over_lines_gets_the_severity_of_the_same_report_on_one_line(report: str) -> None:
    """A number and its unit wrapped apart ("2.1M\\nrows") were no scale at all: the issue's 2.1M lost rows, wrapped
    at 40 columns, were SEV3 'no scale stated'. On 590 corpus reports wrapped at 40, 5 changed level; now none."""
    policy = SeverityPolicy()
    one_line = assess(IncidentCreate(title="Agent failure", description=report), policy)
    for width in (20, 30, 40):
        wrapped = textwrap.fill(report, width)
        assert "\n" in wrapped
        assert assess(IncidentCreate(title="Agent failure", description=wrapped), policy) == one_line, width


def test_a_duration_with_nothing_it_measures_is_not_called_no_scale() -> None:
    """ "All deployments failed for 3 hours" states a duration but no outage, loss or exposure: it stays at the
    unknown-scale level, and the reason says what was found instead of "no scale stated (..., duration)"."""
    level, reasons = assess(IncidentCreate(title="All deployments failed for 3 hours"), SeverityPolicy())
    assert level == "SEV3"
    assert reasons[0].startswith("180 min (title: 'deployments failed for 3 hours'), but no outage"), reasons
    assert "no scale stated" not in reasons[0]
    bare = assess(IncidentCreate(title="The planner agent looped"), SeverityPolicy())
    assert bare == ("SEV3", ["no scale stated (people, records, money, duration): SEV3"])


def test_one_person_affected_is_said_in_the_singular() -> None:
    """The reason read "1 people affected (impact: 'a customer')"."""
    _, one = assess(IncidentCreate(title="checkout bug", impact="a customer"), SeverityPolicy())
    _, many = assess(IncidentCreate(title="checkout bug", impact="483,000 patients exposed"), SeverityPolicy())
    assert one == ["SEV3: 1 person affected (impact: 'a customer'), below sev2_people = 100"]
    assert "483,000 people affected" in many[0], many
