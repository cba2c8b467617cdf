"""Domain errors. The MCP and CLI layers turn them into actionable messages in one place each."""

from store.errors import ActionItemNotFound, IncidentNotFound, InvalidId, StoreError

__all__ = [
    "ActionItemNotFound",
    "DraftError",
    "IncidentNotFound",
    "InvalidId",
    "LLMUnavailable",
    "PostmortemError",
    "StoreError",
]


class PostmortemError(Exception):
    """Base class for errors a user or a calling model can act on."""


class LLMUnavailable(PostmortemError):
    """No LLM backend is configured or reachable."""


class DraftError(PostmortemError):
    """The LLM answered, but not with a valid analysis (after the repair round)."""
