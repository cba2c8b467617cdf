"""`postmortem resolve` and `postmortem reopen`: an incident's status from the terminal, as the MCP tools
`resolve_incident` and `reopen_incident` set it. Registered by server/cli/app.py from COMMANDS."""

from typing import Annotated, Any

import typer

from agent_postmortem.cli.access import stored_service
from agent_postmortem.cli.common import JsonOpt, emit, out, user_errors
from agent_postmortem.cli.output import line
from agent_postmortem.store.vocabulary import EVENT_LIMIT, REOPEN_NOTE_LIMIT, REOPENED


def _bounded(limit: int, why: str) -> Any:
    def bounded(note: str | None) -> str | None:
        if note is not None and len(note) > limit:  # the service would name the event's `description`, not --note
            raise typer.BadParameter(f"at most {limit} characters{why} (this one has {len(note)})")
        return note

    return bounded


Note = Annotated[
    str | None,
    typer.Option(
        help=f"why, or what was done: kept on the incident's timeline (at most {EVENT_LIMIT} characters)",
        callback=_bounded(EVENT_LIMIT, ""),
    ),
]
ReopenNote = Annotated[
    str | None,
    typer.Option(
        help=f"why it is open again: kept on the timeline after {REOPENED.strip()!r} (at most {REOPEN_NOTE_LIMIT} "
        "characters)",
        callback=_bounded(REOPEN_NOTE_LIMIT, f", kept after {REOPENED.strip()!r} in one timeline event"),
    ),
]


def resolve(
    incident_id: str,
    mitigated: Annotated[
        bool, typer.Option("--mitigated", help="the impact is stopped but the cause is not fixed yet")
    ] = False,
    note: Note = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark an incident resolved (or --mitigated), with a timeline event. Marking it as it already is adds only the
    note."""
    _set(incident_id, "mitigated" if mitigated else "resolved", note, as_json)


def reopen(incident_id: str, note: ReopenNote = None, as_json: JsonOpt = False) -> None:
    """Set a mitigated or resolved incident back to open: resolved by mistake, or the fix did not hold."""
    _set(incident_id, "open", note, as_json)


def _set(incident_id: str, status: str, note: str | None, as_json: bool) -> None:
    """Set the status and say it; one it had already is said so (`reopen` of an open incident answered "open" as if
    it had reopened it)."""
    with user_errors():
        svc = stored_service()
        before = svc.get_incident(incident_id).status
        incident = svc.resolve_incident(incident_id, status=status, note=note or None)
    if not emit(incident, as_json):
        done = "only the note was added" if note else "nothing changed"
        already = f" (it was {status} already: {done})" if before == status else ""
        out.print(line((incident.id, "bold"), "  ", incident.status, already))


COMMANDS: list[tuple[str, Any]] = [("resolve", resolve), ("reopen", reopen)]
