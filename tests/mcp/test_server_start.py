"""A server that starts before its knowledge base is ready: the handshake does not wait for it, and an empty one is
named, per team, with the command that fills it."""

import threading
import time
from pathlib import Path

import pytest
from mcp import Client

from agent_postmortem.mcp.server import create_server
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.runtime import LazyService
from tests.factories import make_service

pytestmark = pytest.mark.anyio


async def test_handshake_does_not_wait_for_the_knowledge_base(service: PostmortemService) -> None:
    release = threading.Event()

    def slow_build() -> PostmortemService:
        release.wait(30)  # stands in for torch, the model and chromadb still loading
        return service

    lazy = LazyService(slow_build)
    async with Client(create_server(lazy.get, on_start=lazy.start)) as client:
        tools = await client.list_tools()  # answered while the build is still blocked
        assert not release.is_set() and tools.tools
        release.set()
        result = await client.call_tool("knowledge_stats", {})
    lazy.close()
    assert not result.is_error


def test_a_closed_service_stops_keeping_the_index_and_lets_it_go(tmp_path: Path) -> None:
    """A server run in a process that goes on (the team tests' server in a thread) left its index keeper running
    once stopped: on PostgreSQL it logged 'could not keep the vector index' after pytest's summary, the database
    gone. `close()` ends the keeper and lets another process own the index."""
    before = set(threading.enumerate())
    lazy = LazyService(lambda: make_service(tmp_path / "home"))
    service = lazy.get()
    deadline = time.monotonic() + 30
    while not (keepers := [t for t in set(threading.enumerate()) - before if t.name == "postmortem-index"]):
        assert time.monotonic() < deadline  # started once the service is warm
        time.sleep(0.05)
    while not service.knowledge.owns_index:  # the keeper takes it: no other process has it
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [keeper] = keepers
    lazy.close()
    assert not keeper.is_alive() and not service.knowledge.owns_index


def test_an_empty_team_knowledge_base_is_named_with_the_command_that_fills_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server of two teams warned 'the knowledge base is empty ... `postmortem import FILE.jsonl`' twice: it did not
    say whose, and the command it gave loads the default knowledge base, not the team's."""
    for team in ("default", "payments"):
        lazy = LazyService(lambda home=tmp_path / team: make_service(home), keep_index=False, team=team)
        with caplog.at_level("WARNING", logger="agent_postmortem.service.lazy"):
            lazy.get()
            deadline = time.monotonic() + 30  # said by the opening thread just after the service is ready
            while sum("is empty" in r.getMessage() for r in caplog.records) < 1 + (team != "default"):
                assert time.monotonic() < deadline, caplog.records
                time.sleep(0.05)
    said = [r.getMessage() for r in caplog.records if "is empty" in r.getMessage()]
    assert said[0].startswith("the knowledge base is empty") and "`postmortem import FILE.jsonl`" in said[0], said
    assert said[1].startswith("team payments's knowledge base is empty"), said
    assert "`POSTMORTEM_TEAM=payments postmortem import FILE.jsonl`" in said[1], said
    assert "`POSTMORTEM_TEAM=payments postmortem init --seed`" in said[1] and len(said) == 2, said


def test_a_database_that_cannot_be_reached_is_said_once_with_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """The server's log carried a whole traceback for a database that was down, and a client read the store's sentence
    wrapped in a second one ("The knowledge base could not be opened: The server's knowledge base is unreachable")."""
    from sqlalchemy.exc import OperationalError

    from agent_postmortem.errors import KnowledgeBaseUnavailable, shown_on

    refused = 'connection failed: connection to server at "127.0.0.1", port 5 failed: Connection refused'

    def down() -> PostmortemService:
        raise OperationalError(None, {}, Exception(refused))

    lazy = LazyService(down)
    with shown_on("mcp"), caplog.at_level("ERROR"), pytest.raises(KnowledgeBaseUnavailable) as e:
        lazy.get(timeout=10)
    said = str(e.value)
    assert said.startswith("The server's knowledge base is unreachable: its incident store could not connect"), said
    assert "could not be opened" not in said and said.endswith("s or more from now.")
    logged = [r for r in caplog.records if "could not open the knowledge base" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is None and "Connection refused" in logged[0].getMessage()


def test_a_database_that_cannot_be_reached_says_when_it_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page and the tool said "It is tried again on the next call", but a call within RETRY_OPEN of the failure
    was answered with the old failure, untried: a person who reloaded as soon as the database was back saw the same
    error again. The sentence now says in how many seconds a call opens it again."""
    from sqlalchemy.exc import OperationalError

    from agent_postmortem.errors import KnowledgeBaseUnavailable
    from agent_postmortem.service import lazy as lazy_module

    now = [1000.0]
    monkeypatch.setattr(lazy_module.time, "monotonic", lambda: now[0])
    opened: list[int] = []

    def down() -> PostmortemService:
        opened.append(1)
        raise OperationalError(None, {}, Exception("connection refused"))

    lazy = LazyService(down)
    with pytest.raises(KnowledgeBaseUnavailable) as first:
        lazy.get(timeout=10)
    assert f"It is tried again on the next call made {lazy_module.RETRY_OPEN:g} s or more from now." in str(
        first.value
    ), first.value
    now[0] += 3.2
    with pytest.raises(KnowledgeBaseUnavailable) as second:
        lazy.get(timeout=10)
    assert len(opened) == 1  # not tried: too soon after the failure
    assert "It is tried again on the next call made 2 s or more from now." in str(second.value), second.value
    now[0] += 2
    with pytest.raises(KnowledgeBaseUnavailable) as third:
        lazy.get(timeout=10)
    assert len(opened) == 2 and "made 5 s or more from now" in str(third.value)
