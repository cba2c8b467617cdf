"""What real MCP clients do to the real server process over stdio: 20 KB texts, unicode edge cases, a client that
drops mid-call (a raw JSON-RPC pipe, as a client in another language writes it), and one server process per call
(the MCP Inspector CLI's pattern)."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from agent_postmortem.store.search.embedding import Embedder
from tests.mcp.clients import RARE, seeded_home, stdio

pytestmark = pytest.mark.anyio


@pytest.mark.slow
async def test_20_kb_texts_pass_over_stdio_and_one_character_more_is_a_clear_error(
    tmp_path: Path, embedder: Embedder
) -> None:
    description = ("The agent retried the refund call without backoff. " * 400)[:20_000]
    async with Client(stdio(tmp_path)) as client:
        captured = await client.call_tool(
            "capture_incident", {"title": "Refund agent retried forever", "description": description}
        )
        checked = await client.call_tool("check_blameless", {"text": description})
        too_long = await client.call_tool(
            "capture_incident", {"title": "Refund agent retried forever", "stack_trace": description + "x"}
        )
        stored = await client.call_tool("get_incident", {"incident_id": captured.structured_content["id"]})  # type: ignore[index]
    assert not captured.is_error and not checked.is_error
    assert stored.structured_content["description"] == description  # type: ignore[index]
    assert too_long.content[0].text == (  # type: ignore[union-attr]
        "Invalid argument: stack_trace must be text of at most 20000 characters."
    )


UNICODE = {
    "emoji and a flag": "Agent crashed on 🔥 and 🇵🇹 in a customer name",
    "right to left": "الوكيل فشل في استدعاء أداة الدفع",
    "combining marks": "Cafe\u0301 order e\u0301choue\u0301 twice",
    "joiners": "👩‍👩‍👧 family plan \u200d\u200c lookup failed",
    "separators": "line\u2028separator and\u2029paragraph, CRLF\r\nend",
    "astral": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛 in a tool name",
}


@pytest.mark.slow
async def test_unicode_edge_cases_round_trip_over_stdio(tmp_path: Path, embedder: Embedder) -> None:
    async with Client(stdio(tmp_path)) as client:
        stored = {}
        for name, text in UNICODE.items():
            captured = await client.call_tool("capture_incident", {"title": text[:200], "description": text})
            assert not captured.is_error, (name, captured.content)
            got = await client.call_tool("get_incident", {"incident_id": captured.structured_content["id"]})  # type: ignore[index]
            stored[name] = got.structured_content["description"]  # type: ignore[index]
        nul = await client.call_tool("capture_incident", {"title": "NUL \x00 in a title"})
    # invisible format characters (Cf: joiners, bidi controls) are dropped by redaction: they can hide instructions;
    # line and paragraph separators and CR become plain newlines, so no renderer or terminal reads them its own way
    expected = {
        "joiners": "👩👩👧 family plan  lookup failed",
        "separators": "line\nseparator and\nparagraph, CRLF\nend",
    }
    assert stored == {**UNICODE, **expected}
    assert not nul.is_error, nul.content  # stored with the NUL as an escape, as the SDK and import-traces store it


class RawClient:
    """JSON-RPC lines over the server's stdin and stdout, as a client in another language writes them."""

    def __init__(self, home: Path) -> None:
        params = stdio(home)
        self.stderr = (home / "stderr.log").open("w+", encoding="utf-8")
        self.proc = subprocess.Popen(
            [params.command, *params.args], env=params.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, text=True,
        )  # fmt: skip

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Wait for the server to exit; its exit code and what it wrote on stderr."""
        code = self.proc.wait(timeout=timeout)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.stderr.seek(0)
        logged = self.stderr.read()
        self.stderr.close()
        return code, logged

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def initialize(self) -> None:
        self.send(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"},
                },
            }
        )
        assert "result" in self.receive()
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(self, number: int, tool: str, arguments: dict[str, Any]) -> None:
        self.send(
            {"jsonrpc": "2.0", "id": number, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
        )


@pytest.mark.slow
async def test_a_client_that_drops_mid_call_leaves_a_clean_exit_and_a_working_home(
    tmp_path: Path, embedder: Embedder
) -> None:
    raw = RawClient(tmp_path)
    raw.initialize()
    raw.call(1, "capture_incident", {"title": "Checkout agent dropped the connection mid-call"})
    raw.call(2, "search_incidents", {"query": "connection dropped"})
    assert raw.proc.stdin is not None
    raw.proc.stdin.close()  # gone without reading an answer
    code, logged = raw.finish()
    assert code == 0 and "Traceback" not in logged, logged[-2000:]
    async with Client(stdio(tmp_path)) as client:  # the next session on the same home works
        captured = await client.call_tool("capture_incident", {"title": "Checkout agent failed again after a drop"})
        listed = await client.call_tool("list_incidents", {})
    assert not captured.is_error and listed.structured_content["incidents"]  # type: ignore[index]


@pytest.mark.slow
async def test_one_server_process_per_call_answers_the_first_search_as_later_ones(
    tmp_path: Path, embedder: Embedder
) -> None:
    """The Inspector CLI starts a server for every call, so every call is a new process's first: its search ran
    while the server was still loading its indexes and came back without the words (lexical_score 0)."""
    rare = seeded_home(tmp_path, embedder)
    answers = []
    for _ in range(5):
        async with Client(stdio(tmp_path)) as client:
            first = await client.call_tool("search_incidents", {"query": RARE, "limit": 3})
            later = await client.call_tool("search_incidents", {"query": RARE, "limit": 3})
        answers += [first.structured_content["hits"], later.structured_content["hits"]]  # type: ignore[index]
    assert all(hits == answers[0] for hits in answers)
    assert answers[0][0]["id"] == rare and RARE in answers[0][0]["matched_terms"]


@pytest.mark.parametrize("configured", ["~/incidents", "$HOME/incidents", "${HOME}/incidents"])
async def test_a_home_written_as_in_a_shell_in_a_client_config_is_the_users_not_a_folder_named_tilde(
    tmp_path: Path, configured: str
) -> None:
    """Clients start the server with their config's `env` as written, no shell: `"POSTMORTEM_HOME": "~/incidents"`
    made a folder named `~` (or `$HOME`) in whatever directory the client started the server in, a knowledge base
    that the CLI, whose shell expands it, never saw."""
    user, started_in = tmp_path / "user", tmp_path / "client-cwd"
    user.mkdir()
    started_in.mkdir()
    params = stdio(tmp_path)
    params.env = {**(params.env or {}), "POSTMORTEM_HOME": configured, "HOME": str(user)}
    params.cwd = started_in
    async with Client(params) as client:
        captured = await client.call_tool("capture_incident", {"title": "Planner agent looped on a search"})
    assert not captured.is_error, captured.content
    assert (user / "incidents" / "postmortem.db").is_file()
    assert list(started_in.iterdir()) == []


@pytest.mark.slow
def test_a_client_that_sends_its_call_and_closes_stdin_gets_the_answer(tmp_path: Path, embedder: Embedder) -> None:
    """`printf '...' | postmortem serve` (a script, or the shutdown the MCP spec describes: close stdin, wait for the
    exit) stored the capture but exited without its answer: the SDK ends the session at end of input. The requests
    read are answered first; a client that closed stdout as well gets a clean exit."""
    raw = RawClient(tmp_path)
    raw.initialize()
    raw.call(1, "capture_incident", {"title": "Mailer agent sent the digest twice"})
    assert raw.proc.stdin is not None and raw.proc.stdout is not None
    raw.proc.stdin.close()
    answer = raw.receive()
    code, logged = raw.finish()
    assert answer["id"] == 1 and answer["result"]["structuredContent"]["id"] == "INC-1", answer
    assert code == 0 and "Traceback" not in logged, logged[-2000:]

    gone = RawClient(tmp_path)
    gone.initialize()
    gone.call(2, "search_incidents", {"query": "digest sent twice"})
    assert gone.proc.stdin is not None and gone.proc.stdout is not None
    gone.proc.stdout.close()
    gone.proc.stdin.close()
    code, logged = gone.finish()
    assert code == 0 and "Traceback" not in logged and "error" not in logged, logged[-2000:]
