"""What the MCP tool modules share: argument types, and the one place domain errors become tool errors."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Literal

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field, TypeAdapter, ValidationError

from server.errors import (
    ActionItemNotFound,
    CorruptRecord,
    IncidentNotFound,
    InvalidId,
    PostmortemError,
    is_storage_failure,
    storage_failure,
)
from store.models import When

logger = logging.getLogger(__name__)
READ = ToolAnnotations(read_only_hint=True)
IncidentId = Annotated[str, Field(max_length=24, description="an incident id such as INC-42")]
ActionId = Annotated[str, Field(max_length=24, description="an action item id such as AI-7")]
Limit = Annotated[int, Field(ge=1, le=50)]
Offset = Annotated[int, Field(ge=0, le=100_000)]
Sev = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
Prio = Literal["P0", "P1", "P2"]
ActStatus = Literal["open", "in_progress", "completed"]


_WHEN: TypeAdapter[datetime] = TypeAdapter(When)


def when(value: str | None, name: str) -> datetime | None:
    try:
        return None if value is None else _WHEN.validate_python(value)
    except ValidationError:
        raise ToolError(f"{name} must be an ISO 8601 date or time, e.g. 2026-11-27 or 2026-11-27T10:00:00Z.") from None


def _problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}"
        for e in error.errors(include_input=False, include_url=False)[:10]
    )


@contextmanager
def tool_errors() -> Iterator[None]:
    """Turn domain errors into messages a calling model can act on; never echo rejected values."""
    try:
        yield
    except IncidentNotFound as e:
        raise ToolError(
            f"No incident {e.incident_id!r}. Call list_incidents or search_incidents for valid ids."
        ) from None
    except ActionItemNotFound as e:
        raise ToolError(f"No action item {e.action_id!r}. Call list_action_items for valid ids.") from None
    except InvalidId as e:
        raise ToolError(f"That is not a valid {e.kind} id; ids look like {e.prefix}42.") from None
    except CorruptRecord as e:
        raise ToolError(f"{e}.") from None
    except ValidationError as e:
        raise ToolError(f"Invalid input: {_problems(e)}. Fix those fields and call again.") from None
    except PostmortemError as e:
        raise ToolError(str(e)) from None
    except Exception as e:
        if not is_storage_failure(e):
            raise
        logger.warning("storage failure: %s", str(getattr(e, "orig", e)).splitlines()[0][:200])
        raise ToolError(storage_failure(e)) from None
