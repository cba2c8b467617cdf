"""The web view and the exported post-mortem for people who use a keyboard or a screen reader, measured in chromium:
one h1 and headings in order, every field labelled, every table with header cells that name something, every chart
with a text alternative and its numbers in a table, text contrast computed from the computed styles (WCAG 2.x
ratios), a skip link and a visible focus ring on every control reached with Tab, a draft accepted with the keyboard
alone, and chart text still readable at 360 px and at 200% zoom."""

from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import IncidentCreate
from tests.http_server import TOKEN
from tests.web.site import draft

pytestmark = pytest.mark.browser

# Per page: what a screen reader or a keyboard would stumble on. Contrast: the text's colour against the first
# opaque background under it (alpha blended), 4.5:1, or 3:1 for large text; SVG text against its chart's card.
AUDIT = Path(__file__).with_name("audit.js").read_text(encoding="utf-8")
FOCUS = """() => { const e = document.activeElement; const s = getComputedStyle(e);
  return [e.tagName + ' ' + (e.innerText || e.name || '').slice(0, 30), s.outlineStyle, parseFloat(s.outlineWidth),
          e.matches(':focus-visible'), e.closest('main') !== null]; }"""


def _signed_in(browser: Any, base: str, width: int = 1280) -> Any:
    page = browser.new_context(viewport={"width": width, "height": 800}).new_page()
    page.goto(base + "/login")
    page.fill("#token", TOKEN)
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/incidents")
    return page


def _pages(drafted: str) -> list[str]:
    return ["/incidents", "/incidents?q=fares", f"/incidents/{drafted}", "/incidents/INC-1", "/patterns"] + [
        "/actions",
        "/dashboard",
        "/incidents/INC-99999",
    ]


@pytest.mark.parametrize("width", [1280, 640, 360])  # 640: a 1280 px window at 200% zoom
def test_every_page_and_the_export_have_ordered_headings_labels_header_cells_text_alternatives_and_contrast(
    browser: Any, site: tuple[str, PostmortemService, str], width: int, tmp_path: Path
) -> None:
    """As found: the severity chart had no numbers anywhere but inside its image (a screen reader heard only "Severity
    mix of these incidents"); the report's summary table had a header row of two empty cells and its row names
    ("Severity", "Status") as plain cells; the dashboard's time table had an empty corner header; and at 360 px the
    charts' and the causal graph's text was drawn 4-5 px high. On the board, fifty "Save" buttons (and their forms)
    said nothing of which item they save, and the incidents page had two navigation landmarks without a name. The
    charts' orange, sky-blue and yellow bars stood 2.0, 2.2 and 1.2 to 1 against the white card (shapes that carry
    meaning need 3:1). The search box's only label was its placeholder, gone once typing starts; and at 1280 px the
    incident list broke "resolved", "accepted" and "lightweight" over two lines of their cells ("resolve" / "d")."""
    base, _, drafted = site
    page = _signed_in(browser, base, width)
    found = {}
    for path in _pages(drafted):
        page.goto(base + path)
        found[path] = page.evaluate(AUDIT)
    exported = tmp_path / "report.html"
    exported.write_bytes(page.request.get(f"{base}/incidents/{drafted}/report.html").body())
    page.goto(exported.as_uri())
    found["export"] = page.evaluate(AUDIT)
    page.context.clear_cookies()
    page.goto(base + "/login")
    found["login"] = page.evaluate(AUDIT)
    page.context.close()
    problems = {path: {k: v for k, v in r.items() if v} for path, r in found.items()}
    assert {path: p for path, p in problems.items() if p} == {}


def test_the_keyboard_alone_skips_to_the_content_sees_where_it_is_and_accepts_a_draft(
    browser: Any, site: tuple[str, PostmortemService, str]
) -> None:
    """As found: the first Tab of every page went through the brand, four links and Sign out before the content (six
    stops before the search box, before the 390 controls of the board), and the focus was Chromium's 1 px default
    ring, dark on the dark blue buttons."""
    base, service, _ = site
    drafted = service.capture_incident(IncidentCreate(title="Booking agent retried a declined card")).id
    service.record_analysis(drafted, draft(), generated_by="test-writer")
    page = _signed_in(browser, base)
    page.goto(f"{base}/incidents/{drafted}")
    assert page.title() == f"{drafted}: Booking agent retried a declined card · agent-postmortem"  # not the id alone
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUS)[:2] == ["A Skip to content", "solid"]
    assert page.locator("a.skip").bounding_box()["x"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    rings = []
    for _ in range(40):
        page.keyboard.press("Tab")
        rings.append(page.evaluate(FOCUS))
        name = rings[-1][0]
        if name.startswith("BUTTON Accept draft"):
            break
    assert [r for r in rings if not r[4]] == []  # past the header, in the content
    assert [r for r in rings if not (r[1] == "solid" and r[2] >= 2 and r[3])] == []
    assert rings[-1][0].startswith("BUTTON Accept draft"), rings
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/incidents/{drafted}")
    analysis = service.get_incident(drafted).analysis
    page.context.close()
    assert analysis is not None and analysis.state == "accepted"
