"""The post-mortem as HTML: the Markdown report rendered inert with its causal graph as inline SVG, and as one
self-contained file (inline CSS, no script, nothing loaded from anywhere: its own Content-Security-Policy says so to
the browser that opens it). What `postmortem report --format html`, the `report-html://` resource and the web
view's incident page and download link give."""

from functools import cache

from markupsafe import Markup

from agent_postmortem.render.graph import causal_graph_svg
from agent_postmortem.render.html import TEMPLATES, LinkTo, environment, markdown_html, no_link
from agent_postmortem.store.models import Incident

EXPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"
STYLESHEET = TEMPLATES / "report.css"


@cache
def stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


def report_body(incident: Incident, markdown: str, *, link_to: LinkTo) -> Markup:
    """The report's Markdown (hypotheses considered included) as inert HTML with the incident's graph."""
    return markdown_html(markdown, graph=causal_graph_svg(incident), link_to=link_to)


def report_html(incident: Incident, markdown: str) -> str:
    """One self-contained HTML document of the report `markdown` rendered for `incident`; links to other incidents
    become plain text (the file is read away from any server)."""
    body = report_body(incident, markdown, link_to=no_link)
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            i=incident,
            body=body,
            css=Markup(stylesheet().replace("</", "<\\/")),
            csp=EXPORT_CSP,
        )
    )
