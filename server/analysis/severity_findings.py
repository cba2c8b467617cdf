"""What the scale of impact reads from a capture (severity_scale.py) and the severity policy weighs
(severity_policy.py): apart from the patterns, so that loading the policy with the settings compiles none of them
(the patterns compile when the first capture is classified)."""

from dataclasses import dataclass
from typing import Literal

PhraseDimension = Literal[  # read from phrases (severity_phrases.py)
    "full_outage",
    "pulled",
    "public",
    "internal_only",
    "outage",
    "data_loss",
    "data_recovered",
    "data_exposed",
    "attack",
    "vulnerability",
    "harm",
    "legal",
    "non_production",
    "production",
    "no_impact",
    "user_facing",
]
Dimension = Literal[PhraseDimension, "people", "records", "money", "outage_minutes", "failing_share", "stated"]
ALL = 1e12  # "all users", "every customer": more than any threshold


@dataclass(frozen=True)
class Finding:
    dimension: Dimension
    value: float
    quote: str
    field: str
