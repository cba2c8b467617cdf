"""What tests share besides fixtures (conftest.py): where the data is, a scripted LLM, services on a home (whose
records live where the store contract's `database` fixture says), and the incidents, drafts and runs tests make.
Test modules import from here, never from each other."""

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from agent_postmortem.config import Settings
from agent_postmortem.errors import DraftError, validation_problems
from agent_postmortem.evals import postgres
from agent_postmortem.mcp.server import create_server
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import AnalysisDraft, DraftFactor, DraftWhy, IncidentCreate, ProposedAction
from agent_postmortem.store.records import db
from agent_postmortem.store.search.embedding import HashEmbedder

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
SNAPSHOTS = TESTS / "snapshots"
SEED = ROOT / "store" / "seed" / "incidents.jsonl"

T = TypeVar("T", bound=BaseModel)
FIXED_NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MODES = pytest.mark.parametrize("mode", ["auto", "legacy"])  # the MCP protocol eras: 2026-07-28 and 2025-11-25


class FakeLLM:
    """A queue of canned outputs (models or exceptions) and a log of calls."""

    backend = "fake"
    model = "fake-model"

    def __init__(self, *outputs: BaseModel | Exception) -> None:
        self.queue = list(outputs)
        self.calls: list[tuple[str, str, type[BaseModel]]] = []

    def enqueue(self, *outputs: BaseModel | Exception) -> None:
        self.queue.extend(outputs)

    def parse(self, *, system: str, user: str, output: type[T]) -> T:
        self.calls.append((system, user, output))
        if not self.queue:
            raise AssertionError("FakeLLM queue empty")
        item = self.queue.pop(0)
        if isinstance(item, Exception):
            raise item
        if isinstance(item, output):
            return item
        try:  # validated against `output` as a real backend's answer is (a draft: with the draft guard too)
            return output.model_validate(item.model_dump())
        except ValidationError as e:
            raise DraftError(
                f"the model's answer was not a valid {output.__name__} ({validation_problems(e)})"
            ) from None


class HomeDatabases:
    """Where `make_service` keeps each home's records: SQLite in the home, or a fresh PostgreSQL database per home
    (two services on one home share it, as two servers on one data directory would)."""

    def __init__(self, server: postgres.Databases | None = None) -> None:
        self.server = server
        self._urls: dict[Path, str] = {}
        self._services: list[PostmortemService] = []
        self._engines: list[Engine] = []

    def url(self, home: Path, *, migrated: bool = True) -> str:
        if self.server is None:
            home.mkdir(parents=True, exist_ok=True)
            return db.sqlite_url(home)
        if home not in self._urls:
            self._urls[home] = self.server.create(migrated=migrated)
        return self._urls[home]

    def engine(self, home: Path, *, migrated: bool = True) -> Engine:
        """An engine on the home's database, disposed at the end of the test."""
        engine = db.make_engine(self.url(home, migrated=migrated))
        self._engines.append(engine)
        return engine

    def settings(self, home: Path) -> dict[str, str]:
        return {} if self.server is None else {"POSTMORTEM_DATABASE_URL": self.url(home)}

    def keep(self, service: PostmortemService) -> None:
        self._services.append(service)

    def kept(self) -> int:
        return len(self._services)

    def close_since(self, kept: int) -> None:
        """Close the services made since `kept` were: each held its database, its index and its files open until
        the process ended, and a long run in one worker reached descriptor 1024 (where select() refuses one)."""
        while len(self._services) > kept:
            self._services.pop().close()

    def close(self) -> None:
        self.close_since(0)  # no connection outlives its test (or its database)
        for engine in self._engines:
            engine.dispose()
        if self.server is not None:
            self.server.drop_all()


NO_POSTGRES = (
    "PostgreSQL is not installed, so the store contract ran on SQLite only (Debian: apt-get install postgresql; "
    "make test does it as root; or set POSTMORTEM_TEST_DATABASE_URL)"
)


def missing_tool(reason: str) -> None:
    """A test whose tool (fiu-run, Node.js) is not installed: skipped with that reason; under CI (`CI=1`, set by
    .ci/run) a failure, so that CI never passes with part of the suite skipped."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


HOMES = [HomeDatabases()]  # where make_service keeps records now: SQLite unless a test runs the store contract


@contextmanager
def keeping_records_in(databases: HomeDatabases) -> Iterator[HomeDatabases]:
    """Every `make_service` inside keeps its records in `databases`; they are closed at the end."""
    HOMES[0] = databases
    try:
        yield databases
    finally:
        HOMES[0] = HomeDatabases()
        databases.close()


def make_service(
    home: Path,
    *,
    embedder: Any = None,
    llm: Any = None,
    clock: Callable[[], datetime] | None = None,
    nonce: Callable[[], str] | None = None,
    chroma_url: str | None = None,
    exact_limit: int | None = None,
    env: dict[str, str] | None = None,
) -> PostmortemService:
    """The service on `home`; its records where the store contract's `database` says (SQLite by default); its
    index on the Chroma server at `chroma_url` (a database of its own per home) or embedded; `exact_limit=0` sends
    dense search through the index. `env` adds settings (POSTMORTEM_LLM=openai: a configured model, which is `llm`
    when given, else the backend those settings choose)."""
    settings = Settings.from_env({**service_env(home, chroma_url), **HOMES[0].settings(home), **(env or {})})
    chosen = None if llm is None and env is not None else (lambda: llm)
    service = build_service(
        settings, embedder=embedder or HashEmbedder(), llm=chosen, clock=clock, nonce=nonce, claim_index=True
    )
    HOMES[0].keep(service)
    if exact_limit is not None:
        service.knowledge.exact_limit = exact_limit
    return service


def service_env(home: Path, chroma_url: str | None = None) -> dict[str, str]:
    """The settings of a service on `home`, with its index on the Chroma server at `chroma_url` when given."""
    env = {"POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none"}
    if chroma_url is not None:
        env["POSTMORTEM_CHROMA_URL"] = chroma_url
        env["POSTMORTEM_CHROMA_DATABASE"] = "test-" + hashlib.sha256(str(home).encode()).hexdigest()[:16]
    return env


CAPTURE = {
    "title": "Booking agent got 429 Too Many Requests from the fares API",
    "description": "Every retry went out immediately from 40 workers sharing one key.",
    "error_type": "RateLimitError",
    "error_message": "429 Too Many Requests: quota exceeded",
    "agent": "trip-planner",
    "tool": "fares.search_flights",
    "user_facing": True,
}
FARES_429 = {k: v for k, v in CAPTURE.items() if k != "user_facing"}  # the learned classifier reads rate_limit


WHYS = (
    "The agent kept calling the API after it failed.",
    "Its retry loop had no backoff.",
    "The client library retried forever by default.",
    "Nobody set a retry budget for the shared quota.",
    "The platform allowed tools to ship without limits.",
)


def draft() -> AnalysisDraft:
    return AnalysisDraft(
        whys=[DraftWhy(question=f"Why {n}?", answer=answer) for n, answer in enumerate(WHYS, 1)],
        root_cause="The system allowed the agent unbounded retries against a shared fares API quota (rate limit).",
        contributing_factors=[DraftFactor(factor="no jitter", effect="synchronised bursts")],
        action_items=[
            ProposedAction(
                title="Add exponential backoff with jitter to fares calls",
                owner_role="agent-platform team",
                priority="P1",
                due_in_days=14,
                addresses="root cause",
            )
        ],
        model_behavior=None,
        determinism="probabilistic",
        runs_to_verify=50,
        responsible="fares client retry loop",
        decisive_step=None,
    )


def server_for(service: PostmortemService):  # type: ignore[no-untyped-def]
    """The MCP server over a service, for the in-memory client."""
    return create_server(lambda: service)


def capture(service: PostmortemService, title: str = "Fares API answered 429 Too Many Requests", **kw: object) -> str:
    kw.setdefault("agent", title[:60])  # a distinct failure signature per title: these are different incidents
    return service.capture_incident(IncidentCreate(title=title, error_type="RateLimitError", **kw)).id  # type: ignore[arg-type]


TASK = "How many studio albums did the band release between 2000 and 2009?"


def run_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": "run-1",
        "text": TASK,
        "ground_truth_answer": "never stored",
        "trace": [
            {"step": 0, "role": "user", "name": "human", "content": TASK},
            {"step": 1, "role": "Planner (-> Researcher)", "agent": "Planner", "content": "Please look this up."},
            {"step": 2, "agent": "Researcher", "content": "Let's assume the band released 2 albums in total."},
            {"step": 3, "agent": "Computer_terminal", "content": "exitcode: 1 (execution failed)\nTraceback: KeyError"},
            {"step": 4, "agent": "Verifier", "content": "That looks right to me. TERMINATE"},
        ],
        "labels": {"mistake_agent": "Researcher", "mistake_step": 2},
    }
    return {**row, **overrides}


# Markdown and HTML constructs, links, Mermaid directives and control characters that a stored value must never
# turn live in a rendered report (the report tests, and the web view's stored-XSS test in a real browser).
HOSTILE = [
    "\n", "\r\n", "\r", "\n\n", "\u2028", "\x0b", "\x0c", "\x85", "\u00a0", "\t", "    ",
    "`", "``", "```", "~~~", "~", "~~", "*", "**", "_", "__", "\\", "\\\n", "&", "&lt;", "&#60;", "&amp;", "#", " #",
    "<script>alert(1)</script>", "<img src=http://e.vil/x>", "<!--", "</p>", "<div>", "<br>",
    "<a href='javascript:alert(1)'>x</a>", "<javascript:alert(1)>", "<http://e.vil/x>",
    "[r]: javascript:alert(1)", "[x][r]", "[r]", "[x](javascript:alert(1))", "![x](http://e.vil/x.png)", "[ ]", "[x]",
    "# ", "## h", "- ", "+ ", "* ", "1. ", "2) ", "> ", "---", "===", "***", "___", "|", "| --- |", ":-:",
    "%%{init:{'themeCSS':'*{background:url(//e.vil/x)}'}}%%", "x", "429",
]  # fmt: skip


async def tool_arguments(client: Any) -> dict[str, Any]:
    """A valid value for every required argument of every MCP tool, after capturing an incident and adding an action
    item through `client` (an `mcp.Client`): tests that call each tool take the required ones from here."""
    incident = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]
    added = await client.call_tool("add_action_item", {"incident_id": incident, "title": "Add backoff"})
    return {
        "incident_id": incident,
        "action_id": added.structured_content["id"],
        "title": "Checkout agent double-charged a card",
        "description": "what happened",
        "text": "The retry loop had no cap.",
        "analysis_json": draft().model_dump_json(),
        "decision": "reject",
        **dict.fromkeys(("before_failures", "before_trials", "after_failures", "after_trials"), 10),
    }
