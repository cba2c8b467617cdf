"""`postmortem bench ui`: how fast and how heavy the web view is, on a knowledge base of `incidents` incidents.

1. Server time per page, p50/p95 over `requests` requests each, measured by a client on loopback against the HTTP
   app `serve --transport http` runs (uvicorn in this process, signed in with a session cookie): the incidents page
   (first page, a deep page, filtered and sorted, a hybrid search), an incident, patterns, action items, dashboard.
2. Page weight: the bytes of each page's HTML and of the assets the pages link to (two stylesheets, one icon; no
   script).
3. Time to first render in Debian's chromium (Playwright): first contentful paint and the load event of each page,
   median of `renders` loads, with screenshots when `screenshots` names a directory. Skipped without chromium.

The knowledge base is the seed (real text and vectors) plus synthetic incidents made from it by bulk SQL (the
perf benchmark's `synthetic_rows`), their creation times spread over the last 12 weeks so that the dashboard has
something to count (a BENCHMARK SHORTCUT: captures would take minutes at this size)."""

import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import select, update

from agent_postmortem.config import Settings
from agent_postmortem.evals.perf_corpus import SEED, bench_service, bulk_insert_synthetic, sentence_pool
from agent_postmortem.evals.replicas import free_port, in_thread
from agent_postmortem.http.app import http_app
from agent_postmortem.http.security import http_security
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.runtime import make_embedder
from agent_postmortem.store.models import SeedIncident, utcnow
from agent_postmortem.store.records import schema

Progress = Callable[[str, int, int], None]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def build(home: Path, n: int, rng: np.random.Generator) -> tuple[PostmortemService, str]:
    """The seed plus synthetic incidents up to `n`, created over the last 12 weeks; and the first seed incident with
    an analysis of several factors (the incident page shown: its report, graph and similar incidents)."""
    service = bench_service(home, make_embedder(Settings.from_env({})))
    seed = read_incidents(SEED)
    imported = service.import_incidents(seed)
    bulk_insert_synthetic(service.store, n - service.store.count(), rng, sentence_pool(seed))
    _spread_over_weeks(service, rng, weeks=12)
    service.knowledge.sync()
    service.knowledge.lexical.refresh()
    shown = next((i for i, row in zip(imported.ids, seed, strict=False) if _graphed(row)), imported.ids[0])
    return service, shown


def _graphed(row: SeedIncident) -> bool:
    return row.analysis is not None and len(row.analysis.contributing_factors) > 1


def _spread_over_weeks(service: PostmortemService, rng: np.random.Generator, *, weeks: int) -> None:
    now, cols = utcnow(), schema.incidents.c
    with service.store.engine.begin() as conn:
        rows = conn.execute(select(cols.pk, cols.created_at, cols.mitigated_at, cols.resolved_at)).all()
        for pk, created, mitigated, resolved in rows:
            start = now - timedelta(seconds=float(rng.uniform(0, weeks * 7 * 86400)))
            moved = {"created_at": start, "last_seen_at": start}
            for name, when in (("mitigated_at", mitigated), ("resolved_at", resolved)):
                if when is not None:
                    moved[name] = min(start + (when - created), now)
            conn.execute(update(schema.incidents).where(cols.pk == pk).values(**moved))


@contextmanager
def serving(service: PostmortemService, token: str) -> Iterator[str]:
    port = free_port()
    security = http_security(host="127.0.0.1", port=port, token=token, allowed_hosts=[], allowed_origins=[])
    app = http_app(lambda: service, security=security, host="127.0.0.1", rate_per_minute=1_000_000)
    with in_thread(app, port) as url:
        yield url


def sign_in(client: httpx.Client, token: str) -> None:
    form = client.get("/login").text
    csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"csrf": csrf, "token": token}).status_code == 303


def pages(shown: str) -> dict[str, str]:
    return {
        "incidents": "/incidents",
        "incidents page 100": "/incidents?page=100",
        "incidents filtered + sorted": "/incidents?category=rate_limit&sort=last_seen",
        "incidents search": "/incidents?q=agent+retried+a+rate+limited+API+until+the+quota+ran+out",
        "incident": f"/incidents/{shown}",
        "patterns": "/patterns",
        "action items": "/actions",
        "dashboard": "/dashboard",
    }


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[max(0, int(np.ceil(0.95 * len(ordered))) - 1)]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1), "p95_ms": round(p95 * 1000, 1), "n": len(values)}


def server_times(client: httpx.Client, paths: dict[str, str], requests: int, progress: Progress) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for n, (name, path) in enumerate(paths.items()):
        count = requests if name.startswith("incidents") else max(5, requests // 5)
        t = time.perf_counter()
        client.get(path)  # the first view builds the minute-long values (patterns, dashboard): timed apart
        first = time.perf_counter() - t
        times, size = [], 0
        for _ in range(count):
            t = time.perf_counter()
            answer = client.get(path)
            times.append(time.perf_counter() - t)
            assert answer.status_code == 200, (path, answer.status_code)
            size = len(answer.content)
        found[name] = {"first_view_ms": round(first * 1000, 1), **_ms(times), "html_kb": round(size / 1024, 1)}
        progress("server time", n + 1, len(paths))
    return found


def assets(client: httpx.Client, paths: dict[str, str]) -> dict[str, float]:
    """The size of every asset any page links to (stylesheets, icon; a script would be listed here too)."""
    linked = sorted(
        {m for p in paths.values() for m in re.findall(r'(?:href|src)="(/static/[^"]+)"', client.get(p).text)}
    )
    return {p: round(len(client.get(p).content) / 1024, 1) for p in linked}


def first_render(base: str, token: str, paths: dict[str, str], renders: int, shots: Path | None) -> dict[str, Any]:
    """First contentful paint and load event per page in chromium (median of `renders` cold loads)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed"}
    if not Path(CHROMIUM).exists():
        return {"skipped": f"no chromium at {CHROMIUM}"}
    found: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/login")
        page.fill("#token", token)
        page.click("main form button[type=submit]")
        page.wait_for_url(base + "/incidents")
        for name, path in paths.items():
            paints, loads = [], []
            for _ in range(renders):
                page.goto(base + path)
                timing = page.evaluate(_TIMING)
                paints.append(timing["fcp"])
                loads.append(timing["load"])
            found[name] = {
                "first_paint_ms": round(statistics.median(paints), 1),
                "load_ms": round(statistics.median(loads), 1),
            }
            if shots is not None:
                shots.mkdir(parents=True, exist_ok=True)
                slug = name.replace(" + ", "-").replace(" ", "-")
                page.screenshot(path=str(shots / f"{slug}.jpg"), type="jpeg", quality=70)
        browser.close()
    return found


_TIMING = """() => new Promise(resolve => {
  const nav = performance.getEntriesByType('navigation')[0];
  const done = fcp => resolve({fcp, load: nav.loadEventEnd});
  new PerformanceObserver(list => {
    const paint = list.getEntriesByName('first-contentful-paint')[0];
    if (paint) done(paint.startTime);
  }).observe({type: 'paint', buffered: true});
  setTimeout(() => done(-1), 5000);
})"""


def run(
    *,
    incidents: int = 10_000,
    requests: int = 50,
    renders: int = 5,
    screenshots: Path | None = None,
    seed: int = 0,
    progress: Progress = lambda stage, done, total: None,
) -> dict[str, Any]:
    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as root:
        t = time.perf_counter()
        service, shown = build(Path(root) / "home", incidents, np.random.default_rng(seed))
        built = time.perf_counter() - t
        paths = pages(shown)
        with serving(service, token) as base, httpx.Client(base_url=base, timeout=120) as client:
            sign_in(client, token)
            times = server_times(client, paths, requests, progress)
            static = assets(client, paths)
            render = first_render(base, token, paths, renders, screenshots)
        service.knowledge.release_index()
    return {
        "incidents": incidents,
        "build_s": round(built, 1),
        "server": times,
        "assets_kb": static,
        "chromium": render,
        "notes": [
            "server time: a loopback client's request-to-response time against uvicorn in the benchmark's process",
            "page weight: HTML as served (uncompressed), plus the assets the pages link to (loaded once); no script",
        ],
    }
