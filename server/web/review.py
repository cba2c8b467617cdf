"""Accepting or rejecting a drafted analysis from the web view, and the analysis' optional alternative hypotheses.

`review` is the one adapter between the page and the service: it calls the service's `review_analysis` when the
service has one (draft / accepted / rejected, with who and when); until then it can accept a draft by storing it
again as accepted (the store keeps every version) with a timeline note saying who and when, and rejecting is not
offered (`can_reject` is False and the page says so)."""

from typing import TYPE_CHECKING, Any

from store.models import TimelineEventCreate

if TYPE_CHECKING:
    from server.service import PostmortemService

REJECT_UNAVAILABLE = "Rejecting a draft needs a server that keeps review states; this one can only accept."


class ReviewError(ValueError):
    pass


def can_reject(service: "PostmortemService") -> bool:
    return callable(getattr(service, "review_analysis", None))


def review(service: "PostmortemService", incident_id: str, *, accept: bool, by: str | None, note: str | None) -> None:
    """Accept or reject the incident's current analysis (only a draft can be reviewed)."""
    method = getattr(service, "review_analysis", None)
    if callable(method):
        method(incident_id, accept=accept, by=by, note=note)
        return
    incident = service.get_incident(incident_id)
    if incident.analysis is None or incident.analysis.state != "draft":
        raise ReviewError("only a draft analysis can be reviewed")
    if not accept:
        raise ReviewError(REJECT_UNAVAILABLE)
    service.store.save_analysis(incident_id, incident.analysis.model_copy(update={"state": "accepted"}))
    said = f"Analysis accepted{f' by {by}' if by else ''} in the web view" + (f": {note}" if note else ".")
    service.add_timeline_event(incident_id, TimelineEventCreate(kind="note", description=said[:2000]))


def alternatives(analysis: Any) -> list[dict[str, Any]]:
    """The analysis' alternative hypotheses (candidate root causes with evidence for and against), when it has
    them, as plain dicts for the template; any shape of item is shown field by field."""
    found = getattr(analysis, "alternative_hypotheses", None) or getattr(analysis, "alternatives", None) or []
    shown = []
    for item in found:
        data = item.model_dump() if hasattr(item, "model_dump") else item
        shown.append(data if isinstance(data, dict) else {"hypothesis": data})
    return shown
