"""`bench ui` on a small knowledge base: every page answers, the figures are all there, no page links a script, and
chromium (when installed) paints each page and leaves a screenshot. No timing thresholds: the numbers come from the
full benchmark (docs/web.md)."""

from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.evals.ui import run
from tests.factories import missing_tool

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    shots = tmp_path_factory.mktemp("shots")
    stages: list[str] = []
    figures = run(incidents=150, requests=5, renders=1, screenshots=shots, progress=lambda s, d, t: stages.append(s))
    assert stages and set(stages) == {"server time"}
    return figures, shots


def test_every_page_has_its_server_time_and_weight(result: tuple[dict[str, Any], Path]) -> None:
    figures, _ = result
    assert figures["incidents"] == 150
    pages = {"incidents", "incidents search", "incident", "patterns", "action items", "dashboard"}
    assert pages <= set(figures["server"])
    for page in figures["server"].values():
        assert 0 < page["p50_ms"] <= page["p95_ms"] and page["html_kb"] > 0 and page["n"] >= 5


def test_the_pages_link_only_their_stylesheets_and_icon(result: tuple[dict[str, Any], Path]) -> None:
    figures, _ = result
    assert set(figures["assets_kb"]) == {"/static/report.css", "/static/app.css", "/static/favicon.svg"}


def test_chromium_paints_every_page_and_leaves_a_screenshot(result: tuple[dict[str, Any], Path]) -> None:
    figures, shots = result
    if "skipped" in figures["chromium"]:
        missing_tool(figures["chromium"]["skipped"])  # a skip, or a failure under CI
    assert set(figures["chromium"]) == set(figures["server"])
    assert all(page["first_paint_ms"] > 0 for page in figures["chromium"].values())
    assert len(list(shots.glob("*.jpg"))) == len(figures["server"])
