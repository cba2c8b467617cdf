"""The filters of search and list, typed once: built at the edge (an MCP tool's arguments, a command's options) and
passed down unchanged to the record store and the indexes. Their names are the one list every interface uses
(tests/test_fields.py checks that the MCP tools and the CLI offer each of them)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

from agent_postmortem.store.models import Category, Severity, Since, Status, Through

# How a list of incidents can be ordered (ties broken newest first): newest or oldest capture, latest occurrence,
# most occurrences, most severe (SEV1 first).
ListOrder = Literal["newest", "oldest", "last_seen", "occurrences", "severity"]


class SearchFilters(BaseModel):
    """Incidents that match every given value: the columns by equality, `since`/`until` bound the creation time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: Category | None = None
    severity: Severity | None = None
    status: Status | None = None
    agent: str | None = None
    tool: str | None = None
    model: str | None = None
    since: Since | None = None
    until: Through | None = None

    COLUMNS: ClassVar[tuple[str, ...]] = ("category", "severity", "status", "agent", "tool", "model")
    INDEXED: ClassVar[tuple[str, ...]] = ("category", "severity", "status", "agent", "tool")  # chromadb metadata

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        """since after until matches nothing: refused, naming both dates as parsed (never the text that was sent),
        rather than answered with no incidents as if none matched."""
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError(f"since ({self.since.isoformat()}) is after until ({self.until.isoformat()})")
        return self

    def columns(self) -> dict[str, str]:
        """The given column values, as stored (enums as their values)."""
        return {k: getattr(v, "value", v) for k in self.COLUMNS if (v := getattr(self, k)) is not None}

    def indexed(self) -> dict[str, str]:
        """The given values the vector index can filter on by itself."""
        return {k: v for k, v in self.columns().items() if k in self.INDEXED}

    def only_indexed(self) -> bool:
        """Whether the vector index alone can apply every given filter."""
        return len(self.indexed()) == len(self.columns()) and self.since is None and self.until is None

    def times(self) -> tuple[datetime | None, datetime | None]:
        return self.since, self.until

    def __bool__(self) -> bool:
        return bool(self.columns()) or self.since is not None or self.until is not None

    @classmethod
    def of(cls, **values: Any) -> "SearchFilters":
        """From an interface's arguments, where a blank text means "not given"."""
        return cls.model_validate({k: v for k, v in values.items() if v not in (None, "")})

    @classmethod
    def pick(cls, arguments: Mapping[str, Any]) -> "SearchFilters":
        """The filters among all of a command's or a tool's arguments (its `locals()`), by this class's field list."""
        return cls.of(**{k: v for k, v in arguments.items() if k in cls.model_fields})
