"""Numbers read the way a public report writes them: a clock time, a version or a year before "users" is no count,
"over 2 million users affected" is who was affected, a currency code before the amount is money, "1h 30m" is 90
minutes, an availability is the share that succeeded, and a process killed is no harm to people."""

import pytest

from agent_postmortem.analysis.severity_policy import SeverityPolicy, assess
from agent_postmortem.analysis.severity_scale import ALL, extract
from agent_postmortem.store.models import IncidentCreate


def values(text: str, dimension: str) -> list[float]:
    return [f.value for f in extract({"impact": text}) if f.dimension == dimension]


def level(impact: str) -> tuple[str, list[str]]:
    return assess(IncidentCreate(title="agent failure", impact=impact), SeverityPolicy())


@pytest.mark.parametrize(
    "text",
    [
        "Between 23:50 and 00:20 UTC all users saw errors",
        "from 11:40 PM to 1:10 AM all users could not log in",
        "GPT-4 users saw errors",
        "v2.3 users could not upgrade",
        "in 2023 users were affected",
        "since 2019 customers have reported it",
    ],
)
def test_a_time_a_version_or_a_year_is_no_count(text: str) -> None:
    assert all(v >= ALL for v in values(text, "people")), values(text, "people")


@pytest.mark.parametrize(("text", "count"), [("12 users saw errors", 12.0), ("2023 users were affected", 2023.0)])
def test_a_plain_count_still_is_one(text: str, count: float) -> None:
    assert values(text, "people") == [count]


def test_over_a_number_of_people_affected_is_who_was_affected() -> None:
    assert values("over 2 million users affected", "people") == [2e6]
    assert values("a platform used by over 2 million users", "people") == []


@pytest.mark.parametrize(("text", "amount"), [("we lost USD 2,500 in credits", 2500.0), ("EUR 40k in refunds", 4e4)])
def test_a_currency_code_before_the_amount_is_money(text: str, amount: float) -> None:
    assert values(text, "money") == [amount]


def test_hours_and_minutes_in_short_form_add_up() -> None:
    assert values("the job ran for 1h 30m before it stopped", "outage_minutes") == [90.0]


@pytest.mark.parametrize(("text", "failing"), [("availability dropped to 97.5%", 2.5), ("uptime was 99.9%", 0.1)])
def test_an_availability_is_the_share_that_succeeded(text: str, failing: float) -> None:
    assert values(text + " during the outage", "failing_share") == pytest.approx([failing])


@pytest.mark.parametrize(
    "text",
    [
        "the job ran for an hour before it was killed",
        "the agent process was killed by the OOM killer",
        "the pod got OOM killed twice",
        "we killed the stuck worker",
    ],
)
def test_a_process_killed_is_no_harm_to_people(text: str) -> None:
    assert values(text, "harm") == []
    assert level(text)[0] != "SEV1"


def test_people_killed_still_is_harm() -> None:
    assert values("two pedestrians were killed", "harm") and values("the crash killed a driver", "harm")


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("down from 9am to 5pm", 480.0), ("down from 9 am to 5:30 pm", 510.0), ("outage 11pm-1am", 120.0)],
)
def test_a_window_of_hours_without_minutes_is_a_duration(text: str, minutes: float) -> None:
    assert values(text, "outage_minutes") == [minutes]


def test_a_full_outage_over_a_working_day_is_long() -> None:
    sev, reasons = level("the service was down from 9am to 5pm")
    assert sev == "SEV1" and "480 min" in reasons[0], reasons


@pytest.mark.parametrize(
    "text",
    [
        "degraded service for 2 hours; we breached our 99.9% SLA",
        "elevated error rate for 90 minutes, below our 99.95% availability target",
        "elevated errors for 2 hours broke the 99.9% SLO",
    ],
)
def test_a_target_percentage_is_no_failing_share_and_an_sla_breach_no_data_breach(text: str) -> None:
    assert all(v < 10 for v in values(text, "failing_share")), values(text, "failing_share")
    assert values(text, "data_exposed") == []
    assert level(text)[0] == "SEV2", level(text)


def test_a_data_breach_still_is_an_exposure() -> None:
    assert values("the breach exposed customer emails", "data_exposed")


@pytest.mark.parametrize(("text", "minutes"), [("ChatGPT was down for 3+ hours", 180.0), ("errors for 45+ min", 45.0)])
def test_a_duration_with_a_plus_is_a_duration(text: str, minutes: float) -> None:
    assert values(text, "outage_minutes") == [minutes]


@pytest.mark.parametrize("text", ["lost 10,000 rows in production", "the agent lost ~2.5k customer records"])
def test_a_number_of_records_lost_is_data_lost(text: str) -> None:
    assert values(text, "data_loss")
    assert level(text)[0] == "SEV1", level(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Users were unable to log in between 10:15 and 11:45 AM PT", "SEV2"),
        ("customers couldn't access the dashboard for 3 hours", "SEV2"),
        ("the issue degraded responses for approximately 5% of users for 6 hours", "SEV3"),
        ("at the worst hour 16% of requests were affected, degraded for 3 hours", "SEV2"),
    ],
)
def test_users_unable_to_get_in_and_a_share_affected_are_read(text: str, expected: str) -> None:
    assert level(text)[0] == expected, level(text)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("12 000 users affected", 12_000.0),
        ("12.000 users affected", 12_000.0),
        ("12\u202f000 users affected", 12_000.0),
        ("12\u00a0000 users affected", 12_000.0),
        ("1.234.567 users affected", 1_234_567.0),
        ("1 234 567 users affected", 1_234_567.0),
        ("12,000 users affected", 12_000.0),
        ("1.5 million users affected", 1_500_000.0),
        ("2.500 million users affected", 2_500_000.0),
    ],
)
def test_thousands_separated_by_a_space_or_a_dot_are_one_number(text: str, count: float) -> None:
    assert values(text, "people") == [count]


def test_rows_grouped_by_dots_are_data_lost_at_scale() -> None:
    assert values("the migration deleted 1.234.567 rows", "records") == [1_234_567.0]
    assert level("the migration deleted 1.234.567 rows")[0] == "SEV1"


@pytest.mark.parametrize(
    "text",
    [
        "v1.2.300 users could not upgrade",
        "release 1.2.300 users could not upgrade",
        "12.0005 users",
        "1.234.5678 users",
    ],
)
def test_a_version_or_a_decimal_is_no_thousands(text: str) -> None:
    assert all(v < 1000 for v in values(text, "people")), values(text, "people")


def test_a_share_with_a_decimal_point_is_still_a_share() -> None:
    assert values("2.5% of requests failed", "failing_share") == [2.5]


def test_money_with_cents_after_grouped_thousands_is_kept_whole() -> None:
    assert values("we refunded $1,234.56 in credits", "money") == [1234.56]
    assert values("we refunded €1.234.567 in credits", "money") == [1_234_567.0]
