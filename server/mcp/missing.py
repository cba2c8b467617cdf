"""What an incident resource or prompt says when its id names no incident: for a pattern id (PAT-3), the tools'
sentence pointing at its runbook resource; otherwise where to find the incidents."""

from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from agent_postmortem.errors import IncidentNotFound, InvalidId, PostmortemError
from agent_postmortem.mcp.common import invalid_id  # the tools' own sentence for a wrong id


def no_incident(e: IncidentNotFound | InvalidId | PostmortemError) -> str:
    """`report://PAT-3` said "list incidents with the list_incidents tool" where the tools say runbook://PAT-3; an
    incident that is there but cannot give what was asked (`evalcase://` of one not analysed yet) says what to do,
    without the hint that read as if it were not there."""
    if isinstance(e, InvalidId) and e.pattern:
        return invalid_id(e)
    if not isinstance(e, IncidentNotFound | InvalidId):
        return str(e)
    return f"{e}; list incidents with the list_incidents tool"


@contextmanager
def incident_found(*, prompt: bool = False) -> Iterator[None]:
    """An id naming no incident, told in `no_incident`'s sentence: a resource's not-found, or for a prompt the
    protocol error the client can act on (not a crash to log)."""
    try:
        yield
    except (IncidentNotFound, InvalidId) as e:
        if prompt:
            raise MCPError(INVALID_PARAMS, no_incident(e)) from None
        raise ResourceNotFoundError(no_incident(e)) from None
