"""The team server the team tests talk to: a server in a thread whose tokens file maps each token to its team, an
MCP client holding one team's token, and the structured answer of a tool call."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from agent_postmortem.config import Settings
from agent_postmortem.evals.replicas import free_port, in_thread
from agent_postmortem.http.app import http_app
from agent_postmortem.http.security import http_security
from agent_postmortem.http.teams import TeamServices, TeamTokenVerifier, load_tokens
from agent_postmortem.store.search.embedding import HashEmbedder

TEAMS = ("alpha", "beta")


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
    try:
        with in_thread(app, port, lifespan="on") as url:
            yield url
    finally:
        teams.close()  # each team's index keeper: the database it keeps the index of may be gone next


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
