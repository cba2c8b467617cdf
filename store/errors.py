"""Errors raised by the store; the application layer maps them to user-facing messages."""


class StoreError(Exception):
    """Base class for store errors."""


class IncidentNotFound(StoreError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(f"no incident {incident_id!r}")
        self.incident_id = incident_id


class ActionItemNotFound(StoreError):
    def __init__(self, action_id: str) -> None:
        super().__init__(f"no action item {action_id!r}")
        self.action_id = action_id


class InvalidId(StoreError, ValueError):
    def __init__(self, kind: str, prefix: str) -> None:
        super().__init__(f"that is not a valid {kind} id (expected {prefix}<number>)")
        self.kind = kind
        self.prefix = prefix


class CorruptRecord(StoreError):
    """A stored row that does not validate and cannot be repaired for reading (it is logged, never echoed)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is damaged in the database and cannot be read; restore it from a backup")
        self.what = what


class IndexLoading(StoreError):
    """A search waited too long for another thread to load an in-memory index."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the search index is still loading after {seconds:.0f} s; try again in a minute")
