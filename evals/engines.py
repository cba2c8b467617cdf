"""Capture and search latency with the records in SQLite and in PostgreSQL, side by side in one run.

`python -m agent_postmortem.evals.engines [--captures 300] [--searches 100] [--postgres URL]` captures the same
incidents through `PostmortemService.capture_incident` into a fresh SQLite home and into a fresh PostgreSQL database
(given, or a throwaway local cluster with fsync on, like SQLite's synchronous=FULL), then runs the same searches on
each, and prints p50/p95 milliseconds as JSON. Both own their embedded chromadb index (each capture is indexed in the
call). The hash embedder keeps the model out of the figures: they are about the record store.
"""

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent_postmortem.config import Settings
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.search.embedding import HashEmbedder

_TOOLS = ("flights.search", "ledger.sync", "crm.update", "mail.send", "docs.fetch")
_ERRORS = ("TimeoutError", "RateLimitError", "ValidationError", "PermissionError")


def _incident(n: int) -> IncidentCreate:
    tool, error = _TOOLS[n % len(_TOOLS)], _ERRORS[n % len(_ERRORS)]
    return IncidentCreate(
        title=f"Agent {n % 17} failed calling {tool} with {error}",
        agent=f"agent-{n}",  # a distinct failure signature each: captures, not repeats
        tool=tool,
        error_type=error,
        error_message=f"{error}: request {n} to {tool} failed after {n % 30} s",
    )


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
    }


def measure(home: Path, database_url: str | None, *, captures: int, searches: int) -> dict[str, Any]:
    env = {"POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none"}
    if database_url:
        env["POSTMORTEM_DATABASE_URL"] = database_url
    service = build_service(Settings.from_env(env), embedder=HashEmbedder(), claim_index=True)
    try:
        capture_times = []
        for n in range(captures):
            start = time.perf_counter()
            service.capture_incident(_incident(n))
            capture_times.append(time.perf_counter() - start)
        search_times = []
        for n in range(searches):
            start = time.perf_counter()
            service.search_incidents(query=f"{_ERRORS[n % 4]} calling {_TOOLS[n % 5]} request {n}")
            search_times.append(time.perf_counter() - start)
        return {"capture": _ms(capture_times), "search": _ms(search_times), "incidents": service.store.count()}
    finally:
        service.knowledge.release_index()
        service.store.engine.dispose()


@contextlib.contextmanager
def _postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from agent_postmortem.evals import postgres  # a development checkout: Debian's postgresql-15, as the tests use

    with postgres.cluster(durable=True) as admin:
        yield postgres.Databases(admin).create()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=300)
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument("--postgres", help="an empty database's URL (default: a throwaway local cluster)")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="postmortem-engines-") as folder, _postgres(args.postgres) as url:
        for name, database_url in (("sqlite", None), ("postgresql", url)):
            result[name] = measure(Path(folder) / name, database_url, captures=args.captures, searches=args.searches)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
