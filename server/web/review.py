"""Accepting or rejecting a drafted analysis from the web view.

`review` is the one adapter between the page and the service. When the service has a review method
(`review_analysis`, or `review`: draft / accepted / rejected, with who and when, in the change history), the page
calls it, naming the decision the way its signature asks (`accept=True`, or `decision`/`state`/`verdict` =
"accepted"/"rejected"; `by` or `reviewer`; `note`). Without one, a draft is accepted by storing it again as
accepted (the store keeps every version) with a timeline note saying who and when, and rejecting is not offered
(`can_reject` is False and the page says so)."""

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent_postmortem.store.models import TimelineEventCreate

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService

REJECT_UNAVAILABLE = "Rejecting a draft needs a server that keeps review states; this one can only accept."
METHODS = ("review_analysis", "review")
DECISION = ("decision", "state", "verdict")


class ReviewError(ValueError):
    pass


def review_method(service: "PostmortemService") -> Callable[..., Any] | None:
    """The service's own review method, if it has one."""
    for name in METHODS:
        method = getattr(service, name, None)
        if callable(method) and not isinstance(method, type):
            return method  # type: ignore[no-any-return]
    return None


def can_reject(service: "PostmortemService") -> bool:
    return review_method(service) is not None


def review(service: "PostmortemService", incident_id: str, *, accept: bool, by: str | None, note: str | None) -> None:
    """Accept or reject the incident's current analysis (only a draft can be reviewed)."""
    method = review_method(service)
    if method is not None:
        method(incident_id, **arguments(method, accept=accept, by=by, note=note))
        return
    incident = service.get_incident(incident_id)
    if incident.analysis is None or incident.analysis.state != "draft":
        raise ReviewError("only a draft analysis can be reviewed")
    if not accept:
        raise ReviewError(REJECT_UNAVAILABLE)
    service.store.save_analysis(incident_id, incident.analysis.model_copy(update={"state": "accepted"}))
    said = f"Analysis accepted{f' by {by}' if by else ''} in the web view" + (f": {note}" if note else ".")
    service.add_timeline_event(incident_id, TimelineEventCreate(kind="note", description=said[:2000]))


def arguments(method: Callable[..., Any], *, accept: bool, by: str | None, note: str | None) -> dict[str, Any]:
    """The keyword arguments `method` takes for this decision, by the names in its signature."""
    names = set(inspect.signature(method).parameters)
    given: dict[str, Any] = {}
    if "accept" in names:
        given["accept"] = accept
    else:
        key = next((n for n in DECISION if n in names), None)
        if key is None:
            raise ReviewError("this server's review method takes no decision the web view knows how to give")
        given[key] = "accepted" if accept else "rejected"
    who = next((n for n in ("by", "reviewer", "reviewed_by") if n in names), None)
    if who is not None and by is not None:
        given[who] = by
    if "note" in names and note is not None:
        given["note"] = note
    return given
