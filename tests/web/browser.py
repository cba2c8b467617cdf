"""Debian's chromium driven by Playwright for Python, watched for what must never happen on our pages: a console
error, an uncaught exception, a Content-Security-Policy violation, a dialog (a payload's `alert`), or a request
leaving the origin (it is recorded and aborted, so nothing leaves the machine either).

Playwright's own browser download cannot be used here: the browser is Debian's `chromium`, launched by path
(`tests/install-tools.sh` installs it with apt-get as root). Without it, the browser tests skip with one line, and
under CI they fail."""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.factories import TESTS, missing_tool

CHROMIUM = os.environ.get("POSTMORTEM_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NO_BROWSER = (
    "chromium or Playwright is not installed, so the browser tests skip (Debian: apt-get install chromium, and "
    "pip install playwright; make test does both as root)"
)
ARTIFACTS = TESTS / "artifacts" / "web"
# Collects CSP violation reports in the page (init scripts are injected by the browser, not subject to the CSP).
WATCH_SCRIPT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless chromium for a test module (skipped, or failed under CI, when it is not installed)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_tool(NO_BROWSER)
    if not Path(CHROMIUM).exists():
        missing_tool(NO_BROWSER)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watch:
    """What went wrong on any page of a browser context: console errors, page errors, CSP violations, dialogs,
    requests to anything but `origin`."""

    origin: str
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    off_origin: list[str] = field(default_factory=list)
    requests: int = 0
    also: set[str] = field(default_factory=set)  # single URLs allowed besides the origin (a file opened on purpose)

    def attach(self, context: Any) -> None:
        context.add_init_script(WATCH_SCRIPT)
        context.route("**/*", self._route)
        context.on("page", self._page)

    def _page(self, page: Any) -> None:
        page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        url = route.request.url
        self.requests += 1
        if url.startswith(self.origin + "/") or url == self.origin or url in self.also:
            route.continue_()
        else:
            self.off_origin.append(url)
            route.abort()

    def collect(self, page: Any) -> None:
        """The CSP violations the page saw (call before leaving it)."""
        self.csp += page.evaluate("window.__csp || []")

    def problems(self) -> dict[str, list[str]]:
        found = {
            "console errors": self.console,
            "page errors": self.errors,
            "CSP violations": self.csp,
            "dialogs": self.dialogs,
            "requests leaving the origin": self.off_origin,
        }
        return {k: v for k, v in found.items() if v}


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
