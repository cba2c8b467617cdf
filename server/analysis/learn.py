"""Learn from completed post-mortems: a runbook entry per category or pattern (`runbook.py`), and a regression eval
case per incident (`regression.py`). Both are built from stored records alone (no LLM), so they are reproducible and
cite only what happened; the service and the renderers import them from here.
"""

from agent_postmortem.analysis.regression import (
    CONFIDENCE,
    EXPECTED,
    PROBABILISTIC_TARGET,
    Check,
    CheckKind,
    RegressionCase,
    regression_case,
)
from agent_postmortem.analysis.runbook import (
    CATEGORY_CHECKS,
    RUNBOOK_INCIDENTS,
    IncidentLink,
    RunbookEntry,
    runbook_entry,
)

__all__ = [
    "CATEGORY_CHECKS",
    "CONFIDENCE",
    "EXPECTED",
    "PROBABILISTIC_TARGET",
    "RUNBOOK_INCIDENTS",
    "Check",
    "CheckKind",
    "IncidentLink",
    "RegressionCase",
    "RunbookEntry",
    "regression_case",
    "runbook_entry",
]
