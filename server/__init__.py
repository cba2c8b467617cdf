"""agent-postmortem: turn AI-agent failures into durable learning.

The public API; everything else is internal and may change between versions:

    from agent_postmortem import Recorder                   # capture failures where they happen, in agent code

    from agent_postmortem import IncidentCreate, Settings, build_service
    service = build_service(Settings.from_env())           # the use cases, on POSTMORTEM_HOME
    result = service.capture_incident(IncidentCreate(title="refund tool timed out"))
    service.draft_analysis(result.id)                      # NoModelConfigured (an LLMUnavailable) without a model;
                                                           # build_service(settings, llm=...) takes your own LLM
    service.record_analysis(result.id, AnalysisDraft(...), generated_by="human")   # or write it yourself

    from agent_postmortem import load_cases, run_case      # the regression cases `learn` wrote, run against
    run_case(load_cases("learned/evals")[0], my_agent)     # your agent by their pass rule (docs/loop.md)

Each name is imported on first use, so `import agent_postmortem` loads nothing heavy (the MCP handshake and
`postmortem --help` rely on that). The folders of the repository and what each owns: docs/architecture.md.
"""

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "Recorder": "agent_postmortem.sdk.recorder",
    "CaptureNotStored": "agent_postmortem.sdk.not_stored",
    "AgentReply": "agent_postmortem.sdk.regress",
    "load_cases": "agent_postmortem.sdk.regress",
    "run_case": "agent_postmortem.sdk.regress",
    "build_service": "agent_postmortem.service.runtime",
    "PostmortemService": "agent_postmortem.service.facade",
    "Settings": "agent_postmortem.config",
    "PostmortemError": "agent_postmortem.errors",
    "LLMUnavailable": "agent_postmortem.errors",
    "LLMFailed": "agent_postmortem.errors",
    "NoModelConfigured": "agent_postmortem.errors",
    "DraftError": "agent_postmortem.errors",
    "LLM": "agent_postmortem.llm.base",
    "IncidentCreate": "agent_postmortem.store.models",
    "Incident": "agent_postmortem.store.models",
    "TimelineEventCreate": "agent_postmortem.store.models",
    "ActionItemCreate": "agent_postmortem.store.models",
    "ActionItem": "agent_postmortem.store.models",
    "Analysis": "agent_postmortem.store.models",
    "AnalysisDraft": "agent_postmortem.store.models",
    "CaptureResult": "agent_postmortem.service.results",
    "SearchResult": "agent_postmortem.service.results",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # what type checkers and editors see; at run time `__getattr__` imports each on first use
    from agent_postmortem.config import Settings as Settings
    from agent_postmortem.errors import DraftError as DraftError
    from agent_postmortem.errors import LLMFailed as LLMFailed
    from agent_postmortem.errors import LLMUnavailable as LLMUnavailable
    from agent_postmortem.errors import NoModelConfigured as NoModelConfigured
    from agent_postmortem.errors import PostmortemError as PostmortemError
    from agent_postmortem.llm.base import LLM as LLM
    from agent_postmortem.sdk.not_stored import CaptureNotStored as CaptureNotStored
    from agent_postmortem.sdk.recorder import Recorder as Recorder
    from agent_postmortem.sdk.regress import AgentReply as AgentReply
    from agent_postmortem.sdk.regress import load_cases as load_cases
    from agent_postmortem.sdk.regress import run_case as run_case
    from agent_postmortem.service.facade import PostmortemService as PostmortemService
    from agent_postmortem.service.results import CaptureResult as CaptureResult
    from agent_postmortem.service.results import SearchResult as SearchResult
    from agent_postmortem.service.runtime import build_service as build_service
    from agent_postmortem.store.models import ActionItem as ActionItem
    from agent_postmortem.store.models import ActionItemCreate as ActionItemCreate
    from agent_postmortem.store.models import Analysis as Analysis
    from agent_postmortem.store.models import AnalysisDraft as AnalysisDraft
    from agent_postmortem.store.models import Incident as Incident
    from agent_postmortem.store.models import IncidentCreate as IncidentCreate
    from agent_postmortem.store.models import TimelineEventCreate as TimelineEventCreate


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent_postmortem' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value
