"""The web view over real HTTP (the app `serve --transport http` runs): sign-in and sessions, CSRF, the guards it
shares with /mcp, the security headers, one-time links, and team isolation, also when a token is revoked."""

import contextlib
import html
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import Response

from agent_postmortem.http.teams import TeamTokenVerifier, add_token, load_tokens, revoke_token
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.web.app import CSP
from agent_postmortem.web.auth import COOKIE, IDLE_TTL, SESSION_TTL, Sessions, set_cookie
from tests.factories import make_service
from tests.http_server import TOKEN, serve_process, serving
from tests.web.site import csrf_of, sign_in

PAGES = ("/incidents", "/incidents/INC-1", "/patterns", "/actions", "/dashboard", "/incidents/INC-1/report.html")


def test_every_page_needs_a_session_and_every_answer_carries_the_strict_headers(client: httpx.Client) -> None:
    for path in ("/", *PAGES, "/login", "/static/app.css"):
        answer = client.get(path)
        assert answer.headers["content-security-policy"] == CSP, path
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
        if path in PAGES:
            wanted = "/login" if path == "/incidents" else "/login?" + urlencode({"next": path})
            assert answer.status_code == 303 and answer.headers["location"] == wanted, path
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP and "frame-ancestors 'none'" in CSP


def test_a_wrong_token_is_refused_unechoed_and_the_right_one_gives_an_httponly_strict_session(
    client: httpx.Client,
) -> None:
    form = client.get("/login")
    wrong = client.post("/login", data={"csrf": csrf_of(form.text), "token": "not-the-token-0123456789-xyz"})
    assert (
        wrong.status_code == 401
        and "not-the-token" not in wrong.text
        and COOKIE not in wrong.headers.get("set-cookie", "")
    )
    right = client.post("/login", data={"csrf": csrf_of(form.text), "token": TOKEN})
    assert right.status_code == 303 and right.headers["location"] == "/incidents"
    cookie = next(c for c in right.headers.get_list("set-cookie") if c.startswith(COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie
    assert client.get("/incidents").status_code == 200


def test_a_link_opened_before_signing_in_leads_to_its_page_once_signed_in(client: httpx.Client) -> None:
    """A post-mortem link from a chat, or a bookmarked filtered list, opened without a session: after signing in
    the person landed on the incidents list and had to find the incident again."""
    for wanted in ("/incidents/INC-3", "/incidents?severity=SEV1&q=%E6%97%A5%E6%9C%AC&q=", "/actions?owner=Zo%C3%AB"):
        client.cookies.clear()
        sent = client.get(wanted)
        assert sent.status_code == 303
        form = client.get(sent.headers["location"])
        assert form.status_code == 200
        nxt = re.search(r'name="next" value="([^"]+)"', form.text)
        assert nxt is not None and html.unescape(nxt[1]) == wanted
        wrong = client.post("/login", data={"csrf": csrf_of(form.text), "token": "not-it-0123456789", "next": wanted})
        again = re.search(r'name="next" value="([^"]+)"', wrong.text)  # the form again, still going where it was
        assert wrong.status_code == 401 and again is not None and html.unescape(again[1]) == wanted
        assert "That token is not valid for this server" in wrong.text and 'id="token"' in wrong.text
        right = client.post("/login", data={"csrf": csrf_of(form.text), "token": TOKEN, "next": wanted})
        assert right.status_code == 303 and right.headers["location"] == wanted
        assert client.get(wanted).status_code == 200
    # a form sent after the session ended leads back to the form's page
    client.cookies.clear()
    assert client.post("/actions/AI-1", data={}).headers["location"] == "/login?next=%2Factions"
    # only the web view's own pages: never another site, however it is spelled
    for elsewhere in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "/login", "/incidents\r\nx"):
        form = client.get("/login", params={"next": elsewhere})
        assert 'name="next"' not in form.text
        right = client.post("/login", data={"csrf": csrf_of(form.text), "token": TOKEN, "next": elsewhere})
        assert right.headers["location"] == "/incidents", elsewhere
        client.cookies.clear()


def test_the_sign_in_form_needs_its_own_csrf_cookie(client: httpx.Client) -> None:
    client.get("/login")
    assert client.post("/login", data={"csrf": "forged", "token": TOKEN}).status_code == 403
    with httpx.Client(base_url=str(client.base_url)) as fresh:  # the form's token without its cookie
        form = client.get("/login").text
        assert fresh.post("/login", data={"csrf": csrf_of(form), "token": TOKEN}).status_code == 403


def test_a_form_without_the_session_csrf_token_is_refused_and_changes_nothing(
    client: httpx.Client, site: tuple[str, PostmortemService, str]
) -> None:
    _, service, drafted = site
    csrf = sign_in(client, TOKEN)
    [item] = service.get_incident(drafted).action_items
    for forged in ({}, {"csrf": "x" * len(csrf)}):
        answer = client.post(f"/actions/{item.id}", data={**forged, "status": "completed"})
        assert answer.status_code == 403
    assert service.get_action_item(item.id).status == "open"
    done = client.post(f"/actions/{item.id}", data={"csrf": csrf, "status": "in_progress", "by": "dana"})
    assert done.status_code == 303
    changed = service.get_action_item(item.id)
    assert changed.status == "in_progress" and changed.history[-1].by == "dana"
    client.post(f"/actions/{item.id}", data={"csrf": csrf, "status": "open"})


def test_a_foreign_host_or_a_cross_site_origin_is_refused_as_on_mcp(client: httpx.Client) -> None:
    csrf = sign_in(client, TOKEN)
    port = client.base_url.port
    assert client.get("/incidents", headers={"host": f"127.0.0.1:{port}.evil.com"}).status_code == 421
    posted = client.post(
        "/incidents/INC-1/events",
        data={"csrf": csrf, "kind": "note", "description": "x"},
        headers={"origin": "http://evil.example"},
    )
    assert posted.status_code == 403
    assert posted.headers["content-security-policy"] == CSP


def test_signing_out_ends_the_session_on_the_server(site: tuple[str, PostmortemService, str]) -> None:
    with httpx.Client(base_url=site[0]) as client:
        csrf = sign_in(client, TOKEN)
        stolen = client.cookies[COOKIE]
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    with httpx.Client(base_url=site[0], cookies={COOKIE: stolen}) as replay:
        assert replay.get("/incidents").headers.get("location") == "/login"


def test_sessions_expire_after_idling_and_at_their_age_limit() -> None:
    now = [0.0]
    sessions = Sessions(clock=lambda: now[0])
    idle, _ = sessions.create("alpha")
    busy, _ = sessions.create("alpha")
    now[0] = IDLE_TTL - 1
    assert sessions.get(busy) is not None
    now[0] = IDLE_TTL + 10
    assert sessions.get(idle) is None and sessions.get(busy) is not None
    for step in range(int(SESSION_TTL // (IDLE_TTL / 2)) + 1):
        now[0] = IDLE_TTL + 10 + step * IDLE_TTL / 2
        sessions.get(busy)
    assert sessions.get(busy) is None


def test_a_one_time_link_signs_in_once(site: tuple[str, PostmortemService, str]) -> None:
    sessions = Sessions()
    token = sessions.issue_link("default")
    assert sessions.redeem(token) == "default" and sessions.redeem(token) is None


def test_behind_tls_the_cookie_is_secure_and_host_prefixed() -> None:
    scope: dict[str, Any] = {"type": "http", "scheme": "https", "headers": [], "path": "/", "server": ("pm", 443)}
    response = Response()
    set_cookie(response, Request(scope), COOKIE, "v", 60)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"__Host-{COOKIE}=") and "Secure" in cookie and "Domain" not in cookie


def test_the_web_view_shares_the_rate_limit(tmp_path: Path) -> None:
    with serving(make_service(tmp_path / "home"), rate_per_minute=6) as base, httpx.Client(base_url=base) as c:
        codes = [c.get("/login").status_code for _ in range(7)]  # bursts of at least 5
    assert codes[0] == 200 and 429 in codes


def test_each_team_sees_only_its_own_knowledge_base(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    tokens = {team: add_token(path, team) for team in ("alpha", "beta")}
    services = {team: make_service(tmp_path / team) for team in tokens}
    for team, service in services.items():
        service.capture_incident(IncidentCreate(title=f"{team}-only secret failure", error_type="TimeoutError"))
    verifier = TeamTokenVerifier(load_tokens(path))
    with serving(services["alpha"], token=None, team_verifier=verifier, for_team=services.__getitem__) as base:
        for team, other in (("alpha", "beta"), ("beta", "alpha")):
            with httpx.Client(base_url=base) as client:
                sign_in(client, tokens[team])
                seen = "".join(client.get(p).text for p in ("/incidents", "/incidents/INC-1", "/dashboard"))
                seen += client.get("/incidents", params={"q": "secret failure"}).text
                assert f"{team}-only secret failure" in seen and f"{other}-only" not in seen


def test_postmortem_ui_serves_loopback_and_its_printed_link_signs_in_once(tmp_path: Path) -> None:
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none", "HF_HUB_OFFLINE": "1"}
    command = [str(Path(sys.executable).parent / "postmortem"), "ui"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"Open (http://127\.0\.0\.1:\d+/login/link\?token=\S+)", line)
        assert found is not None, line
        link = found[1]
        base = link.split("/login")[0]
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/login").status_code == 200:
                    break
            time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=60) as client:
            assert client.get("/incidents").headers.get("location") == "/login"
            assert client.get(link).headers.get("location") == "/incidents"
            assert client.get("/incidents").status_code == 200
        with httpx.Client(base_url=base) as other:
            assert other.get(link).status_code == 401  # used up
            assert "no tokens" in other.get("/login").text
            assert other.get("/mcp").status_code == 404  # the web view only: no MCP endpoint without a token
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_serve_over_http_signs_each_team_in_to_its_own_knowledge_base(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.toml"
    alpha, beta = add_token(tokens, "alpha"), add_token(tokens, "beta")
    env = {"POSTMORTEM_TOKENS_FILE": str(tokens)}
    with serve_process(tmp_path / "home", env) as base:
        with httpx.Client(base_url=base, timeout=120) as client:
            csrf = sign_in(client, beta)
            page = client.get("/incidents").text
            assert "team beta" in page and client.post("/logout", data={"csrf": csrf}).status_code == 303
            sign_in(client, alpha)
            assert "team alpha" in client.get("/dashboard").text
        assert httpx.get(base + "/mcp", headers={"authorization": "Bearer " + alpha}).status_code != 404


def test_a_web_session_ends_when_the_token_it_signed_in_with_is_revoked(tmp_path: Path) -> None:
    """As found in team mode: after `postmortem token revoke`, MCP calls with the token were refused but a browser
    signed in with it kept reading the team's incidents until its session expired (up to SESSION_TTL)."""
    path = tmp_path / "tokens.toml"
    leaked, kept = add_token(path, "alpha", "leaked"), add_token(path, "alpha", "kept")
    verifier = TeamTokenVerifier(load_tokens(path), path=path, every=0.0)
    service = make_service(tmp_path / "alpha")
    with serving(service, token=None, team_verifier=verifier, for_team=lambda team: service) as base:
        with httpx.Client(base_url=base) as browser, httpx.Client(base_url=base) as colleague:
            sign_in(browser, leaked)
            sign_in(colleague, kept)
            assert browser.get("/incidents").status_code == 200
            revoke_token(path, leaked)
            ended = browser.get("/incidents")
            assert ended.status_code == 303 and ended.headers["location"] == "/login"
            assert browser.get("/incidents").status_code == 303  # the session is gone, not only refused once
            assert colleague.get("/incidents").status_code == 200


def test_a_web_session_ends_when_its_token_is_moved_to_another_team(tmp_path: Path) -> None:
    """As found on a shared server: an operator moved a person's token from one team to another by editing the
    tokens file; MCP calls with it went to the new team at once, but the browser signed in with it kept reading the
    old team's incidents until its session expired (up to SESSION_TTL)."""
    path = tmp_path / "tokens.toml"
    moved = add_token(path, "alpha", "moved")
    add_token(path, "beta", "beta's")
    verifier = TeamTokenVerifier(load_tokens(path), path=path, every=0.0)
    services = {team: make_service(tmp_path / team) for team in ("alpha", "beta")}
    services["alpha"].capture_incident(IncidentCreate(title="alpha only: checkout agent refunded twice"))
    with serving(services["alpha"], token=None, team_verifier=verifier, for_team=services.__getitem__) as base:
        with httpx.Client(base_url=base) as browser:
            sign_in(browser, moved)
            assert "alpha only" in browser.get("/incidents/INC-1").text
            path.write_text(path.read_text().replace('team = "alpha"', 'team = "beta"'))
            assert [e.team for e in load_tokens(path)] == ["beta", "beta"]
            ended = browser.get("/incidents/INC-1")
            assert ended.status_code == 303 and ended.headers["location"].startswith("/login")
            sign_in(browser, moved)  # signed in again, the token's new team
            assert browser.get("/incidents/INC-1").status_code == 404
