"""Teams: tokens map to teams, and a team never sees another team's incidents, over real HTTP with the MCP client.

Two teams capture incidents through the same server; then each makes random reads of every kind (search, list,
get by id, including ids that belong to the other team, resources, stats, patterns) and no answer holds a row of
the other team. Reads per team: POSTMORTEM_TEAM_READS (default 1,000)."""

import json
import os
import random
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from agent_postmortem.config import Settings
from agent_postmortem.evals.replicas import free_port, in_thread
from agent_postmortem.http.app import http_app
from agent_postmortem.http.security import http_security
from agent_postmortem.http.teams import (
    TeamConfigError,
    TeamServices,
    TeamTokenVerifier,
    add_token,
    digest,
    load_tokens,
    team_home,
)
from agent_postmortem.store.search.embedding import HashEmbedder
from tests.factories import FIXTURES, HomeDatabases
from tests.http_server import serve_process

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
READS = int(os.environ.get("POSTMORTEM_TEAM_READS", "1000"))
TEAMS = ("alpha", "beta")


def test_the_tokens_file_keeps_digests_only_and_maps_each_token_to_its_team(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    alpha, beta = add_token(path, "alpha", note="checkout agents"), add_token(path, "beta")
    text = path.read_text()
    assert alpha not in text and beta not in text and text.count("[[token]]") == 2
    assert path.stat().st_mode & 0o077 == 0  # private
    verifier = TeamTokenVerifier(load_tokens(path))
    assert verifier.teams == ["alpha", "beta"]


async def test_a_token_is_verified_to_its_team_and_a_wrong_one_to_nothing(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    alpha = add_token(path, "alpha")
    verifier = TeamTokenVerifier(load_tokens(path))
    found = await verifier.verify_token(alpha)
    assert found is not None and found.client_id == "alpha"
    assert await verifier.verify_token(alpha[:-1] + "x") is None


@pytest.mark.parametrize(
    "content, message",
    [
        ("[[token]]\nteam = 'Alpha!'\nsha256 = '" + "0" * 64 + "'\n", "invalid team name"),
        ("[[token]]\nteam = 'alpha'\nsha256 = 'xyz'\n", "not hexadecimal"),
        ("[[token]]\nteam = 'alpha'\n", "needs a team and a sha256"),
        ("token = [", "not valid TOML"),
        ("", "no [[token]] entries"),
    ],
)
def test_a_bad_tokens_file_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(content)
    with pytest.raises(TeamConfigError, match=message.replace("[", r"\[")):
        load_tokens(path)


async def test_a_token_listed_under_two_teams_is_refused_and_a_running_server_keeps_its_team(tmp_path: Path) -> None:
    """An entry copied to another team (to move a token) with the old one left: the server silently gave the token
    the later team, so a payments agent read and wrote the search team's knowledge base."""
    from tests.processes import postmortem

    path = tmp_path / "tokens.toml"
    alpha = add_token(path, "alpha")
    add_token(path, "beta")
    verifier = TeamTokenVerifier(load_tokens(path), path=path, every=0)
    copied = f'\n[[token]]\nteam = "beta"\nsha256 = "{digest(alpha).hex()}"\nnote = "moved"\n'
    path.write_text(path.read_text() + copied)
    with pytest.raises(TeamConfigError, match=r"token entries 1 and 3 hold the same sha256 .* teams alpha and beta"):
        load_tokens(path)
    found = await verifier.verify_token(alpha)  # the file is reread: the last good tokens stay in force
    assert found is not None and found.client_id == "alpha"
    listed = postmortem("token", "list", "--file", str(path), home=tmp_path / "home")
    assert listed.returncode == 2 and "hold the same sha256" in listed.stderr.decode(), listed.stderr
    served = postmortem(
        "serve", "--transport", "http", "--port", "1", home=tmp_path / "home", env={"POSTMORTEM_TOKENS_FILE": str(path)}
    )
    said = served.stderr.decode()
    assert served.returncode == 2 and said.count("\n") == 1 and "teams alpha and beta" in said, said
    assert alpha not in said


def test_each_team_has_its_own_directory_and_the_default_team_keeps_the_home(tmp_path: Path) -> None:
    assert team_home(tmp_path, "default") == tmp_path
    assert team_home(tmp_path, "alpha") == tmp_path / "teams" / "alpha"
    with pytest.raises(TeamConfigError):
        team_home(tmp_path, "../etc")


@contextmanager
def team_server(home: Path, tokens: Path, extra: dict[str, str] | None = None) -> Iterator[str]:
    settings = Settings.from_env({"POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none", **(extra or {})})
    verifier = TeamTokenVerifier(load_tokens(tokens))
    teams = TeamServices.for_settings(settings, teams=verifier.teams, embedder=HashEmbedder())
    port = free_port()
    security = http_security(
        host="127.0.0.1", port=port, token=None, allowed_hosts=[], allowed_origins=[], team_verifier=verifier
    )
    app = http_app(teams.get, security=security, host="127.0.0.1", rate_per_minute=600_000, on_start=teams.start)
    with in_thread(app, port, lifespan="on") as url:
        yield url


@asynccontextmanager
async def client(url: str, token: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as c,
    ):
        yield c


def data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    found: dict[str, Any] = result.structured_content
    return found


async def test_two_teams_never_see_each_others_incidents(tmp_path: Path, database: HomeDatabases) -> None:
    """On SQLite each team has its own directory; on PostgreSQL its own schema in the one database."""
    tokens = tmp_path / "tokens.toml"
    token = {team: add_token(tokens, team) for team in TEAMS}
    rng = random.Random(7)
    words = {"alpha": ["ledger", "refund", "invoice"], "beta": ["browser", "calendar", "planner"]}
    with team_server(tmp_path / "home", tokens, database.settings(tmp_path / "home")) as url:
        ids: dict[str, set[str]] = {}
        titles: dict[str, set[str]] = {}
        for team in TEAMS:
            async with client(url, token[team]) as c:
                ids[team], titles[team] = set(), set()
                for n in range(12):
                    word = words[team][n % 3]
                    title = f"{team} team's {word} agent failed in run {n}"
                    got = data(await c.call_tool("capture_incident", {"title": title, "agent": f"{team}-{word}-{n}"}))
                    ids[team].add(got["id"])
                    titles[team].add(title)
        # both teams number from INC-1: the same id names a different incident in each team
        assert ids["alpha"] == ids["beta"]

        leaked = 0
        for team, other in (("alpha", "beta"), ("beta", "alpha")):
            async with client(url, token[team]) as c:
                for _ in range(READS):
                    seen = await random_read(c, rng, words[team] + words[other], sorted(ids[team]))
                    leaked += len(seen & titles[other])
                    assert not any(other in text for text in seen), seen
        assert leaked == 0

        async with httpx.AsyncClient(base_url=url) as raw:  # no token: nothing at all
            assert (await raw.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})).status_code == 401


async def random_read(c: Client, rng: random.Random, words: list[str], ids: list[str]) -> set[str]:
    """One read of a random kind; the titles it returned."""
    kind = rng.choice(["search", "list", "get", "report", "stats", "patterns"])
    if kind == "search":
        hits = data(await c.call_tool("search_incidents", {"query": f"{rng.choice(words)} agent failed"}))["hits"]
        return {h["title"] for h in hits}
    if kind == "list":
        return {i["title"] for i in data(await c.call_tool("list_incidents", {"limit": 50}))["incidents"]}
    if kind == "get":
        return {data(await c.call_tool("get_incident", {"incident_id": rng.choice(ids)}))["title"]}
    if kind == "report":
        text = (await c.read_resource(f"report://{rng.choice(ids)}")).contents[0].text  # type: ignore[union-attr]
        return {line.strip("# ") for line in text.splitlines() if line.startswith("# ")}
    if kind == "stats":
        assert data(await c.call_tool("knowledge_stats", {}))["incidents"] == len(ids)
        return set()
    patterns = data(await c.call_tool("recurring_patterns", {}))
    return {m["title"] for p in patterns.get("patterns", []) for m in p.get("members", []) if "title" in m}


async def test_a_trace_posted_with_a_teams_token_lands_in_that_team_only(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.toml"
    token = {team: add_token(tokens, team) for team in TEAMS}
    trace = (FIXTURES / "otlp" / "genai_traces.jsonl").read_bytes().splitlines()[0]
    with team_server(tmp_path / "home", tokens) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as raw:
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token['beta']}"}
            assert (await raw.post("/v1/traces", content=trace, headers=headers)).status_code == 200
        for team, expected in (("beta", 1), ("alpha", 0)):
            async with client(url, token[team]) as c:
                assert data(await c.call_tool("knowledge_stats", {}))["incidents"] == expected, team


@pytest.mark.postgresql
async def test_team_mode_on_postgresql_and_a_chroma_server(
    tmp_path: Path, postgres_server: Any, chroma_server: str
) -> None:
    """The whole team configuration: records in PostgreSQL (a schema per team), vectors on a Chroma server (a
    database per team). Each team's incidents reach its own index, and neither team reads the other's."""
    databases = HomeDatabases(postgres_server)
    home = tmp_path / "home"
    extra = {
        **databases.settings(home),
        "POSTMORTEM_CHROMA_URL": chroma_server,
        "POSTMORTEM_CHROMA_DATABASE": "teams-" + tmp_path.name[-12:],
    }
    tokens = tmp_path / "tokens.toml"
    token = {team: add_token(tokens, team) for team in TEAMS}
    try:
        with team_server(home, tokens, extra) as url:
            for team in TEAMS:
                async with client(url, token[team]) as c:
                    for n in range(3):
                        title = f"{team} agent {['amber', 'birch', 'cedar'][n]} failed on its tool"
                        data(await c.call_tool("capture_incident", {"title": title, "agent": f"{team}-{n}"}))
            for team, other in (("alpha", "beta"), ("beta", "alpha")):
                async with client(url, token[team]) as c:
                    deadline = time.monotonic() + 60
                    while time.monotonic() < deadline:
                        stats = data(await c.call_tool("knowledge_stats", {}))
                        if stats["index_owner"] and stats["indexed"] == 3 and stats["index_pending"] == 0:
                            break
                        await anyio.sleep(0.2)
                    assert stats["incidents"] == 3 and stats["indexed"] == 3, stats
                    hits = data(await c.call_tool("search_incidents", {"query": "agent failed on its tool"}))["hits"]
                    assert len(hits) == 3 and all(h["title"].startswith(team) for h in hits)
                    assert not any(other in h["title"] for h in hits)
    finally:
        databases.close()


@pytest.mark.postgresql
async def test_a_team_whose_database_refused_the_first_connection_is_opened_once_it_accepts(
    tmp_path: Path, postgres_server: Any
) -> None:
    """A team's knowledge base that could not be opened (the database not up yet, or at its connection limit) stayed
    unopened until the server was restarted, though the database was back and /healthz said ok."""
    from sqlalchemy.engine import make_url

    from agent_postmortem.service.runtime import RETRY_OPEN

    url = make_url(postgres_server.create())
    role = f"pm_later_{os.getpid()}"
    postgres_server._admin("CREATE ROLE {0} LOGIN CONNECTION LIMIT 0", role)
    postgres_server._admin("ALTER DATABASE {0} OWNER TO {1}", str(url.database), role)
    tokens = tmp_path / "tokens.toml"
    alpha = add_token(tokens, "alpha")
    extra = {"POSTMORTEM_DATABASE_URL": url.set(username=role).render_as_string(hide_password=False)}
    try:
        with team_server(tmp_path / "home", tokens, extra) as served:
            async with client(served, alpha) as c:
                refused = await c.call_tool("knowledge_stats", {})
                said = refused.content[0].text  # type: ignore[union-attr]
                assert refused.is_error and "too many connections" in said and "tried again" in said, said
                postgres_server._admin("ALTER ROLE {0} CONNECTION LIMIT -1", role)
                await anyio.sleep(RETRY_OPEN + 0.5)
                captured = data(await c.call_tool("capture_incident", {"title": "Agent timed out calling the CRM"}))
                assert data(await c.call_tool("get_incident", {"incident_id": captured["id"]}))["title"]
    finally:
        postgres_server._admin("DROP DATABASE IF EXISTS {0} WITH (FORCE)", str(url.database))
        postgres_server._admin("DROP ROLE IF EXISTS {0}", role)


def test_token_add_prints_the_token_once_and_keeps_only_its_digest(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from agent_postmortem.cli.app import app

    path = tmp_path / "tokens.toml"
    made = CliRunner().invoke(app, ["token", "add", "--team", "payments", "--file", str(path)])
    assert made.exit_code == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("pm_") and token not in path.read_text()
    assert load_tokens(path)[0].team == "payments"
    bad = CliRunner().invoke(app, ["token", "add", "--team", "Not A Team", "--file", str(path)])
    assert bad.exit_code == 2 and "invalid team name" in bad.stderr and len(load_tokens(path)) == 1


def _token_add(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "postmortem"), "token", "add", "--file", str(path), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ})


@pytest.mark.parametrize(
    "args",
    [
        ["--team", "x\n"],
        ["--team", "alpha\nsha256 = 'x'"],
        ["--team", "alpha", "--note", "a\rb"],
        ["--team", "alpha", "--note", "line\nbreak"],
        ["--team", "alpha", "--note", "nul\x7fdel"],
        ["--team", "alpha", "--note", "n" * 101],
    ],
    ids=["newline-team", "injected-key", "cr-note", "newline-note", "del-note", "long-note"],
)
def test_token_add_refuses_values_that_would_break_the_file_and_leaves_it_loadable(
    tmp_path: Path, args: list[str]
) -> None:
    path = tmp_path / "tokens.toml"
    assert _token_add(path, "--team", "payments", "--note", 'say "hi" \\ there').returncode == 0
    refused = _token_add(path, *args)
    assert refused.returncode == 2 and refused.stdout == "" and "Traceback" not in refused.stderr
    assert [e.team for e in load_tokens(path)] == ["payments"]  # what `serve` reads at start
    assert 'note = "say \\"hi\\" \\\\ there"' in path.read_text()


def test_concurrent_token_adds_all_land_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    command = [str(Path(sys.executable).parent / "postmortem"), "token", "add", "--file", str(path), "--team"]
    procs = [subprocess.Popen([*command, f"team-{n}"], stdout=subprocess.PIPE, text=True) for n in range(6)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    verifier = TeamTokenVerifier(load_tokens(path))
    assert verifier.teams == [f"team-{n}" for n in range(6)]
    assert all(anyio.run(verifier.verify_token, out.strip()) is not None for out in outputs)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_a_first_token_add_creates_the_folder_the_documented_path_names(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "postmortem" / "tokens.toml"  # as in docs/http.md, on a machine that has no such folder
    made = subprocess.run(
        [str(Path(sys.executable).parent / "postmortem"), "token", "add", "--team", "payments"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "POSTMORTEM_TOKENS_FILE": str(path)},
    )
    assert made.returncode == 0, made.stderr
    assert anyio.run(TeamTokenVerifier(load_tokens(path)).verify_token, made.stdout.strip()) is not None


def _token(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "postmortem"), "token", *args, "--file", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ})


def test_token_list_shows_ids_not_tokens_and_revoke_takes_an_id_or_the_token(tmp_path: Path) -> None:
    """As found by an operator: there was `token add` only; revoking meant editing the file by hand and restarting
    every replica, and nothing showed which line was which token."""
    path = tmp_path / "tokens.toml"
    path.write_text("# the payments team's tokens\n")
    laptop = _token(path, "add", "--team", "payments", "--note", "laptop").stdout.strip()
    ci = _token(path, "add", "--team", "payments", "--note", "ci").stdout.strip()
    _token(path, "add", "--team", "search")
    listed = json.loads(_token(path, "list", "--json").stdout)["tokens"]
    assert [(t["team"], t["note"]) for t in listed] == [("payments", "laptop"), ("payments", "ci"), ("search", "")]
    shown = _token(path, "list").stdout
    assert laptop not in shown and ci not in shown and digest(laptop).hex() not in shown
    assert listed[0]["id"] == digest(laptop).hex()[:12] and listed[0]["id"] in shown
    revoked = _token(path, "revoke", listed[0]["id"])
    assert revoked.returncode == 0 and f"revoked token {listed[0]['id']} of team payments" in revoked.stderr
    assert _token(path, "revoke", ci).returncode == 0  # the token itself, as a leak report quotes it
    assert [e.team for e in load_tokens(path)] == ["search"] and path.read_text().startswith("# the payments")
    unknown = _token(path, "revoke", ci)
    assert unknown.returncode == 2 and "no token" in unknown.stderr and ci not in unknown.stderr
    assert _token(path, "revoke", listed[2]["id"]).returncode == 0  # the last one: the server then refuses all
    assert load_tokens(path, empty_ok=True) == [] and "refuses every request" in _token(path, "list").stderr


def test_a_note_keeps_no_secret_and_a_hand_written_one_reaches_no_terminal_as_escapes(tmp_path: Path) -> None:
    """`token add --note "replaces sk-..."` kept the key in the file and `token list` printed it; a note written in
    the file by hand as "\\u001b[2J" cleared the terminal of whoever ran `token list`."""
    path = tmp_path / "tokens.toml"
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"
    _token(path, "add", "--team", "payments", "--note", f"replaces {key}")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[token]]\nteam = "search"\nsha256 = "{"ab" * 32}"\nnote = "\\u001b[2Jwiped\\u0007"\n')
    assert key not in path.read_text(encoding="utf-8")
    shown = _token(path, "list").stdout
    assert key not in shown and "replaces [REDACTED:openai_key]" in shown
    assert "\x1b" not in shown and "\x07" not in shown and "[2Jwiped" in shown


async def test_a_revoked_token_is_refused_mid_session_and_a_new_one_works_without_a_restart(tmp_path: Path) -> None:
    """As found with two clients of one team on a running server: a token removed from the file worked until every
    replica restarted, and a refused call said only 'Server returned an error response'."""
    from mcp import MCPError

    path = tmp_path / "tokens.toml"
    kept, leaked = add_token(path, "alpha", "kept"), add_token(path, "alpha", "leaked")
    with serve_process(tmp_path / "home", {"POSTMORTEM_TOKENS_FILE": str(path)}) as url:
        async with client(url, kept) as good, client(url, leaked) as bad:
            captured = data(await bad.call_tool("capture_incident", {"title": "Agent leaked its bearer token"}))
            assert _token(path, "revoke", leaked).returncode == 0
            await anyio.sleep(1.2)  # the server looks at the file at most once a second
            with pytest.raises(MCPError) as refused:
                await bad.call_tool("get_incident", {"incident_id": captured["id"]})
            assert refused.value.error.code == -32001 and "revoked" in refused.value.error.message
            assert data(await good.call_tool("get_incident", {"incident_id": captured["id"]}))["id"] == captured["id"]
        fresh = add_token(path, "beta")
        await anyio.sleep(1.2)
        async with client(url, fresh) as newcomer:
            assert data(await newcomer.call_tool("knowledge_stats", {}))["incidents"] == 0  # its own team


def test_a_team_the_tokens_file_does_not_have_is_refused_before_anything_is_read_or_stored(tmp_path: Path) -> None:
    """POSTMORTEM_TEAM=gamma (a typo, or a team no token was made for) listed an empty knowledge base that no server
    serves, and a capture was stored there; the file's teams are named, and `token add` still makes the team."""
    from tests.processes import postmortem

    path, home = tmp_path / "tokens.toml", tmp_path / "home"
    assert _token_add(path, "--team", "alpha").returncode == 0
    env = {"POSTMORTEM_TOKENS_FILE": str(path), "POSTMORTEM_TEAM": "gamma"}
    for args in (["list"], ["capture", "--title", "Agent timed out calling the CRM"]):
        refused = postmortem(*args, home=home, env=env)
        said = refused.stderr.decode()
        assert refused.returncode == 2 and refused.stdout == b"" and said.count("\n") == 1, said
        assert f"POSTMORTEM_TEAM=gamma is no team of POSTMORTEM_TOKENS_FILE ({path}), whose teams are alpha" in said
    assert not (home / "teams" / "gamma").exists()
    made = subprocess.run(
        [str(Path(sys.executable).parent / "postmortem"), "token", "add", "--team", "gamma"],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert postmortem("list", home=home, env=env).returncode == 0
    assert postmortem("list", home=home, env={**env, "POSTMORTEM_TEAM": ""}).returncode == 0  # the default team
