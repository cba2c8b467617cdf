"""`postmortem bench load`: N stateless HTTP replicas of `postmortem serve` on one shared home (SQLite in WAL, or
POSTMORTEM_DATABASE_URL), optionally with the index on a Chroma server, driven by concurrent clients with the real
MCP client over loopback. Every client sends each request to the next replica in turn, so consecutive requests of
one client land on different processes.

It reports errors, lost captures (every acknowledged capture must be in the records afterwards, and, once the
index owner has drained the outbox, in the vector index), p50/p95/max latency per operation and throughput.
Bounded: a fixed number of operations and a deadline; nothing leaves loopback.
"""

import asyncio
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_postmortem.evals.replicas import client, replicas

WORDS = (
    "refund checkout planner browser summariser ledger invoice crawler scheduler travel booking support triage "
    "calendar translator coder reviewer retriever payments inventory shipping"
).split()
FAILURES = [
    "retried without backoff and hit the rate limit",
    "invented a policy that does not exist",
    "timed out waiting for the tool",
    "wrote a duplicate record after a retry",
    "followed an instruction hidden in a web page",
    "looped on the same tool call",
    "returned malformed JSON to the caller",
    "leaked an API key into the transcript",
]


def operations(captures: int, searches: int, seed: int = 0, team: str = "") -> list[tuple[str, dict[str, Any]]]:
    """The work, interleaved: unique captures (titled with `team`, if any) and searches for the kinds of failure
    captured."""
    rng = random.Random(seed)
    work: list[tuple[str, dict[str, Any]]] = []
    tag = f"[{team}] " if team else ""
    for n in range(captures):
        agent, other = rng.sample(WORDS, 2)
        failure = FAILURES[n % len(FAILURES)]
        title = f"{tag}{agent} agent {failure} ({other} run {n})"
        work.append(("capture", {"title": title, "agent": f"{agent}-agent"}))
    for _ in range(searches):
        work.append(("search", {"query": f"{rng.choice(WORDS)} agent {rng.choice(FAILURES)}", "limit": 5}))
    rng.shuffle(work)
    return work


async def drive(
    ports: list[int],
    tokens: dict[str, str],
    work: dict[str, list[tuple[str, dict[str, Any]]]],
    *,
    clients: int,
    deadline: float,
) -> dict[str, Any]:
    """Run each team's `work` with its token over `clients` concurrent MCP clients (shared out among the teams)
    until done or `deadline` (monotonic). A search hit titled with another team's tag is a cross-team row."""
    teams = sorted(tokens)
    queues = {team: iter(work[team]) for team in teams}
    latencies: dict[str, list[float]] = {"capture": [], "search": []}
    acknowledged: dict[str, list[str]] = {team: [] for team in teams}
    errors: list[str] = []
    cross_team = 0
    session_ids = 0

    async def worker(offset: int) -> None:
        nonlocal session_ids, cross_team
        team = teams[offset % len(teams)]
        others = [f"[{t}]" for t in teams if t != team and t]
        rotated = ports[offset % len(ports) :] + ports[: offset % len(ports)]
        async with client(rotated, tokens[team]) as (mcp, transport):
            for kind, arguments in queues[team]:
                if time.monotonic() > deadline:
                    return
                tool = "capture_incident" if kind == "capture" else "search_incidents"
                start = time.perf_counter()
                try:
                    result = await mcp.call_tool(tool, arguments)
                except Exception as e:  # noqa: BLE001 - every failure is counted and reported
                    errors.append(f"{tool}: {type(e).__name__}: {e}"[:300])
                    continue
                latencies[kind].append(time.perf_counter() - start)
                if result.is_error:
                    errors.append(f"{tool}: {str(result.content)[:300]}")
                elif kind == "capture":
                    acknowledged[team].append(result.structured_content["id"])  # type: ignore[index]
                else:
                    hits = (result.structured_content or {}).get("hits", [])
                    cross_team += sum(1 for h in hits if any(o in h.get("title", "") for o in others))
            session_ids += sum(1 for _, headers in transport.seen if "mcp-session-id" in headers)

    start = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(clients)))
    return {
        "seconds": time.perf_counter() - start,
        "latencies": latencies,
        "acknowledged": acknowledged,
        "errors": errors,
        "cross_team": cross_team,
        "session_ids": session_ids,
    }


def _summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"count": 0}
    ms = sorted(v * 1000 for v in values)
    cut = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
    return {"count": len(ms), "p50_ms": round(cut[49], 1), "p95_ms": round(cut[94], 1), "max_ms": round(ms[-1], 1)}


async def _index_caught_up(ports: list[int], token: str, seconds: float = 120) -> dict[str, Any]:
    """The index owner's knowledge_stats once it has drained the outbox (or when `seconds` have passed)."""
    found: dict[str, Any] = {}
    before: dict[str, Any] = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for port in ports:  # one replica at a time: only the owner knows the index
            async with client([port], token) as (mcp, _):
                found = (await mcp.call_tool("knowledge_stats", {})).structured_content or {}
            if found.get("index_owner"):
                break
        # two readings alike: the count and the outbox are read apart, while the owner may be mid-drain
        settled = found.get("index_owner") and found.get("index_pending") == 0
        if settled and found.get("indexed") == before.get("indexed"):
            return found
        before = found if settled else {}
        await asyncio.sleep(0.5)
    return found


def _logged_errors(home: Path) -> list[str]:
    """The errors the replicas logged (the first lines of each, with the end of its traceback)."""
    found = []
    for log in sorted(home.glob("replica-*.log")):
        for block in log.read_text(encoding="utf-8", errors="replace").split("\nERROR ")[1:]:
            lines = block.splitlines()
            found.append("\n".join(["ERROR " + lines[0], *lines[-6:]]))
    return found


def run(
    *,
    replicas_count: int = 2,
    clients: int = 8,
    captures: int = 2000,
    searches: int = 2000,
    teams: int = 1,
    chroma_url: str | None = None,
    timeout: float = 1800,
    progress: Callable[[str], None] = lambda stage: None,
) -> dict[str, Any]:
    """With `teams` > 1 the replicas serve a tokens file of that many teams; the work is shared out among them and
    each team's captures are looked for in its own store."""
    from agent_postmortem.config import Settings
    from agent_postmortem.http.teams import add_token
    from agent_postmortem.store.records import db
    from agent_postmortem.store.records.incidents import IncidentStore

    env = {"POSTMORTEM_DEDUPE_HOURS": "0"}  # every capture is a new incident, so each can be found again
    if chroma_url:
        env |= {"POSTMORTEM_CHROMA_URL": chroma_url, "POSTMORTEM_CHROMA_DATABASE": f"bench-{secrets.token_hex(6)}"}
    with tempfile.TemporaryDirectory(prefix="postmortem-load-") as tmp:
        home = Path(tmp)
        if teams > 1:
            names = [f"team-{chr(ord('a') + n)}" for n in range(teams)]
            tokens = {name: add_token(home / "tokens.toml", name) for name in names}
            env["POSTMORTEM_TOKENS_FILE"] = str(home / "tokens.toml")
        else:
            tokens = {"": secrets.token_urlsafe(32)}
            env["POSTMORTEM_HTTP_TOKEN"] = tokens[""]
        work = {
            team: operations(captures // len(tokens), searches // len(tokens), seed=n, team=team)
            for n, team in enumerate(sorted(tokens))
        }
        with replicas(replicas_count, home=home, env=env) as ports:
            progress("warming up the replicas")
            warm = {team: [("search", {"query": "warm up", "limit": 1})] * replicas_count for team in tokens}
            asyncio.run(drive(ports, tokens, warm, clients=len(tokens), deadline=time.monotonic() + 300))
            progress(f"{captures} captures and {searches} searches over {clients} clients, {len(tokens)} team(s)")
            done = asyncio.run(drive(ports, tokens, work, clients=clients, deadline=time.monotonic() + timeout))
            progress("waiting for the index owners to drain the outbox")
            stats = {team: asyncio.run(_index_caught_up(ports, token)) for team, token in tokens.items()}
        server_errors = _logged_errors(home)
        lost, records = 0, 0
        base = Settings.from_env({**os.environ, "POSTMORTEM_HOME": str(home)})
        for team in tokens:
            settings = base.for_team(team or "default")
            url = db.team_url(base.database_url, settings.team) if base.database_url else None
            engine = db.make_engine(url or db.sqlite_url(settings.store_home))
            stored = set(IncidentStore(engine).all_ids())
            engine.dispose()
            lost += len(set(done["acknowledged"][team]) - stored)
            records += len(stored)
    acknowledged = sum(len(v) for v in done["acknowledged"].values())
    operations_done = sum(len(v) for v in done["latencies"].values())
    return {
        "replicas": replicas_count,
        "clients": clients,
        "teams": len(tokens),
        "index": "chroma server" if chroma_url else "embedded",
        "records_in": "postgresql" if base.database_url else "sqlite",
        "planned": {"captures": captures, "searches": searches},
        "completed": {k: len(v) for k, v in done["latencies"].items()},
        "errors": len(done["errors"]),
        "error_samples": done["errors"][:5],
        "server_error_samples": server_errors[:3],
        "acknowledged_captures": acknowledged,
        "lost_captures": lost,
        "cross_team_rows": done["cross_team"],
        "records": records,
        "indexed": sum(int(s.get("indexed") or 0) for s in stats.values()),
        "index_pending": sum(int(s.get("index_pending") or 0) for s in stats.values()),
        "mcp_session_ids_issued": done["session_ids"],
        "latency": {k: _summary(v) for k, v in done["latencies"].items()},
        "seconds": round(done["seconds"], 1),
        "throughput_ops_per_s": round(operations_done / done["seconds"], 1) if done["seconds"] else 0.0,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }
