"""The assistant path end to end, as an MCP client lives it: the real `postmortem serve` over stdio (POSTMORTEM_LLM
auto, no endpoint, a client without sampling, as most IDE clients are), `draft_analysis` answers with the grounded
context and instructions, a writer reads that text and its analysis is stored through `record_analysis` (one more
try with the rejection when it is refused, as an assistant would).

The writer is any `LLM`: the case's reference analysis behind that interface (a scripted model: `postmortem eval
--backend assistant`), or the configured model playing the assistant (`--backend assistant-model`). `postmortem
bench assistant` measures how long draft_analysis takes to answer on this path.
"""

import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from mcp import Client, MCPError, StdioServerParameters
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from agent_postmortem.config import Settings
from agent_postmortem.errors import DraftError
from agent_postmortem.llm.base import LLM
from agent_postmortem.store.models import Analysis, AnalysisDraft, IncidentCreate

T = TypeVar("T", bound=BaseModel)

SYSTEM = (
    "You are an AI assistant connected to the agent-postmortem MCP server. Its draft_analysis tool answered with the "
    "text in the user message. Do what it asks: answer with the analysis as one JSON object, which is passed to "
    "record_analysis as analysis_json."
)


class Scripted:
    """A writer that answers with a given analysis whatever it is shown, and keeps what it was shown."""

    backend = "assistant"

    def __init__(self, draft: AnalysisDraft, model: str = "reference analysis (scripted)") -> None:
        self.draft = draft
        self.model = model
        self.shown: list[str] = []

    def parse(self, *, system: str, user: str, output: type[T]) -> T:
        self.shown.append(user)
        assert isinstance(self.draft, output)
        return self.draft


@dataclass(frozen=True)
class Written:
    analysis: Analysis
    seconds: float  # draft_analysis, from the call to its answer
    context_chars: int  # the text the writer was shown


def server(home: Path, settings: Settings) -> StdioServerParameters:
    """`postmortem serve` on `home` as a client starts it, with no model configured (none of the caller's OPENAI_*
    settings), offline, with the caller's embedding model."""
    env = {
        "POSTMORTEM_HOME": str(home),
        "POSTMORTEM_LLM": "auto",
        "POSTMORTEM_MODEL_CACHE": str(settings.model_cache),
        "POSTMORTEM_EMBEDDER": settings.embedder,
        "HF_HUB_OFFLINE": "1",
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ},
    }
    code = "from agent_postmortem.cli import main; main()"
    return StdioServerParameters(command=sys.executable, args=["-c", code, "serve"], env=env, cwd=str(home))


def write(home: Path, incident_id: str, writer: LLM, settings: Settings) -> Written:
    """The analysis `writer` wrote on the assistant path for `incident_id`, as stored by record_analysis. A server
    that fails (exits, breaks the protocol) is a failed draft that says so, not the end of the eval."""
    try:
        return anyio.run(_write, server(home, settings), incident_id, writer)
    except (MCPError, OSError, ExceptionGroup) as e:
        raise DraftError(f"the MCP server failed: {type(e).__name__}: {str(e)[:200]}") from None


async def _write(params: StdioServerParameters, incident_id: str, writer: LLM) -> Written:
    async with Client(params, mode="legacy") as client:  # the handshake era, without sampling: as IDE clients are
        started = time.perf_counter()
        asked = await client.call_tool("draft_analysis", {"incident_id": incident_id})
        seconds = time.perf_counter() - started
        if asked.is_error or (asked.structured_content or {}).get("status") != "write_it_yourself":
            raise DraftError(f"draft_analysis did not hand the analysis to the assistant: {_text(asked)[:300]}")
        shown = _text(asked)
        recorded = await _record(client, incident_id, writer, shown)
        if recorded.is_error:  # the assistant reads the rejection and tries once more
            recorded = await _record(client, incident_id, writer, f"{shown}\n\nrecord_analysis said: {_text(recorded)}")
        if recorded.is_error:
            raise DraftError(f"record_analysis refused the analysis twice: {_text(recorded)[:300]}")
    return Written(Analysis.model_validate(recorded.structured_content), seconds, len(shown))


async def _record(client: Client, incident_id: str, writer: LLM, shown: str) -> CallToolResult:
    draft = await anyio.to_thread.run_sync(lambda: writer.parse(system=SYSTEM, user=shown, output=AnalysisDraft))
    arguments = {"incident_id": incident_id, "analysis_json": draft.model_dump_json()}
    return await client.call_tool("record_analysis", arguments)


def _text(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


BENCH_INCIDENT = IncidentCreate(
    title="Travel agent kept retrying flight search until the fares API throttled every user",
    description="Each conversation called fares.search_flights 6-9 times in a minute after a 503, without backoff.",
    error_type="RateLimitError",
    error_message="429 Too Many Requests: quota of 300 requests/minute exceeded",
    agent="trip-planner",
    tool="fares.search_flights",
    user_facing=True,
)


def bench(seed: Path, *, calls: int = 20, settings: Settings | None = None) -> dict[str, Any]:
    """draft_analysis on the assistant path over stdio, on a knowledge base of the seed incidents plus one capture:
    the first call after the handshake (the server still loading the knowledge base) and `calls` more."""
    settings = settings or Settings.from_env()
    with tempfile.TemporaryDirectory(prefix="postmortem-bench-assistant-", ignore_cleanup_errors=True) as folder:
        home = Path(folder)
        incident_id = _prepare(home, seed, settings)
        return anyio.run(_bench, server(home, settings), incident_id, calls)


def _prepare(home: Path, seed: Path, settings: Settings) -> str:
    from agent_postmortem.ingest.jsonl import read_incidents
    from agent_postmortem.service.runtime import build_service

    service = build_service(
        Settings.from_env(
            {
                "POSTMORTEM_HOME": str(home),
                "POSTMORTEM_LLM": "none",
                "POSTMORTEM_MODEL_CACHE": str(settings.model_cache),
            }
        )
    )
    try:
        service.import_incidents(read_incidents(seed))
        return service.capture_incident(BENCH_INCIDENT).id
    finally:
        service.knowledge.release_index()
        service.store.engine.dispose()


async def _bench(params: StdioServerParameters, incident_id: str, calls: int) -> dict[str, Any]:
    started = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        connected = time.perf_counter() - started
        times: list[float] = []
        sizes: list[int] = []
        for _ in range(calls + 1):
            t = time.perf_counter()
            asked = await client.call_tool("draft_analysis", {"incident_id": incident_id})
            times.append(time.perf_counter() - t)
            if asked.is_error or (asked.structured_content or {}).get("status") != "write_it_yourself":
                raise DraftError(f"draft_analysis did not hand the analysis to the assistant: {_text(asked)[:300]}")
            sizes.append(len(_text(asked)))
    warm = sorted(times[1:])
    return {
        "handshake_s": round(connected, 3),
        "first_call_s": round(times[0], 3),
        "calls": calls,
        "p50_s": round(statistics.median(warm), 3) if warm else None,
        "p95_s": round(warm[int(0.95 * (len(warm) - 1))], 3) if warm else None,
        "max_s": round(warm[-1], 3) if warm else None,
        "text_chars": sizes[0],
    }
