"""Teams over real HTTP with the MCP client: a team never sees another team's incidents or traces.

Two teams capture incidents through the same server; then each makes random reads of every kind (search, list,
get by id, including ids that belong to the other team, resources, stats, patterns) and no answer holds a row of
the other team. Reads per team: POSTMORTEM_TEAM_READS (default 1,000). Also the whole team configuration on
PostgreSQL and a Chroma server, and a team whose database refused its first connection."""

import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from agent_postmortem.http.teams import add_token
from tests.factories import FIXTURES, HomeDatabases
from tests.http.team_server import TEAMS, client, data, team_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
READS = int(os.environ.get("POSTMORTEM_TEAM_READS", "1000"))


async def test_a_stopped_team_server_leaves_no_index_keeper_running(tmp_path: Path, database: HomeDatabases) -> None:
    """Each team's index keeper went on after its server stopped: on PostgreSQL it logged 'could not keep the vector
    index' after pytest's summary, the session's cluster stopped under it."""
    tokens = tmp_path / "tokens.toml"
    token = add_token(tokens, "alpha")
    before = set(threading.enumerate())
    with team_server(tmp_path / "home", tokens, database.settings(tmp_path / "home")) as url:
        async with client(url, token) as c:
            data(await c.call_tool("capture_incident", {"title": "alpha team's ledger agent failed"}))
        deadline = time.monotonic() + 30
        while not (keepers := [t for t in set(threading.enumerate()) - before if t.name == "postmortem-index"]):
            assert time.monotonic() < deadline  # started once a team's service is warm
            await anyio.sleep(0.05)
    assert not [t for t in keepers if t.is_alive()]


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
                assert refused.is_error and "at its connection limit" in said and "tried again" in said, said
                assert role not in said and str(url.port) not in said, said  # the reason is the server log's
                postgres_server._admin("ALTER ROLE {0} CONNECTION LIMIT -1", role)
                await anyio.sleep(RETRY_OPEN + 0.5)
                captured = data(await c.call_tool("capture_incident", {"title": "Agent timed out calling the CRM"}))
                assert data(await c.call_tool("get_incident", {"incident_id": captured["id"]}))["title"]
    finally:
        postgres_server._admin("DROP DATABASE IF EXISTS {0} WITH (FORCE)", str(url.database))
        postgres_server._admin("DROP ROLE IF EXISTS {0}", role)
