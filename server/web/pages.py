"""The incidents list and an incident's page (its post-mortem, pattern and history; review and timeline forms)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, get_args
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from agent_postmortem.errors import EmptyQuery
from agent_postmortem.render.html import OWN
from agent_postmortem.render.html_report import report_body
from agent_postmortem.store.errors import IncidentNotFound
from agent_postmortem.store.models import EventKind, TimelineEventCreate
from agent_postmortem.web import reads
from agent_postmortem.web.app import Ctx, Rendered, Web, page

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService
    from agent_postmortem.store.models import Analysis, Incident


def incidents(ctx: Ctx) -> Rendered:
    try:
        f = reads.filters(ctx.params)
    except reads.FormError as e:  # the form again as typed, with what is wrong: a Back link would lose the typing
        return _refused(reads.as_typed(ctx.params), str(e), 400)
    try:
        found = reads.incident_page(ctx.service, f)
    except EmptyQuery:  # "?" or "!!!" typed in the box got the site's 500 page, the search gone
        return _refused(
            f, f"Search for words, an error message or an incident id: {f.q!r} has no letter or digit.", 400
        )
    except IncidentNotFound as e:  # a search for an id no incident has: the form again, not an error page without it
        return _refused(f, f"{e}: search for words, or for an incident's id to find incidents like it.", 404)
    deepest = found.has_next and f.page >= reads.MAX_PAGE
    asked = reads.page_number(ctx.params)  # past MAX_PAGE: that page is shown, and says so
    return Rendered(
        "incidents.html.j2",
        {
            "f": f,
            "rows": found.rows,
            "notes": found.notes,
            "named": found.named,
            "empty_because": found.empty_because,
            "prev_link": "?" + urlencode(f.query(page=f.page - 1)) if f.page > 1 and found.rows else None,
            "first_link": "?" + urlencode(f.query(page=1)),
            # past the last page the list can show, Next would only show this page again
            "next_link": "?" + urlencode(f.query(page=f.page + 1)) if found.has_next and not deepest else None,
            "deepest": deepest,
            "asked": asked,
            "problem": None,
            **LISTS,
        },
    )


def _refused(f: object, problem: str, status: int) -> Rendered:
    context = {"f": f, "problem": problem, "rows": [], "notes": [], "named": [], "deepest": False, "asked": 1, **LISTS}
    context["empty_because"] = None
    return Rendered("incidents.html.j2", context, status)


LISTS = {"choices": reads.CHOICES, "sorts": reads.SORTS}


@dataclass(frozen=True)
class Change:
    at: datetime
    what: str
    text: str


def history(service: "PostmortemService", incident: "Incident") -> list[Change]:
    """Everything that happened to the incident, newest first: its timeline, its analysis, its items' changes."""
    changes = [Change(e.at, e.kind, e.description) for e in incident.timeline]
    if incident.analysis is not None:
        a = incident.analysis
        changes.append(Change(a.created_at, "analysis", f"{a.state} analysis written by {a.generated_by}"))
    for item in incident.action_items:
        for c in service.get_action_item(item.id).history:
            said = f"{item.id} created: {c.new}" if c.field == "created" else f"{item.id} {c.field}: {c.old} → {c.new}"
            changes.append(Change(c.at, "action item", said + (f" (by {c.by})" if c.by else "")))
    return sorted(changes, key=lambda c: c.at, reverse=True)


def incident(ctx: Ctx) -> Rendered:
    found = ctx.service.get_incident(ctx.params["incident_id"])
    body = report_body(found, ctx.service.render_report(found.id), link_to=web_link)
    return Rendered(
        "incident.html.j2",
        {
            "i": found,
            "a": found.analysis,
            "report": body,
            # its own pattern as it is now, not every pattern's grouping, which took seconds at 10k and was kept
            # for a minute: a capture that had just joined a pattern was shown in none
            "pattern": ctx.service.incident_pattern(found.id),
            "history": history(ctx.service, found),
            "event_kinds": get_args(EventKind),
        },
    )


def review_form(ctx: Ctx) -> Response:
    incident_id = ctx.params["incident_id"]
    decision = ctx.form.get("decision", "")
    if decision not in ("accept", "reject"):
        raise reads.FormError("decision must be accept or reject")
    by = reads.text(ctx.form, "by", 200) or None
    note = reads.text(ctx.form, "note", 1000) or None
    check = partial(_unreviewed_since_shown, ctx.form)
    ctx.service.review_analysis(incident_id, decision=decision, by=by, note=note, check=check)
    return RedirectResponse(f"/incidents/{ctx.service.get_incident(incident_id).id}", status_code=303)


def _unreviewed_since_shown(form: Mapping[str, str], analysis: "Analysis") -> None:
    """Refuse (409) a verdict given on a page showing an analysis that is no longer the incident's latest (the person
    has not read the one they would decide), or no longer in the state shown: someone else reviewed it since (another
    tab, a colleague, an MCP client), and this verdict would replace theirs unseen. `analysis` is as the review's
    compare-and-set reads it, so a review landing after this check is not replaced either. The form is shown for a
    draft only: a page from before it said its state is taken as showing one."""
    if form.get("analysis", analysis.created_at.isoformat()) != analysis.created_at.isoformat():
        raise reads.EditConflict("A newer analysis was recorded since this page was shown: reload it, read it first.")
    if form.get("state", "draft") != analysis.state:
        by = f" by {analysis.reviewed_by}" if analysis.reviewed_by else ""
        raise reads.EditConflict(
            f"This analysis was {analysis.state}{by} after this page was shown, so your review was not saved: reload "
            "the page to read the review it has now."
        )


def event_form(ctx: Ctx) -> Response:
    incident_id = ctx.params["incident_id"]
    kind = ctx.form.get("kind", "note")
    if kind not in get_args(EventKind):
        raise reads.FormError(f"kind must be one of: {', '.join(get_args(EventKind))}")
    description = reads.text(ctx.form, "description", 2000, required=True)
    event = TimelineEventCreate.model_validate({"kind": kind, "description": description})
    if _moves_status(ctx.service.get_incident(incident_id).status, kind):
        # the page's one way to say so: the incident is marked too, as `postmortem resolve` marks it
        done = ctx.service.resolve_incident(incident_id, status=kind, note=event.description)
    else:
        done = ctx.service.add_timeline_event(incident_id, event)
    return RedirectResponse(f"/incidents/{done.id}", status_code=303)


def _moves_status(status: str, kind: str) -> bool:
    """Whether an event of `kind` added now marks the incident: "resolved" does, and "mitigated" of an open incident
    (of a resolved one it is an event told late, which does not take the resolution back)."""
    return kind == "resolved" or (kind == "mitigated" and status == "open")


def download(ctx: Ctx) -> Response:
    found = ctx.service.get_incident(ctx.params["incident_id"])
    headers = {"content-disposition": f'attachment; filename="{found.id}.html"'}
    return Response(ctx.service.render_report(found.id, format="html"), media_type="text/html", headers=headers)


def web_link(href: str) -> str | None:
    """Own resources (`report://INC-4`, `runbook://…`) inside the web view: an incident's lead to its page."""
    found = OWN.fullmatch(href)
    return f"/incidents/{found[1]}" if found and found[1].upper().startswith("INC-") else None


def routes(web: Web) -> list[Route]:
    return [
        Route("/incidents", page(web, incidents), methods=["GET"]),
        Route("/incidents/{incident_id}", page(web, incident), methods=["GET"]),
        Route("/incidents/{incident_id}/report.html", page(web, download), methods=["GET"]),
        Route("/incidents/{incident_id}/review", page(web, review_form, post=True), methods=["POST"]),
        Route("/incidents/{incident_id}/events", page(web, event_form, post=True), methods=["POST"]),
    ]
