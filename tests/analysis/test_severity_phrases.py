"""Impact in words, read the way a status page or a public post-mortem writes it: a verb is not the system of the
same name, a denial of impact is not an impact, downtime is an outage, and "83+ databases" is a count."""

import pytest

from agent_postmortem.analysis.severity_policy import SeverityPolicy, assess
from agent_postmortem.analysis.severity_scale import extract
from agent_postmortem.store.models import IncidentCreate


def dimensions(text: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for f in extract({"impact": text}):
        out.setdefault(f.dimension, []).append(f.value)
    return out


def level(description: str, impact: str = "") -> tuple[str, list[str]]:
    capture = IncidentCreate(title="agent failure", description=description, impact=impact or None)
    return assess(capture, SeverityPolicy())


@pytest.mark.parametrize(
    "text",
    [
        "A fix has been implemented and we are monitoring the results.",
        "We are continuing to monitor and are monitoring recovery closely.",
        "Monitoring - Error rates are returning to normal.",
        "The team is actively monitoring for further errors.",
    ],
)
def test_monitoring_as_what_people_do_is_not_internal_tooling(text: str) -> None:
    assert "internal_only" not in dimensions(text)


@pytest.mark.parametrize("text", ["the monitoring stack lost its metrics", "our monitoring was down for an hour"])
def test_monitoring_the_system_still_is(text: str) -> None:
    assert "internal_only" in dimensions(text)


def test_a_status_page_partial_outage_is_not_capped_as_internal_tooling() -> None:
    sev, reasons = level(
        "We are seeing elevated error rates. A fix has been implemented and we are monitoring the results.",
        "From 17:34 to 18:52 UTC, about 5% of API requests returned errors.",
    )
    assert sev == "SEV3", reasons
    assert not any("internal tooling" in r for r in reasons)


@pytest.mark.parametrize(
    "text",
    [
        "No customer resources were impacted.",
        "no users were affected",
        "No customers have been impacted by this issue.",
        "The bug did not impact any customers.",
        "This didn't affect users.",
    ],
)
def test_a_denial_of_impact_in_the_passive_is_no_impact(text: str) -> None:
    assert "no_impact" in dimensions(text)
    assert level("An injected prompt shipped in an extension release.", text)[0] == "SEV4"


@pytest.mark.parametrize("text", ["some customers were impacted", "users were affected for an hour"])
def test_an_impact_stated_in_the_passive_is_not_denied(text: str) -> None:
    assert "no_impact" not in dimensions(text)


@pytest.mark.parametrize(
    "text",
    ["all services experienced significant downtime", "downtime for every customer", "the API had downtime"],
)
def test_downtime_is_an_outage(text: str) -> None:
    assert "outage" in dimensions(text)


@pytest.mark.parametrize(
    "text", ["the migration ran with no downtime", "a zero-downtime deploy", "done without downtime"]
)
def test_no_downtime_is_not_an_outage(text: str) -> None:
    found = dimensions(text)
    assert "outage" not in found and "full_outage" not in found


def test_downtime_of_everything_across_a_stated_window_is_a_long_full_outage() -> None:
    sev, reasons = level("", "All services experienced significant downtime from 3:16 PM to 7:38 PM PST.")
    assert sev == "SEV1", reasons
    assert "262 min" in reasons[0]


@pytest.mark.parametrize(
    ("text", "dimension", "value"),
    [
        ("83+ databases across 9 projects lost their project", "records", 83.0),
        ("1,000+ users could not log in", "people", 1000.0),
        ("records for 1,196+ companies", "people", 1196.0),
        ("10k+ customers saw errors", "people", 10000.0),
    ],
)
def test_a_count_with_a_plus_is_still_a_count(text: str, dimension: str, value: float) -> None:
    assert value in dimensions(text).get(dimension, [])


@pytest.mark.parametrize(
    "text",
    [
        "The code was malformed and would not execute; no customer resources were impacted.",
        "A retry could help. All data was lost.",
        "Rollback would not work: the production database was deleted.",
    ],
)
def test_a_hypothetical_ends_with_its_clause(text: str) -> None:
    found = dimensions(text)
    assert found.keys() & {"no_impact", "people", "data_loss"}, found


def test_a_hypothetical_in_the_same_clause_still_is_one() -> None:
    assert "data_loss" not in dimensions("the command could have deleted the production database")


@pytest.mark.parametrize(
    "text",
    ["the production database was deleted", "both tables were dropped", "the repository had been force wiped"],
)
def test_a_store_deleted_in_the_passive_is_data_lost(text: str) -> None:
    assert "data_loss" in dimensions(text)


@pytest.mark.parametrize(
    "text",
    [
        "no PII was leaked",
        "We have no evidence that any data was exfiltrated.",
        "No customer data was exposed and nothing was stolen.",
        "There was no data loss.",
        "No data was lost, but 3,000 users could not log in for 2 hours",
        "Nobody was hurt and no one was hospitalized.",
    ],
)
def test_an_impact_denied_in_its_clause_is_no_impact(text: str) -> None:
    found = dimensions(text)
    assert not found.keys() & {"data_exposed", "data_loss", "attack", "harm"}, found


@pytest.mark.parametrize(
    "text", ["Customer PII was leaked.", "No backups existed, so the data was lost.", "Data was exfiltrated by nobody."]
)
def test_an_impact_next_to_a_negation_elsewhere_still_is_one(text: str) -> None:
    assert dimensions(text).keys() & {"data_exposed", "data_loss"}


def test_a_denied_loss_is_not_reported_as_data_lost_then_recovered() -> None:
    sev, reasons = level("", "No data was lost, but 3,000 users could not log in for 2 hours")
    assert sev == "SEV2" and not any("data lost" in r for r in reasons), reasons


@pytest.mark.parametrize(
    "text",
    [
        "The plate reader matched the family's plate to that of a stolen vehicle; they were held at gunpoint.",
        "It matched a motorcycle in Montana that was reportedly stolen earlier in the year.",
        "A rental car reported in California as stolen triggered the alert.",
        "The camera wrongly flagged a driver for petrol theft.",
    ],
)
def test_a_theft_in_the_world_the_system_read_is_no_attack_on_it(text: str) -> None:
    # licence-plate readers in AIID: each read as "an attack succeeded", SEV1
    assert "attack" not in dimensions(text)


@pytest.mark.parametrize(
    "text",
    [
        "An attacker stole the API keys kept in the car dealer's agent.",
        "55.5 ETH was stolen from the trading agent's wallet.",
        "The stolen data was posted on a forum.",
        "Customers reported identity theft after the leak.",
    ],
)
def test_funds_data_or_credentials_stolen_still_are_an_attack(text: str) -> None:
    assert "attack" in dimensions(text)
