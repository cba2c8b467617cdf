"""What real MCP clients do that unit tests never do: JSON-looking text in string arguments, objects where text is
expected, 20 KB texts, unicode edge cases, a client that drops mid-call, and one server process per call (the MCP
Inspector CLI's pattern), through the SDK's client in memory and over stdio, a raw JSON-RPC pipe, and the Inspector
itself when it is installed."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from agent_postmortem.mcp.server import create_server
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import IncidentCreate
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import ROOT, draft, make_service, tool_arguments

pytestmark = pytest.mark.anyio
CLI = str(Path(sys.executable).parent / "postmortem")
# what clients put in text arguments: JSON they were given, and words JSON would parse
JSON_LOOKING = ['{"order": "A-1001"}', '{"error":{"code":429}}', '["a","b"]', "null", "true", "42", '"quoted"', "[]"]
RARE = "qwxzvbn7731"  # a token only one incident has: only the lexical side can find it


def text_parameters(schema: dict[str, Any]) -> list[str]:
    """The parameters that take free text (a string that is not one of a few choices)."""
    return [
        name
        for name, prop in schema["properties"].items()
        if prop.get("type") == "string" and "enum" not in prop and "anyOf" not in prop
    ]


async def test_every_text_parameter_of_every_tool_takes_json_looking_text(tmp_path: Path) -> None:
    """The SDK parses JSON in a string argument unless its parameter is exactly `str`: `{"order": "A-1001"}` then
    arrived as an object and was rejected ("Input should be a valid string"). New text parameters are covered as
    they appear in tools/list."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        valid = await tool_arguments(client)
        checked = 0
        for tool in (await client.list_tools()).tools:
            required = {name: valid[name] for name in tool.input_schema.get("required", [])}  # new: add it to `valid`
            for name in text_parameters(tool.input_schema):
                shortest = tool.input_schema["properties"][name].get("minLength", 0)
                for text in (t for t in JSON_LOOKING if len(t) >= shortest):
                    result = await client.call_tool(tool.name, {**required, name: text})
                    said = result.content[0].text if result.is_error else ""  # type: ignore[union-attr]
                    assert "valid string" not in said and f"{name} must be text" not in said, (tool.name, name, said)
                    checked += 1
    assert checked >= 150


async def test_json_text_in_a_capture_is_stored_as_the_exact_text(tmp_path: Path) -> None:
    service = make_service(tmp_path, llm=None)
    texts = {
        "tool_args": '{"order": "A-1001", "amount": 12.5}',
        "error_message": '{"error":{"code":429,"message":"quota"}}',
        "impact": '["eu-west","us-east"]',
        "environment": "null",
        "agent": "true",
        "model": "42",
    }
    async with Client(create_server(lambda: service)) as client:
        captured = await client.call_tool("capture_incident", {"title": "Refund agent hit the rate limit", **texts})
        found = await client.call_tool("search_incidents", {"query": '["rate","limit"]'})
        note = await client.call_tool(
            "resolve_incident",
            {"incident_id": captured.structured_content["id"], "note": '["a","b"]'},  # type: ignore[index]
        )
    assert not captured.is_error and not found.is_error and not note.is_error
    stored = service.get_incident(captured.structured_content["id"])  # type: ignore[index]
    assert {name: getattr(stored, name) for name in texts} == texts
    assert stored.timeline[-1].description.endswith('["a","b"]')


async def test_objects_and_numbers_sent_for_text_are_kept_as_their_json_text(tmp_path: Path) -> None:
    """Models often send the object itself where the schema asks for its JSON text."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        captured = await client.call_tool(
            "capture_incident",
            {"title": "Refund agent hit the rate limit", "tool_args": {"order": "A-1001"}, "agent": 42, "model": None},
        )
        incident_id = captured.structured_content["id"]  # type: ignore[index]
        recorded = await client.call_tool(
            "record_analysis", {"incident_id": incident_id, "analysis_json": draft().model_dump(mode="json")}
        )
    assert not captured.is_error and not recorded.is_error, (captured.content, recorded.content)
    stored = service.get_incident(incident_id)
    assert (stored.tool_args, stored.agent, stored.model) == ('{"order": "A-1001"}', "42", None)
    assert stored.analysis is not None and stored.analysis.root_cause == draft().root_cause


async def test_an_analysis_sent_as_a_json_string_of_its_json_is_read_as_the_object(tmp_path: Path) -> None:
    """A client that JSON-encodes every argument sent the analysis's JSON text encoded again ("{\\"whys\\": ...}"):
    it was refused as "Invalid JSON: key must be a string at line 1 column 2", which no field of it could fix."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        captured = await client.call_tool("capture_incident", {"title": "Refund agent hit the rate limit"})
        incident_id = captured.structured_content["id"]  # type: ignore[index]
        text = draft().model_dump_json()
        for sent in (json.dumps(text), json.dumps(json.dumps(text))):
            recorded = await client.call_tool("record_analysis", {"incident_id": incident_id, "analysis_json": sent})
            assert not recorded.is_error, recorded.content
        still = await client.call_tool("record_analysis", {"incident_id": incident_id, "analysis_json": '"Sure!"'})
    assert still.is_error and "no JSON object" in still.content[0].text  # type: ignore[union-attr]
    stored = service.get_incident(incident_id)
    assert stored.analysis is not None and stored.analysis.root_cause == draft().root_cause


# --- over stdio: the real server process ----------------------------------------------------------------------------


def stdio(home: Path) -> StdioServerParameters:
    env = {
        "POSTMORTEM_HOME": str(home),
        "POSTMORTEM_LLM": "none",
        "POSTMORTEM_MODEL_CACHE": os.environ["POSTMORTEM_MODEL_CACHE"],  # exported once per session (`embedder`)
        "HF_HUB_OFFLINE": "1",
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
    }
    return StdioServerParameters(command=CLI, args=["serve"], env=env)


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
    assert nul.is_error and "NUL" in nul.content[0].text  # type: ignore[union-attr]


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


def seeded_home(home: Path, embedder: Embedder) -> str:
    """A home with a few dozen incidents, one of which alone holds RARE; its id."""
    service: PostmortemService = make_service(home, embedder=embedder)
    for n in range(30):
        word = ["refund", "ledger", "planner", "browser", "invoice", "calendar"][n % 6]
        service.capture_incident(
            IncidentCreate(title=f"The {word} agent failed on attempt {n}", error_message=f"{word} returned {400 + n}")
        )
    rare = service.capture_incident(
        IncidentCreate(title="Checkout agent crashed on a coupon", error_message=f"CouponParseError near {RARE}")
    )
    service.knowledge.release_index()  # the server processes below take it, as on a real machine
    return rare.id


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


def inspector() -> str | None:
    """The MCP Inspector CLI (npm @modelcontextprotocol/inspector), installed by `make test`
    (tests/install-tools.sh) like the conformance suite; MCP_INSPECTOR names another copy."""
    found = os.environ.get("MCP_INSPECTOR") or ROOT / ".conformance" / "node_modules" / ".bin" / "mcp-inspector"
    return str(found) if Path(found).exists() and shutil.which("node") else None


def inspect(home: Path, *args: str) -> dict[str, Any]:
    params = stdio(home)
    command = [str(inspector()), "--cli", params.command, *params.args, *args]
    done = subprocess.run(command, env=params.env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.mark.slow
@pytest.mark.skipif(
    inspector() is None, reason="the MCP Inspector CLI is not installed (make test installs it with Node 20+)"
)
def test_the_mcp_inspector_cli_one_process_per_call(tmp_path: Path, embedder: Embedder) -> None:
    """A client on the TypeScript SDK, as people try a server by hand: it converts `k=v` by the input schema's
    type, validates structured content against any output schema, and starts the server for each call."""
    rare = seeded_home(tmp_path, embedder)
    listed = inspect(tmp_path, "--method", "tools/list")
    assert len(listed["tools"]) >= 20
    captured = inspect(
        tmp_path, "--method", "tools/call", "--tool-name", "capture_incident",
        "--tool-arg", "title=Refund agent hit the fares API rate limit",
        "--tool-arg", 'tool_args={"order": "A-1001"}', "--tool-arg", 'error_message={"error":{"code":429}}',
    )  # fmt: skip
    assert not captured["isError"], captured
    shown = inspect(
        tmp_path, "--method", "tools/call", "--tool-name", "get_incident",
        "--tool-arg", f"incident_id={captured['structuredContent']['id']}",
    )  # fmt: skip
    assert shown["structuredContent"]["tool_args"] == '{"order": "A-1001"}'
    for _ in range(2):
        found = inspect(
            tmp_path, "--method", "tools/call", "--tool-name", "search_incidents",
            "--tool-arg", f"query={RARE}", "--tool-arg", "limit=3",
        )  # fmt: skip
        assert found["structuredContent"]["hits"][0]["id"] == rare


@pytest.mark.skipif(
    inspector() is None, reason="the MCP Inspector CLI is not installed (make test installs it with Node 20+)"
)
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--prompt-name", "no_such_prompt"], "no such prompt; the prompts are: five_whys, postmortem"),
        (["--prompt-name", "five_whys"], "the five_whys prompt needs the argument incident_id"),
    ],
    ids=["unknown-prompt", "missing-argument"],
)
def test_a_prompt_asked_for_wrongly_is_invalid_params_through_the_inspector(
    tmp_path: Path, args: list[str], said: str
) -> None:
    """As found with the Inspector CLI: an unknown prompt or a missing required argument was "MCP error 0" (the
    specification asks for -32602, invalid params)."""
    params = stdio(tmp_path)
    command = [str(inspector()), "--cli", params.command, *params.args, "--method", "prompts/get", *args]
    done = subprocess.run(command, env=params.env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 1 and f"MCP error -32602: {said}" in done.stderr + done.stdout, done.stderr[-500:]
    assert "no_such_prompt" not in (done.stderr + done.stdout).split("-32602")[-1]
