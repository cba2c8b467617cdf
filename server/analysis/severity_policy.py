"""Severity from scale: map the findings of `severity_scale` to SEV1-SEV4 by a documented, overridable policy.

The defaults follow the labelling guide of the failure corpus (evals/data/failures/GUIDE.md, section 5). A team
overrides any threshold in the `[severity]` table of its triage policy file:

    [severity]
    sev1_outage_minutes = 30      # a full outage this long is SEV1 (default 60)
    sev1_records = 10000          # records lost at this scale are SEV1 (default 1000)
    non_production = "SEV3"       # the highest level for staging, sandbox and test runs (default SEV4)

Each rule that applied adds a reason naming the number and the words it was read from; the most severe level
wins, then the caps (non-production, "no user impact") and the floors (user-facing, customer-reported) apply.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_postmortem.analysis.severity_findings import ALL, Dimension, Finding
from agent_postmortem.store.models import IncidentCreate, Severity

LEVELS: list[Severity] = ["SEV1", "SEV2", "SEV3", "SEV4"]


class SeverityPolicy(BaseModel):
    """Thresholds per dimension; every key can be set in the `[severity]` table of the triage policy file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sev1_outage_minutes: float = Field(
        default=60, ge=0, description="a full outage at least this long is SEV1, else SEV2"
    )
    sev2_duration_minutes: float = Field(
        default=60, ge=0, description="a partial outage at least this long is SEV2, else SEV3"
    )
    sev1_failing_share: float = Field(
        default=50, ge=0, le=100, description="% of requests failing that makes an outage full"
    )
    sev3_failing_share: float = Field(default=10, ge=0, le=100, description="below this % failing, an outage is SEV3")
    sev1_records: float = Field(default=1000, ge=0, description="records permanently lost at least this many: SEV1")
    sev1_people: float = Field(default=100, ge=0, description="people whose data was exposed at least this many: SEV1")
    sev2_people: float = Field(default=100, ge=0, description="people affected at least this many: SEV2")
    sev1_money: float = Field(default=100_000, ge=0, description="money lost at least this much: SEV1")
    sev2_money: float = Field(default=1000, ge=0, description="money lost at least this much: SEV2")
    sev3_money: float = Field(default=10, ge=0, description="money lost at least this much: SEV3, below it SEV4")
    non_production: Severity = Field(default="SEV4", description="the highest level for staging, sandbox and test runs")
    no_impact: Severity = Field(
        default="SEV4", description="the highest level when the text says nothing reached users"
    )
    user_facing: Severity = Field(default="SEV3", description="the lowest level when users saw the failure")
    customer_reported: Severity = Field(default="SEV3", description="the lowest level when a customer reported it")
    unknown_scale: Severity = Field(default="SEV3", description="the level when the text states no scale at all")

    @model_validator(mode="after")
    def _ordered(self) -> "SeverityPolicy":
        """A lower level's threshold above a higher one's was taken as given: with sev1_money = 10 and sev2_money =
        1000, 500 lost was SEV1 and 5,000 SEV1 too, the SEV2 line never reached."""
        for high, low in (("sev1_money", "sev2_money"), ("sev2_money", "sev3_money")):
            if getattr(self, high) < getattr(self, low):
                raise ValueError(f"{high} ({getattr(self, high):g}) must be at least {low} ({getattr(self, low):g})")
        if self.sev1_failing_share < self.sev3_failing_share:
            raise ValueError(
                f"sev1_failing_share ({self.sev1_failing_share:g}) must be at least sev3_failing_share "
                f"({self.sev3_failing_share:g})"
            )
        return self


@dataclass
class _Scale:
    """The findings of one capture, grouped by dimension."""

    by: dict[Dimension, list[Finding]] = field(default_factory=dict)

    def top(self, dimension: Dimension) -> Finding | None:
        found = self.by.get(dimension, [])
        return max(found, key=lambda f: f.value) if found else None

    def has(self, dimension: Dimension) -> bool:
        return bool(self.by.get(dimension))


Verdict = tuple[Severity, str]


def _quoted(f: Finding) -> str:
    return f"{f.field}: '{f.quote}'"


def _outage(s: _Scale, p: SeverityPolicy) -> Verdict | None:
    outage = s.top("outage") or s.top("full_outage")
    if outage is None:
        return None
    minutes, share, people = s.top("outage_minutes"), s.top("failing_share"), s.top("people")
    full = s.has("full_outage") or (share is not None and share.value >= p.sev1_failing_share)
    full = full or (people is not None and people.value >= ALL)
    length = f"{minutes.value:.0f} min ({_quoted(minutes)})" if minutes else "no duration stated"
    if full:
        long = minutes is not None and minutes.value >= p.sev1_outage_minutes
        what = _quoted(s.top("full_outage") or share or people or outage)  # type: ignore[arg-type]
        limit = f"sev1_outage_minutes = {p.sev1_outage_minutes:g}"
        return ("SEV1" if long else "SEV2"), f"full outage ({what}), {length}; {limit}"
    if share is not None and share.value < p.sev3_failing_share:
        return (
            "SEV3",
            f"{share.value:g}% failing ({_quoted(share)}), below sev3_failing_share = {p.sev3_failing_share:g}",
        )
    if people is not None and people.value <= 1 and not s.has("full_outage"):
        return "SEV3", f"outage for some users only ({_quoted(people)})"
    long = minutes is not None and minutes.value >= p.sev2_duration_minutes
    limit = f"sev2_duration_minutes = {p.sev2_duration_minutes:g}"
    return ("SEV2" if long else "SEV3"), f"partial outage ({_quoted(outage)}), {length}; {limit}"


def _data_loss(s: _Scale, p: SeverityPolicy) -> Verdict | None:
    loss = s.top("data_loss")
    if loss is None:
        return None
    records = s.top("records")
    at_scale = (records is not None and records.value >= p.sev1_records) or s.has("production")
    scale = f"{records.value:,.0f} records ({_quoted(records)})" if records else "no count stated"
    if s.has("data_recovered"):
        level: Severity = "SEV2" if at_scale else "SEV3"
        return level, f"data lost then recovered ({_quoted(s.top('data_recovered'))}), {scale}"  # type: ignore[arg-type]
    if at_scale:
        return "SEV1", f"data lost at scale ({_quoted(loss)}), {scale}; sev1_records = {p.sev1_records:g}"
    return "SEV3", f"data lost ({_quoted(loss)}), {scale}, below sev1_records = {p.sev1_records:g}"


def _exposure(s: _Scale, p: SeverityPolicy) -> Verdict | None:
    exposed, people = s.top("data_exposed"), s.top("people")
    if exposed is None:
        return None
    if s.has("attack"):
        return "SEV1", f"data taken in an attack ({_quoted(exposed)})"
    if people is not None and people.value >= p.sev1_people:
        return "SEV1", f"data of {_count(people)} people exposed ({_quoted(people)}); sev1_people = {p.sev1_people:g}"
    if s.has("vulnerability"):
        return "SEV3", f"an exposure shown, not exploited ({_quoted(s.top('vulnerability'))})"  # type: ignore[arg-type]
    return "SEV2", f"data exposed ({_quoted(exposed)})"


def _count(f: Finding) -> str:
    return "all" if f.value >= ALL else f"{f.value:,.0f}"


def _money(s: _Scale, p: SeverityPolicy) -> Verdict | None:
    money = s.top("money")
    if money is None:
        return None
    amount = f"{money.value:,.0f} lost or at stake ({_quoted(money)})"
    for level, limit, key in (
        ("SEV1", p.sev1_money, "sev1"),
        ("SEV2", p.sev2_money, "sev2"),
        ("SEV3", p.sev3_money, "sev3"),
    ):
        if money.value >= limit:
            return level, f"{amount}; {key}_money = {limit:g}"  # type: ignore[return-value]
    return "SEV4", f"{amount}, below sev3_money = {p.sev3_money:g}"


def _people(s: _Scale, p: SeverityPolicy) -> Verdict | None:
    people = s.top("people")
    if people is None:
        return None
    affected = f"{_count(people)} {'person' if _count(people) == '1' else 'people'} affected ({_quoted(people)})"
    if people.value >= p.sev2_people:
        return "SEV2", f"{affected}; sev2_people = {p.sev2_people:g}"
    return "SEV3", f"{affected}, below sev2_people = {p.sev2_people:g}"


def _flags(s: _Scale, _: SeverityPolicy) -> Verdict | None:
    for dimension, level, what in (
        ("harm", "SEV1", "harm to people"),
        ("attack", "SEV1", "an attack succeeded"),
        ("legal", "SEV2", "legal or regulatory consequences"),
        ("pulled", "SEV2", "a feature or service pulled or halted"),
        ("public", "SEV2", "harm that reached many people"),
        ("vulnerability", "SEV3", "a vulnerability shown, no exploitation stated"),
    ):
        found = s.top(dimension)  # type: ignore[arg-type]
        if found is not None:
            return level, f"{what} ({_quoted(found)})"  # type: ignore[return-value]
    return None


RULES: list[Callable[[_Scale, SeverityPolicy], Verdict | None]] = [
    _flags,
    _exposure,
    _data_loss,
    _outage,
    _money,
    _people,
]


def _worse(a: Severity, b: Severity) -> Severity:
    return a if LEVELS.index(a) <= LEVELS.index(b) else b


def _scale(capture: IncidentCreate) -> _Scale:
    from agent_postmortem.analysis.severity_scale import (
        extract,  # its patterns compile at import: see severity_findings
    )

    fields = {
        "title": capture.title,
        "description": capture.description,
        "impact": capture.impact or "",
        "error_message": capture.error_message or "",
        "environment": capture.environment or "",
    }
    scale = _Scale()
    for finding in extract(fields):
        scale.by.setdefault(finding.dimension, []).append(finding)
    return scale


_HARMS: tuple[Dimension, ...] = ("attack", "harm", "money", "data_exposed", "data_loss", "legal", "pulled", "public")


# People outside the team named as those the failure concerned, with or without a number: "Exam Monitoring Systems
# Provided Allegedly Discriminatory Experiences for BIPOC Students" is not internal tooling because it says monitoring.
_OUTWARD_PEOPLE = re.compile(
    r"\b(?<!internal\s)(?:customers|users|students|patients|passengers|pedestrians|drivers|children|kids|minors|"
    r"applicants|candidates|consumers|citizens|residents|voters|tenants|buyers|shoppers|clients|subscribers|"
    r"viewers|readers|travell?ers|guests|borrowers|job\s+seekers|the\s+public)\b",
    re.IGNORECASE,
)


def _outward_people(capture: IncidentCreate) -> bool:
    return any(_OUTWARD_PEOPLE.search(text or "") for text in (capture.title, capture.description, capture.impact))


def _caps_and_floors(
    level: Severity, s: _Scale, capture: IncidentCreate, p: SeverityPolicy
) -> tuple[Severity, list[str]]:
    reasons = []
    non_prod = s.top("non_production")
    if (
        non_prod is not None
        and not s.has("production")
        and _worse(level, p.non_production) == level != p.non_production
    ):
        level, reasons = p.non_production, [f"not production ({_quoted(non_prod)}): at most {p.non_production}"]
    internal = s.top("internal_only")
    reach = s.has("people") or s.has("user_facing") or s.has("full_outage") or capture.user_facing
    reach = reach or any(s.has(d) for d in _HARMS) or _outward_people(capture)
    if internal is not None and not reach and _worse(level, p.non_production) == level != p.non_production:
        level = p.non_production
        reasons = [*reasons, f"internal tooling only ({_quoted(internal)}): at most {p.non_production}"]
    quiet = s.top("no_impact")
    if quiet is not None and _worse(level, p.no_impact) == level != p.no_impact:
        level, reasons = p.no_impact, [*reasons, f"nothing reached users ({_quoted(quiet)}): at most {p.no_impact}"]
    if capture.user_facing and _worse(level, p.user_facing) != level:
        level, reasons = p.user_facing, [*reasons, f"users saw the failure: at least {p.user_facing}"]
    if capture.customer_reported and _worse(level, p.customer_reported) != level:
        level, reasons = p.customer_reported, [*reasons, f"a customer reported it: at least {p.customer_reported}"]
    return level, reasons


def assess(capture: IncidentCreate, policy: SeverityPolicy) -> tuple[Severity, list[str]]:
    """SEV1-SEV4 from the scale the capture states, with the numbers and words that decided it. An explicit
    severity from the reporter wins; a severity stated in the text (a postmortem's own, a CVSS score) comes next."""
    if capture.severity is not None:
        return capture.severity, ["severity set explicitly by the reporter"]
    scale = _scale(capture)
    stated = scale.top("stated")
    if stated is not None:
        level: Severity = LEVELS[int(min(f.value for f in scale.by["stated"])) - 1]
        return level, [f"severity stated in the report ({_quoted(stated)})"]
    verdicts = [v for rule in RULES if (v := rule(scale, policy)) is not None]
    if verdicts:
        level = verdicts[0][0]
        for found, _ in verdicts[1:]:
            level = _worse(level, found)
        reasons = [f"{found}: {why}" for found, why in verdicts]
    else:
        level, reasons = policy.unknown_scale, [_no_verdict(scale, policy)]
    level, adjusted = _caps_and_floors(level, scale, capture, policy)
    return level, reasons + adjusted


def _no_verdict(s: _Scale, p: SeverityPolicy) -> str:
    """Why no rule set a level. A duration with nothing it measures ("all deployments failed for 3 hours": no outage,
    loss or exposure) was called "no scale stated (people, records, money, duration)", the duration stated."""
    minutes = s.top("outage_minutes")
    if minutes is None:
        return f"no scale stated (people, records, money, duration): {p.unknown_scale}"
    return (
        f"{minutes.value:.0f} min ({_quoted(minutes)}), but no outage, data lost or exposed, money or harm stated "
        f"for it to measure: {p.unknown_scale}"
    )
