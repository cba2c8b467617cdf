"""The triage policy: which captures get a full post-mortem and which a lightweight review of a known pattern.

The default is the brief's rule: a full post-mortem for SEV1/SEV2, novel failure modes and anything
customer-reported, and (because a fix that did not hold is news) for failures that recurred after every action
item on their pattern was completed; a lightweight review for everything else. Teams change it with a TOML file
(`POSTMORTEM_TRIAGE_POLICY`, or `triage.toml` in `POSTMORTEM_HOME`):

    full_severities = ["SEV1", "SEV2", "SEV3"]
    full_categories = ["prompt_injection", "data_corruption"]
    full_when_user_facing = true

    [severity]                  # thresholds of severity from scale (server/severity_policy.py)
    sev1_outage_minutes = 30
"""

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_postmortem.analysis.severity_policy import SeverityPolicy
from agent_postmortem.analysis.wording import short_of
from agent_postmortem.errors import validation_problems
from agent_postmortem.store.models import CategoryName, Severity, Triage

POLICY_FILE = "triage.toml"


class TriagePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    full_severities: Annotated[list[Severity], Field(max_length=4)] = ["SEV1", "SEV2"]
    full_categories: Annotated[list[CategoryName], Field(max_length=9)] = []
    full_when_novel: bool = True
    full_when_customer_reported: bool = True
    full_when_user_facing: bool = False
    full_when_recurred_after_fix: bool = True
    severity: SeverityPolicy = SeverityPolicy()

    @classmethod
    def load(cls, path: Path) -> "TriagePolicy":
        """Read a policy file; a clear ValueError (never a traceback) when it is not valid TOML or not a policy."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ValueError(f"cannot read the triage policy {path}: {e.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"the triage policy {path} is not valid TOML: {e}") from None
        try:  # strict: `full_when_novel = "yes"` was read as true, `sev1_money = "lots"` refused only by luck
            return cls.model_validate(data, strict=True)
        except ValidationError as e:
            unknown = f"settings a triage policy does not have (it has {', '.join(cls.model_fields)})"
            said = validation_problems(e, limit=5, unknown_keys=unknown)
            raise ValueError(f"the triage policy {path} is invalid: {said}") from None


RECURRED = "recurred after every action item on its pattern was completed: the fix did not hold"


class TriageFacts(BaseModel):
    """What the policy looks at, for one capture."""

    severity: Severity
    category: CategoryName
    novel: bool
    customer_reported: bool
    user_facing: bool
    recurred_after_fix: bool
    nearest_id: str | None = None
    nearest_similarity: float | None = None
    novelty_threshold: float | None = Field(default=None, description="the cosine at which a failure is known")


def _nearest(facts: TriageFacts) -> str:
    """The nearest past incident and how close, for a reason: "nearest INC-3 at 0.66, below 0.72"."""
    if facts.nearest_id is None:
        return "nothing in the knowledge base to compare with"
    similarity, threshold = facts.nearest_similarity or 0, facts.novelty_threshold
    if facts.novel and threshold:
        return f"nearest {facts.nearest_id} at {short_of(similarity, threshold)}, below {threshold:.2f}"
    return f"nearest {facts.nearest_id} at {similarity:.2f}"


def triage(facts: TriageFacts, policy: TriagePolicy) -> tuple[Triage, list[str]]:
    """Full or lightweight, with every reason that applied."""
    reasons = []
    if facts.severity in policy.full_severities:
        reasons.append(f"{facts.severity} needs a full post-mortem")
    if facts.category in policy.full_categories:
        reasons.append(f"{facts.category} always gets a full post-mortem (team policy)")
    if policy.full_when_novel and facts.novel:
        reasons.append(f"novel failure mode ({_nearest(facts)})")
    if policy.full_when_customer_reported and facts.customer_reported:
        reasons.append("customer-reported")
    if policy.full_when_user_facing and facts.user_facing:
        reasons.append("users saw the failure (team policy)")
    if policy.full_when_recurred_after_fix and facts.recurred_after_fix:
        reasons.append(RECURRED)
    if reasons:
        return "full", reasons
    if facts.novel:  # a team policy that does not escalate novel failures
        return "lightweight", [
            f"{facts.severity} novel failure mode ({_nearest(facts)}): lightweight under the team policy"
        ]
    if facts.nearest_id is None:
        return "lightweight", [
            f"{facts.severity} on a known failure mode: verify the pattern and that its action items progress"
        ]
    return "lightweight", [
        f"{facts.severity} matching known incident {facts.nearest_id} ({facts.nearest_similarity or 0:.2f}): "
        "verify it is the same pattern and that its action items progress"
    ]


def repeat_triage(
    incident: tuple[str, int, Triage, list[str]], *, recurred_after_fix: bool, policy: TriagePolicy
) -> tuple[Triage, list[str]]:
    """The triage a repeat of an open incident answers with, given the incident (id, occurrences, triage, reasons):
    the incident's own, decided at its first capture and said so (that capture's "novel failure mode" is no claim
    about this one), and full when this repeat shows that the completed fix did not hold."""
    incident_id, occurrences, kind, reasons = incident
    said = [f"occurrence {occurrences} of {incident_id}, an open incident with the same failure signature"]
    said += [r if r == RECURRED else f"at its first capture: {r}" for r in reasons]  # a recurrence stored since
    if recurred_after_fix and policy.full_when_recurred_after_fix and RECURRED not in reasons:
        return "full", [*said, RECURRED]
    return kind, said


def policy_path(home: Path, configured: str | None) -> Path | None:
    if configured:
        return Path(configured).expanduser()
    default = home / POLICY_FILE
    return default if default.is_file() else None
