"""The triage policy: the brief's default rule, team overrides from a TOML file, and clear errors for bad files."""

from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.analysis.classify import Neighbour, decide
from agent_postmortem.analysis.policy import TriageFacts, TriagePolicy, policy_path, triage
from agent_postmortem.analysis.wording import short_of
from agent_postmortem.store.models import Category, IncidentCreate

DEFAULT = TriagePolicy()


def facts(**changes: Any) -> TriageFacts:
    base: dict[str, Any] = {
        "severity": "SEV3",
        "category": "timeout",
        "novel": False,
        "customer_reported": False,
        "user_facing": False,
        "recurred_after_fix": False,
        "nearest_id": "INC-9",
        "nearest_similarity": 0.9,
    }
    return TriageFacts.model_validate(base | changes)


def test_the_default_policy_is_the_briefs_rule() -> None:
    assert triage(facts(severity="SEV2"), DEFAULT)[0] == "full"
    assert triage(facts(severity="SEV1"), DEFAULT)[0] == "full"
    assert triage(facts(severity="SEV4", novel=True, nearest_id=None), DEFAULT)[0] == "full"
    assert triage(facts(severity="SEV4", customer_reported=True), DEFAULT)[0] == "full"
    kind, reasons = triage(facts(), DEFAULT)
    assert kind == "lightweight" and "INC-9" in reasons[0] and "0.90" in reasons[0]


def test_a_failure_that_recurred_after_its_fix_gets_a_full_post_mortem() -> None:
    kind, reasons = triage(facts(severity="SEV4", recurred_after_fix=True), DEFAULT)
    assert kind == "full" and "fix did not hold" in reasons[0]
    lenient = TriagePolicy(full_when_recurred_after_fix=False)
    assert triage(facts(severity="SEV4", recurred_after_fix=True), lenient)[0] == "lightweight"


def test_every_reason_that_applies_is_listed() -> None:
    kind, reasons = triage(facts(severity="SEV1", novel=True, customer_reported=True), DEFAULT)
    assert kind == "full" and len(reasons) == 3


def test_a_policy_file_changes_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "triage.toml"
    path.write_text(
        'full_severities = ["SEV1"]\nfull_categories = ["prompt_injection"]\nfull_when_user_facing = true\n'
        "full_when_customer_reported = false\n"
    )
    policy = TriagePolicy.load(path)
    assert triage(facts(severity="SEV2"), policy)[0] == "lightweight"
    assert triage(facts(category="prompt_injection"), policy)[0] == "full"
    assert triage(facts(user_facing=True), policy)[0] == "full"
    assert triage(facts(customer_reported=True), policy)[0] == "lightweight"
    assert policy_path(tmp_path, None) == path
    assert policy_path(tmp_path, str(tmp_path / "other.toml")) == tmp_path / "other.toml"
    assert policy_path(tmp_path / "empty", None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("full_severities = [SEV1", "not valid TOML"),
        ('full_severities = ["SEV9"]', "full_severities.0"),
        ('full_categories = ["typo"]', "full_categories.0"),
        ("full_when_nvel = true", "full_when_nvel"),
    ],
)
def test_a_bad_policy_file_gets_a_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "triage.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match="triage policy") as raised:
        TriagePolicy.load(path)
    assert expected in str(raised.value)


def test_a_missing_policy_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read the triage policy"):
        TriagePolicy.load(tmp_path / "nope.toml")


def test_decide_applies_the_given_policy() -> None:
    capture = IncidentCreate(title="Search tool timed out", error_type="TimeoutError", user_facing=True)
    known = [Neighbour("INC-4", Category.TIMEOUT, 0.93)]
    assert decide(capture, known).triage == "lightweight"
    assert decide(capture, known, policy=TriagePolicy(full_when_user_facing=True)).triage == "full"
    assert decide(capture, known, recurred_after_fix=True).triage == "full"


def test_the_reasons_for_a_novel_failure_never_claim_a_match() -> None:
    close_but_novel = facts(severity="SEV3", novel=True, nearest_similarity=0.66, novelty_threshold=0.72)
    kind, reasons = triage(close_but_novel, DEFAULT)
    assert kind == "full" and reasons == ["novel failure mode (nearest INC-9 at 0.66, below 0.72)"]
    kind, reasons = triage(close_but_novel, TriagePolicy(full_when_novel=False))
    assert kind == "lightweight" and "matching" not in reasons[0] and "novel failure mode" in reasons[0]
    decided = decide(IncidentCreate(title="Planner timed out"), [Neighbour("INC-3", Category.TIMEOUT, 0.66)])
    assert decided.novel and decided.triage_reasons == ["novel failure mode (nearest INC-3 at 0.66, below 0.72)"]


def test_a_similarity_just_short_of_the_threshold_is_not_rounded_up_to_it() -> None:
    """A capture of a postmortem whose nearest incident was at 0.7188 read "nearest INC-1 at 0.72, below 0.72"."""
    decided = decide(IncidentCreate(title="Flags outage"), [Neighbour("INC-1", Category.TIMEOUT, 0.7188)])
    assert decided.triage_reasons[-1] == "novel failure mode (nearest INC-1 at 0.718, below 0.72)"
    assert [short_of(s, 0.72) for s in (0.66, 0.7188, 0.7199999)] == ["0.66", "0.718", "0.719"]


def test_a_policy_file_is_read_strictly_and_names_what_it_does_not_have(tmp_path: Path) -> None:
    """`full_when_novel = "yes"` was read as true, and a misspelt setting said only "Extra inputs are not
    permitted"."""
    path = tmp_path / "triage.toml"
    path.write_text('full_when_novel = "yes"\nfull_when_novl = true\n[severity]\nsev1_money = "1000"\n')
    with pytest.raises(ValueError) as e:
        TriagePolicy.load(path)
    said = str(e.value)
    assert "settings a triage policy does not have" in said and "full_when_novl" in said and "full_when_novel," in said
    assert "full_when_novel: Input should be a valid boolean" in said and "severity.sev1_money" in said
    assert "Extra inputs" not in said
    path.write_text("full_when_novel = false\n[severity]\nsev1_money = 5000\nsev2_money = 100.5\n")
    assert TriagePolicy.load(path).severity.sev1_money == 5000  # an integer for a float stays fine
