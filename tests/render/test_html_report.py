"""The post-mortem as one self-contained HTML file (CLI `report --format html`, the `report-html://` resource), the
causal graph as SVG, and the report's Markdown rendered as inert HTML."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError

from agent_postmortem.mcp.server import create_server
from agent_postmortem.render.graph import causal_graph_svg, layout
from agent_postmortem.render.html import markdown_html, no_link
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import Analysis, Factor, Incident, Why
from tests.web.site import seeded_service

REMOTE = re.compile(r"""(?:src|href|action|xlink:href)\s*=\s*["']?\s*(?!#)[^"'\s>]""", re.IGNORECASE)


def assert_self_contained(html: str) -> None:
    assert html.startswith("<!doctype html>") and "<style>" in html and '<figure class="graph"><svg' in html
    assert "<script" not in html.lower() and "<link" not in html.lower() and "<img" not in html.lower()
    assert REMOTE.findall(html) == [], "an attribute that loads or leads somewhere"
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy is not None and unescape(policy[1]).startswith("default-src 'none'; style-src 'unsafe-inline';")


def test_the_cli_writes_one_self_contained_html_file(cli: Any, tmp_path: Path) -> None:
    row = {
        "title": "Refund agent <b>promised</b> a refund",
        "category": "business_logic",
        "severity": "SEV2",
        "created_at": "2025-09-09T14:12:00Z",
        "analysis": {
            "whys": [{"question": "Why?", "answer": "No check on the refund limit."}],
            "root_cause": "The refund tool accepted any amount.",
            "contributing_factors": [{"factor": "No limit in the tool", "effect": "Refunds above policy"}],
        },
    }
    (tmp_path / "in.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert cli("import", str(tmp_path / "in.jsonl")).exit_code == 0
    out = tmp_path / "INC-1.html"
    done = cli("report", "INC-1", "--format", "html", "-o", str(out))
    assert done.exit_code == 0, done.output
    html = out.read_text(encoding="utf-8")
    assert_self_contained(html)
    assert "Refund agent &lt;b&gt;promised&lt;/b&gt; a refund" in html and "No limit in the tool" in html
    assert cli("report", "INC-1", "--format", "pdf").exit_code == 2


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[PostmortemService, str]:
    return seeded_service(tmp_path_factory.mktemp("export") / "home")


@pytest.mark.anyio
async def test_the_html_report_resource_is_text_html_and_names_list_incidents_when_missing(
    seeded: tuple[PostmortemService, str],
) -> None:
    service, drafted = seeded
    async with Client(create_server(lambda: service)) as client:
        found = await client.read_resource(f"report-html://{drafted}")
        with pytest.raises(MCPError, match="list_incidents"):
            await client.read_resource("report-html://INC-999")
    [content] = found.contents
    assert content.mime_type == "text/html"  # type: ignore[union-attr]
    assert_self_contained(content.text)  # type: ignore[union-attr]


def _incident(factors: list[tuple[str, str]]) -> Incident:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    analysis = Analysis(
        whys=[Why(question="Why?", answer="Because.")],
        root_cause="A root cause.",
        contributing_factors=[Factor(factor=f, effect=e) for f, e in factors],
        generated_by="test",
        created_at=now,
    )
    return Incident(
        id="INC-7", title="Title & <b>x</b>", category="timeout", severity="SEV3", triage="full", created_at=now
    ).model_copy(update={"analysis": analysis})


def test_the_graph_lays_chains_left_to_right_into_the_incident_and_survives_cycles() -> None:
    incident = _incident(
        [("A cause", "An effect"), ("An effect", "The outage"), ("Loop one", "Loop two"), ("Loop two", "loop ONE")]
    )
    nodes, edges, _, _ = layout(incident)
    layer = {n.label: n.layer for n in nodes}
    assert layer["A cause"] < layer["An effect"] < layer["The outage"] < layer["INC-7: Title & <b>x</b>"]
    assert len([n for n in nodes if n.label.lower() == "loop one"]) == 1  # the same words are one node
    assert len(edges) == 5  # the cycle's two edges, and the two chains' last nodes into the incident
    assert causal_graph_svg(_incident([])) is None


def test_graph_labels_are_escaped_and_the_svg_is_well_formed_xml() -> None:
    hostile = "</text><script>alert(1)</script> & \x01\x1b]0;x\x07 \"quoted\" 'single'"
    svg = str(causal_graph_svg(_incident([(hostile, "effect <b>"), ("effect <b>", hostile + " 2")])))
    tree = ET.fromstring(svg)  # raises on anything that is not well-formed
    assert "<script" not in svg and "&lt;script&gt;" in svg and "\x1b" not in svg
    titles = [t.text or "" for t in tree.iter("{http://www.w3.org/2000/svg}title")]
    assert any(t.startswith("</text><script>alert(1)</script> & ") for t in titles)  # the full label, as text


def test_report_markdown_becomes_html_with_no_raw_html_images_or_foreign_links() -> None:
    text = (
        "# Title <script>x</script>\n\n[own](report://INC-4) [bad](javascript:alert(1)) ![i](http://e.vil/x.png) "
        "<img src=x onerror=alert(1)> [web](https://example.org/a)\n\n```mermaid\nflowchart LR\n```\n"
    )
    html = str(markdown_html(text, graph=None, link_to=lambda href: "/incidents/" + href.split("://")[1]))
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert '<a href="/incidents/INC-4">own</a>' in html
    assert 'href="https://example.org/a" rel="noopener noreferrer nofollow"' in html
    assert "flowchart" not in html  # the Mermaid block gives way to the SVG (none here)
    exported = str(markdown_html(text, graph=None, link_to=no_link))
    assert "/incidents/INC-4" not in exported and "own" in exported


def test_the_page_and_the_file_render_the_same_report(seeded: tuple[PostmortemService, str]) -> None:
    service, drafted = seeded
    page = str(markdown_html(service.render_report(drafted), graph=None, link_to=no_link))
    sections = re.findall(r"<h2>([^<]+)</h2>", page)
    assert sections[:3] == ["Description", "Timeline", "Root cause analysis (draft): 3 whys"]
    exported = service.render_report(drafted, format="html")
    assert all(f"<h2>{s}</h2>" in exported for s in sections) and service.get_incident(drafted).title in exported
