"""`postmortem serve` over stdio, driven with raw bytes on its stdin: every line gets an answer, and a request the
server refuses is a JSON-RPC error, never a traceback in its log."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CLI = str(Path(sys.executable).parent / "postmortem")
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


class RawServer:
    """Lines to the server's stdin; its stdout read by a thread, so that a missing answer fails instead of hanging."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def send(self, line: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()

    def reply(self, timeout: float = 20) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = json.loads(self.lines.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError(f"no answer within {timeout} s") from None
        return answer

    def handshake(self) -> None:
        self.send(json.dumps(INIT).encode())
        assert self.reply()["id"] == 1
        self.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}')


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RawServer]:
    env = {"POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none", "HF_HUB_OFFLINE": "1"}
    with (tmp_path / "stderr.log").open("wb") as log:
        proc = subprocess.Popen(
            [CLI, "serve"], env={**os.environ, **env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log
        )
    try:
        yield RawServer(proc)
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.wait(timeout=60)
        proc.stdout.close()


BAD_LINES = [
    (b"this is not json", -32700, "not JSON"),
    (b'{"jsonrpc": "2.0", "id": 5, "method": ', -32700, "not JSON"),
    (b"[" * 5_000 + b"]" * 5_000, -32700, "nested too deeply"),
    (b'{"id": 3, "method": 5}', -32600, "not a JSON-RPC 2.0 message"),
    (b"\xff\xfe not utf-8", -32700, "not JSON"),
]


def test_every_undecodable_line_gets_a_json_rpc_error_with_a_null_id_and_the_server_goes_on(
    server: RawServer, tmp_path: Path
) -> None:
    for line, code, message in BAD_LINES:  # before the handshake too: the reply does not depend on a session
        server.send(line)
        answer = server.reply()
        assert answer["id"] is None and answer["error"]["code"] == code and message in answer["error"]["message"]
    server.handshake()
    server.send(BAD_LINES[0][0])
    assert server.reply()["error"]["code"] == -32700
    server.send(b'{"jsonrpc": "2.0", "id": 2, "method": "ping"}')
    assert server.reply() == {"jsonrpc": "2.0", "id": 2, "result": {}}
    assert "this is not json" not in (tmp_path / "stderr.log").read_text(errors="replace")  # never quoted


def test_a_lone_surrogate_escape_is_answered_not_left_waiting(server: RawServer) -> None:
    """JavaScript clients can send `"\\ud800"` (valid JSON, not valid Unicode): the request is answered under its own
    id, the lone surrogate read as U+FFFD, instead of being dropped by the strict parser."""
    server.handshake()
    server.send(
        b'{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "search_incidents",'
        b' "arguments": {"query": "timeout \\ud800 fares"}}}'
    )
    answer = server.reply(timeout=120)
    assert answer["id"] == 7 and "result" in answer, answer
    server.send(b'{"jsonrpc": "2.0", "id": 8, "method": "ping", "params": {"note": "\\udc00"}}')
    assert server.reply() == {"jsonrpc": "2.0", "id": 8, "result": {}}


@pytest.mark.parametrize("prompt", ["postmortem", "five_whys"])
def test_a_prompt_for_an_unknown_incident_is_an_invalid_params_error_naming_the_fix_and_logs_no_traceback(
    server: RawServer, tmp_path: Path, prompt: str
) -> None:
    server.handshake()
    for n, incident_id in enumerate(["INC-999", "not-an-id"], start=2):
        request = {"name": prompt, "arguments": {"incident_id": incident_id}}
        server.send(json.dumps({"jsonrpc": "2.0", "id": n, "method": "prompts/get", "params": request}).encode())
        answer = server.reply()
        assert answer["id"] == n and answer["error"]["code"] == -32602, answer
        assert "list_incidents" in answer["error"]["message"]
    server.send(b'{"jsonrpc": "2.0", "id": 9, "method": "ping"}')
    assert server.reply()["id"] == 9
    assert "Traceback" not in (tmp_path / "stderr.log").read_text(errors="replace")


def test_the_one_reach_into_the_sdk_still_finds_a_low_level_server_to_run() -> None:
    """mcp/stdio.py runs the MCPServer's low-level server on its own streams (no public way exists in mcp 2.3):
    if the SDK renames or retypes that attribute, this fails before a user's stdio server does."""
    from mcp.server.lowlevel.server import Server
    from mcp.server.mcpserver import MCPServer

    from agent_postmortem.mcp.stdio import lowlevel

    server = lowlevel(MCPServer("probe"))
    assert isinstance(server, Server)
    assert callable(server.run) and server.create_initialization_options().server_name == "probe"


def test_ctrl_c_stops_the_server_as_sigterm_does(server: RawServer) -> None:
    """Ctrl-C in the terminal running `postmortem serve` did nothing: asyncio turned it into a cancellation that
    waited for the thread blocked reading stdin, so the server ran on until stdin closed (SIGTERM stopped it)."""
    server.handshake()
    server.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).encode())
    assert server.reply()["id"] == 2
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=20) == -signal.SIGINT


def test_a_secret_in_a_resource_uri_is_neither_sent_back_nor_logged(tmp_path: Path) -> None:
    """The SDK put the URI as sent in the error's data and logged it whole at INFO: a key a model put in
    `incident://...` came back to the client and went into the log. The data keeps the URI, redacted."""
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"
    env = {"POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_LLM": "none", "POSTMORTEM_LOG_LEVEL": "INFO"}
    with (tmp_path / "stderr.log").open("wb") as log:
        proc = subprocess.Popen(
            [CLI, "serve"], env={**os.environ, **env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log
        )
    server = RawServer(proc)
    try:
        server.handshake()
        read = {"jsonrpc": "2.0", "id": 2, "method": "resources/read", "params": {"uri": f"incident://{key}"}}
        server.send(json.dumps(read).encode())
        answer = server.reply()
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.wait(timeout=60)
        proc.stdout.close()
    assert answer["error"]["code"] == -32602 and key not in json.dumps(answer)
    assert answer["error"]["data"] == {"uri": "incident://[REDACTED:openai_key]"}
    logged = (tmp_path / "stderr.log").read_text(errors="replace")
    assert "incident://[REDACTED:openai_key]" in logged and key not in logged  # the line is kept, the key is not


def test_a_client_leaving_while_the_knowledge_base_warms_up_ends_the_server_cleanly(tmp_path: Path) -> None:
    """A client that asked for a draft and closed stdin as the sampling request came (a timeout, a window closed)
    ended the server with SIGABRT, "terminate called without an active exception" on stderr: the warm-up thread was
    still creating the embedder's ONNX session, and the interpreter's finalization ended it inside C++ frames. The
    process now ends without that finalization once it has stopped serving."""
    home = tmp_path / "home"
    env = {**os.environ, "POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "sampling"}
    made = subprocess.run([CLI, "capture", "--title", "Refund agent retried a charge after a 504"], env=env)
    assert made.returncode == 0
    with (tmp_path / "stderr.log").open("wb") as log:
        proc = subprocess.Popen([CLI, "serve"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    server = RawServer(proc)
    init = {**INIT, "params": {**INIT["params"], "protocolVersion": "2025-06-18", "capabilities": {"sampling": {}}}}
    server.send(json.dumps(init).encode())
    assert server.reply()["id"] == 1
    server.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}')
    draft = {"name": "draft_analysis", "arguments": {"incident_id": "INC-1"}}
    server.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": draft}).encode())
    assert server.reply(timeout=60)["method"] == "sampling/createMessage"
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    code = proc.wait(timeout=60)
    proc.stdout.close()
    logged = (tmp_path / "stderr.log").read_text(errors="replace")
    assert code == 0 and "terminate called" not in logged, logged


def test_a_prompt_asked_for_with_what_a_model_writes_is_read_or_refused_saying_what_to_fix(
    server: RawServer, tmp_path: Path
) -> None:
    """prompts/get with an argument the prompt does not take was answered with error code 0, "Error rendering prompt
    postmortem" and a traceback in the log; an id as a number, a null or the arguments as JSON text got -32602
    "Invalid request parameters" and nothing to act on. Now each is read as meant or refused naming what to fix."""
    server.handshake()
    sent: list[Any] = [
        {"incident_id": "INC-999", "incident": "INC-999"},
        {"incident_id": 999},
        '{"incident_id": "INC-999"}',
        {"incident_id": None},
        ["INC-999"],
        {"incident_id": ["INC-999"]},
    ]
    answers = []
    for n, arguments in enumerate(sent, start=2):
        request = {"name": "postmortem", "arguments": arguments}
        server.send(json.dumps({"jsonrpc": "2.0", "id": n, "method": "prompts/get", "params": request}).encode())
        answers.append(server.reply()["error"])
    assert {a["code"] for a in answers} == {-32602}
    messages = [a["message"] for a in answers]
    assert messages[0] == "the postmortem prompt takes only: incident_id; 1 argument it does not take was sent"
    assert messages[1] == "no incident '999'; list incidents with the list_incidents tool"
    assert messages[2] == "no incident 'INC-999'; list incidents with the list_incidents tool"
    assert messages[3] == "the postmortem prompt needs the argument incident_id"
    assert messages[4].startswith("arguments must be one JSON object of text values") and "a list was" in messages[4]
    assert "an argument was sent as a list or an object" in messages[5]
    assert "Traceback" not in (tmp_path / "stderr.log").read_text(errors="replace")


@pytest.mark.parametrize("where", ["under a file", "a file", "/dev/null"])
def test_a_home_that_cannot_be_made_is_named_to_the_model(tmp_path: Path, where: str) -> None:
    """POSTMORTEM_HOME under a file (or on a path that does not exist): every tool said only "the server log says
    why", which a user of a desktop client does not see; the CLI names the path and the reason, and so does the
    tool now. It said "Not a directory: /dev/null" without the setting that chose it: the setting is named, and
    what to set it to."""
    (tmp_path / "file").write_text("")
    homes = {"under a file": tmp_path / "file" / "home", "a file": tmp_path / "file", "/dev/null": Path("/dev/null")}
    home = homes[where]
    env = {**os.environ, "POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none"}
    with (tmp_path / "stderr.log").open("wb") as log:
        proc = subprocess.Popen([CLI, "serve"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    server = RawServer(proc)
    try:
        server.handshake()
        stats = {"name": "knowledge_stats", "arguments": {}}
        server.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": stats}).encode())
        answer = server.reply(timeout=60)["result"]
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.wait(timeout=60)
        proc.stdout.close()
    said = answer["content"][0]["text"]
    assert answer["isError"] and f"could not be opened: POSTMORTEM_HOME is {home}, which cannot hold" in said, said
    assert f"(Not a directory: {home})" in said and "set POSTMORTEM_HOME to a directory this process can" in said


def test_an_unknown_method_is_not_sent_back(server: RawServer) -> None:
    """-32601 "Method not found" carried the method sent as its data, whole: a key a client put there, or 300 KB of
    it, came back (as an unknown tool's name did)."""
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"
    server.handshake()
    for n, method in enumerate([key, "Z" * 300_000], start=2):
        server.send(json.dumps({"jsonrpc": "2.0", "id": n, "method": method}).encode())
        answer = server.reply()
        assert answer == {"jsonrpc": "2.0", "id": n, "error": {"code": -32601, "message": "Method not found"}}


def test_a_byte_order_mark_before_the_first_message_and_blank_lines_are_read_as_a_client_meant_them(
    server: RawServer,
) -> None:
    """A client whose writer starts the stream with a UTF-8 byte-order mark (.NET's UTF8Encoding, PowerShell) had its
    initialize refused as "not JSON": it never connected. Blank lines between messages (CRLF writers) were each
    answered with a parse error for id null, which clients take for a broken server. Both are read as meant."""
    server.send(b"\xef\xbb\xbf" + json.dumps(INIT).encode() + b"\r")
    assert server.reply()["result"]["serverInfo"]["name"]
    server.send(b'\r\n\n{"jsonrpc": "2.0", "method": "notifications/initialized"}\r\n   \r')
    server.send(b'{"jsonrpc": "2.0", "id": 2, "method": "ping"}\r')
    assert server.reply() == {"jsonrpc": "2.0", "id": 2, "result": {}}
    assert server.lines.empty()


def test_a_request_whose_id_is_null_is_an_invalid_request_not_left_waiting(server: RawServer) -> None:
    """The SDK read `"id": null` (or 1.5, true, {}) as a notification and dropped it: the client waited for an answer
    forever. MCP says a request's id is a string or an integer; a notification (no id, a notifications/ method) still
    gets no answer."""
    null_id = b'{"jsonrpc": "2.0", "id": null, "method": "tools/list"}'
    server.send(null_id)  # before the handshake too
    answer = server.reply(timeout=120)  # the server's start: seconds on a loaded machine
    assert answer["id"] is None and answer["error"]["code"] == -32600 and "null" in answer["error"]["message"]
    server.handshake()
    for given in (b"null", b"1.5", b"true", b"{}"):
        server.send(b'{"jsonrpc": "2.0", "id": ' + given + b', "method": "tools/list"}')
        assert server.reply() == {"jsonrpc": "2.0", "id": None, "error": answer["error"]}
    server.send(b'{"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}')
    server.send(b'{"jsonrpc": "2.0", "id": 3, "method": "tools/list"}')
    answer = server.reply(timeout=120)
    assert answer["id"] == 3 and answer["result"]["tools"]
