"""The post-mortem as one self-contained HTML file: inline CSS, the causal graph as inline SVG, no script, nothing
loaded from anywhere (its own Content-Security-Policy says so to the browser that opens it). What
`postmortem report --format html`, the `report-html://` resource and the page's download link give."""

from functools import cache
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from server.web.graph import causal_graph_svg
from server.web.html import HERE, LinkTo, environment, markdown_html, no_link
from server.web.review import alternatives

if TYPE_CHECKING:
    from server.service import PostmortemService
    from store.models import Incident

EXPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"


@cache
def stylesheet() -> str:
    return (HERE / "static" / "app.css").read_text(encoding="utf-8")


def report_body(
    service: "PostmortemService", incident: "Incident", *, link_to: LinkTo
) -> tuple[Markup, list[dict[str, Any]]]:
    """The full post-mortem (the Markdown report, so every interface says the same) as inert HTML with its graph,
    and the analysis' alternative hypotheses to show after it (none when the report already has them)."""
    text = service.render_report(incident.id, kind="full")
    shown = [] if "Alternative hypotheses" in text else alternatives(incident.analysis)
    return markdown_html(text, graph=causal_graph_svg(incident), link_to=link_to), shown


def report_html(service: "PostmortemService", incident_id: str) -> str:
    incident = service.get_incident(incident_id)
    body, shown = report_body(service, incident, link_to=no_link)
    return (
        environment()
        .get_template("export.html.j2")
        .render(
            i=incident,
            body=body,
            alternatives=shown,
            css=Markup(stylesheet().replace("</", "<\\/")),
            csp=EXPORT_CSP,
        )
    )
