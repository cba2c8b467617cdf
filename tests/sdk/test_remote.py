"""The SDK sending to a team server: the Recorder calls the server's capture_incident tool over real HTTP with
the real MCP client and its token; retries carry the same idempotency key, failures never reach the agent."""

import json
import logging
import threading
import time
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_postmortem.evals.replicas import free_port
from agent_postmortem.sdk.recorder import Recorder
from agent_postmortem.sdk.remote import RemoteService
from agent_postmortem.service.facade import PostmortemService
from tests.http_server import TOKEN, serving
from tests.processes import run_agent_script, run_crashing_agent


def test_the_recorder_sends_failures_to_the_team_server_with_its_token(
    team: PostmortemService, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMORTEM_URL", url)
    monkeypatch.setenv("POSTMORTEM_TOKEN", TOKEN)
    recorder = Recorder(agent="trip-planner", model="gpt-4.1-mini")  # configured by the environment alone

    @recorder.watch(tool="flights.search", prompt="Find me a flight to Lisbon")
    def search(query: str) -> None:
        raise TimeoutError("flights.search read timed out after 30 s")

    with pytest.raises(TimeoutError):
        search("LIS")
    assert recorder.url == url and recorder.flush(timeout=60)
    [incident_id] = recorder.captured_ids
    stored = team.get_incident(incident_id)
    assert (stored.agent, stored.tool, stored.model, stored.category) == (
        "trip-planner",
        "flights.search",
        "gpt-4.1-mini",
        "timeout",
    )
    assert stored.prompt_excerpt == "Find me a flight to Lisbon" and "in search" in (stored.stack_trace or "")
    hits = team.search_incidents(query="flight search timed out", limit=1).hits
    assert hits[0].id == incident_id


def test_json_text_in_the_context_reaches_the_team_server_as_text(team: PostmortemService, url: str) -> None:
    recorder = Recorder(agent="billing-bot", url=url, token=TOKEN)
    arguments = json.dumps({"order": "A-1001", "amount": 12.5})  # as docs/sdk.md shows
    recorder.capture(
        RuntimeError('{"error":{"code":429}}'), tool="payments.refund", tool_args=arguments, impact='["eu","us"]'
    )
    assert recorder.flush(timeout=60) and recorder.failed == 0
    stored = team.get_incident(recorder.captured_ids[0])
    assert (stored.tool_args, stored.error_message, stored.impact) == (
        arguments,
        '{"error":{"code":429}}',
        '["eu","us"]',
    )


def test_a_watched_exception_that_ends_the_process_reaches_the_team_server(
    team: PostmortemService, url: str, tmp_path: Path
) -> None:
    done = run_crashing_agent(tmp_path, POSTMORTEM_URL=url, POSTMORTEM_TOKEN=TOKEN)
    assert done.returncode == 1 and "RuntimeError: payments.refund returned 502" in done.stderr
    [listed] = team.list_incidents().incidents
    stored = team.get_incident(listed.id)
    assert (stored.agent, stored.tool) == ("refund-bot", "payments.refund")


def test_a_wrong_token_is_one_clear_log_line_not_retried_and_never_raised(
    team: PostmortemService, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-token-" + "x" * 30
    sleeps: list[float] = []
    recorder = Recorder(service=lambda: RemoteService(url, token=wrong, sleep=sleeps.append))
    recorder.capture(RuntimeError("boom"), tool="crm.update")
    assert recorder.flush(timeout=60)
    assert recorder.failed == 1 and recorder.captured_ids == [] and sleeps == []
    [line] = [r.getMessage() for r in caplog.records if r.name == "agent_postmortem.sdk.recorder"]
    assert "refused the token (HTTP 401)" in line and "POSTMORTEM_TOKEN" in line and wrong not in caplog.text
    # a team server's tokens come from `token add`: the line named only POSTMORTEM_HTTP_TOKEN, which it has not
    assert "revoked" in line and "postmortem token add --team" in line, line
    assert team.knowledge_stats().incidents == 0


def test_a_token_read_from_a_file_with_its_line_break_is_sent_without_it(
    team: PostmortemService, url: str, tmp_path: Path
) -> None:
    """`token=open("token").read()` keeps the file's line break: the header could not be sent, each capture was
    retried for 7.5 s as "unreachable", and the line logged quoted the whole header, token included."""
    (tmp_path / "token").write_text(TOKEN + "\n", encoding="utf-8")
    recorder = Recorder(agent="billing-bot", url=url, token=(tmp_path / "token").read_text(encoding="utf-8"))
    recorder.capture(RuntimeError("ledger write refused"), tool="ledger.write")
    assert recorder.flush(timeout=60) and recorder.failed == 0 and len(recorder.captured_ids) == 1


@pytest.mark.parametrize("token", ["pm_first\npm_second" + "x" * 30, "pm_café" + "x" * 30, "pm_a b" + "x" * 30])
def test_a_token_no_header_can_carry_is_one_line_that_never_quotes_it(
    team: PostmortemService, url: str, caplog: pytest.LogCaptureFixture, token: str
) -> None:
    sleeps: list[float] = []
    recorder = Recorder(service=lambda: RemoteService(url, token=token, sleep=sleeps.append))
    recorder.capture(RuntimeError("boom"), tool="crm.update")
    assert recorder.flush(timeout=60)
    assert recorder.failed == 1 and sleeps == []
    [line] = [r.getMessage() for r in caplog.records if r.name == "agent_postmortem.sdk.recorder"]
    assert "no HTTP header can carry" in line and "POSTMORTEM_TOKEN" in line, line
    assert "xxxxxxxx" not in caplog.text


def test_no_token_for_a_server_that_asks_for_one_is_said_so(
    team: PostmortemService, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """It said the token "is wrong or was revoked" when none had been given."""
    recorder = Recorder(service=lambda: RemoteService(url, token=None, sleep=lambda _: None))
    recorder.capture(RuntimeError("boom"), tool="crm.update")
    assert recorder.flush(timeout=60) and recorder.failed == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "agent_postmortem.sdk.recorder"]
    assert "asks for a token (HTTP 401) and none was given" in line and "POSTMORTEM_TOKEN" in line, line


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("http://127.1:{port}/mcp", "refused the host name (HTTP 421)"),  # 127.0.0.1, by a name it does not serve
        ("http://127.0.0.1:{port}/", "answered HTTP 405"),  # the web view
        ("http://127.0.0.1:{port}/v1/traces", "answered HTTP 400"),  # the trace receiver
        ("http://127.0.0.1:{port}/mcpx", "answered HTTP 404"),
    ],
    ids=["host", "web-view", "traces", "no-such-path"],
)
def test_a_url_that_is_not_the_servers_mcp_endpoint_is_one_line_saying_so_not_retried(
    team: PostmortemService, url: str, caplog: pytest.LogCaptureFixture, where: str, said: str
) -> None:
    """A Host name the server does not serve (421) or a URL that is not its MCP endpoint was retried for 7.5 s and
    then called "unreachable after 4 attempts (MCPError: Server returned an error response)"."""
    sleeps: list[float] = []
    target = where.format(port=url.rsplit(":", 1)[1].split("/")[0])
    recorder = Recorder(service=lambda: RemoteService(target, token=TOKEN, sleep=sleeps.append))
    recorder.capture(RuntimeError("boom"), tool="crm.update")
    assert recorder.flush(timeout=60)
    assert recorder.failed == 1 and sleeps == []
    [line] = [r.getMessage() for r in caplog.records if r.name == "agent_postmortem.sdk.recorder"]
    assert said in line and "unreachable" not in line and TOKEN not in caplog.text, line
    assert ("POSTMORTEM_ALLOWED_HOSTS" if "421" in said else "http://pm.internal:8000/mcp") in line, line
    assert team.knowledge_stats().incidents == 0


class LoseFirstAnswer:
    """Lets the first tool call reach the server, then drops its answer (502): the client cannot know it worked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.lost = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or self.lost:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = [await receive()]
        while messages[-1].get("more_body"):
            messages.append(await receive())
        if b'"tools/call"' not in b"".join(m.get("body", b"") for m in messages):
            await self.app(scope, self._replay(messages, receive), send)
            return
        self.lost += 1

        async def swallow(message: Message) -> None:
            pass

        await self.app(scope, self._replay(messages, receive), swallow)
        await send({"type": "http.response.start", "status": 502, "headers": []})
        await send({"type": "http.response.body", "body": b"bad gateway"})

    @staticmethod
    def _replay(messages: list[Message], receive: Receive) -> Receive:
        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        return replay


def test_a_retry_after_a_lost_answer_or_a_down_server_stores_the_capture_once(team: PostmortemService) -> None:
    port = free_port()
    lossy: list[LoseFirstAnswer] = []
    with ExitStack() as stack:

        def lossy_app(app: ASGIApp) -> ASGIApp:
            lossy.append(LoseFirstAnswer(app))
            return lossy[0]

        def start_server_then_wait(seconds: float) -> None:  # the first attempt found the server down
            if not lossy:
                stack.enter_context(serving(team, port=port, wrap=lossy_app))

        remote = RemoteService(f"http://127.0.0.1:{port}/mcp", token=TOKEN, sleep=start_server_then_wait)
        recorder = Recorder(agent="billing-bot", service=lambda: remote)
        recorder.capture(ValueError("invoice total does not match its lines"), tool="invoices.create")
        assert recorder.flush(timeout=60)
    assert lossy[0].lost == 1  # attempt 1: refused; 2: stored, answer lost; 3: replayed by its key
    assert recorder.failed == 0 and len(recorder.captured_ids) == 1
    assert team.knowledge_stats().incidents == 1
    assert team.get_incident(recorder.captured_ids[0]).occurrences == 1


@pytest.mark.parametrize("given", ["team-pm:8000/mcp", "localhost:8000", "ftp://team-pm/mcp", "https:///mcp"])
def test_a_url_the_client_could_never_send_to_is_refused_at_once(tmp_path: Path, given: str) -> None:
    """As found: an SDK script given a URL without its scheme retried for 8 s before it said so."""
    source = (
        "import time\nfrom agent_postmortem import Recorder\nstart = time.monotonic()\n"
        "try:\n    Recorder(agent='a')\nexcept ValueError as e:\n    print(f'{time.monotonic() - start:.2f}', e)\n"
    )
    done = run_agent_script(tmp_path, source, timeout=60, POSTMORTEM_URL=given, POSTMORTEM_HOME=str(tmp_path))
    seconds, message = done.stdout.split(" ", 1)
    assert float(seconds) < 1 and "must start with http:// or https://" in message and given not in message
    assert "Traceback" not in done.stderr


def test_a_blank_or_padded_url_and_token_read_as_the_cli_reads_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`POSTMORTEM_URL=" "` raised "must start with http://" into the agent, where the CLI reads a blank setting as
    unset; a URL or token pasted with its line break is used without it."""
    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTMORTEM_URL", " ")
    monkeypatch.setenv("POSTMORTEM_TOKEN", "\n")
    assert Recorder(agent="a").url is None  # the local store, as with no URL at all
    monkeypatch.setenv("POSTMORTEM_URL", " http://team-pm:8000/mcp\n")
    assert Recorder(agent="a").url == "http://team-pm:8000/mcp"


class JunkHandler(BaseHTTPRequestHandler):
    """Whatever is posted, a body that says it is JSON and is not (a proxy's error page, a cut-off answer)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"jsonrpc": "2.0", "note": "S3cretInTheAnswer", "result": {'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_answering_junk_or_a_url_with_credentials_is_one_line_naming_neither(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A URL with a password in it (`http://user:password@host/mcp`, `?token=`) was printed whole in the line saying
    the capture was not stored, and a server answering junk added the MCP client's traceback per attempt (eight),
    quoting the answer, then a line that went on to the validation error's lines."""
    junk = ThreadingHTTPServer(("127.0.0.1", 0), JunkHandler)
    threading.Thread(target=junk.serve_forever, daemon=True).start()
    url = f"http://admin:Passw0rdInUrl@127.0.0.1:{junk.server_address[1]}/mcp?token=TokenInQuery123"
    try:
        recorder = Recorder(service=lambda: RemoteService(url, token="t", retry_delays=(0.01,)))
        recorder.capture(RuntimeError("boom"), tool="crm.update")
        assert recorder.flush(timeout=60) and recorder.failed == 1
    finally:
        junk.shutdown()
        junk.server_close()
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.startswith(f"postmortem: a capture was not stored: http://127.0.0.1:{junk.server_address[1]}/mcp ")
    assert "\n" not in line and "Traceback" not in caplog.text
    for secret in ("Passw0rdInUrl", "TokenInQuery123", "S3cretInTheAnswer"):
        assert secret not in caplog.text


def test_watched_failures_do_not_each_wait_for_a_server_known_to_be_down() -> None:
    """With the team server down, each watched failure still waited its full `wait_on_error` for its own capture:
    an agent's retry loop of 5 attempts gained 5 s. Once a connection has failed, later failures go on at once
    while the server stays down; their captures stay queued and counted as before."""
    recorder = Recorder(url=f"http://127.0.0.1:{free_port()}/mcp", wait_on_error=1.0, exit_timeout=0)
    recorder.capture("first failure, before the server is known to be down")
    deadline = time.monotonic() + 60
    while recorder.wait_on_error and time.monotonic() < deadline:  # until the worker's first connection is refused
        time.sleep(0.01)

    @recorder.watch(tool="flights.search")
    def search() -> None:
        raise TimeoutError("flights.search read timed out")

    started = time.monotonic()
    for _ in range(5):
        with pytest.raises(TimeoutError):
            search()
    try:
        assert time.monotonic() - started < 1.0  # one full wait alone is 1 s; it was 5 s
        assert recorder.pending() + recorder.failed == 6 and not recorder.captured_ids
    finally:  # the worker would go on retrying the dead server for a minute
        while not recorder._queue.empty():
            recorder._queue.get_nowait()


def test_captures_after_a_capture_gave_up_on_a_down_server_are_tried_once_not_retried() -> None:
    """With the team server down, each queued capture waited its own 7.5 s of retries: an agent that crashed after 5
    failures against a dead server could not have them stored and waited its whole exit (15 s) for nothing. The
    first capture still retries (a restart is ridden out); the ones after it, while the server stays down, are tried
    once each and counted as not stored."""
    sleeps: list[float] = []
    remote = RemoteService(f"http://127.0.0.1:{free_port()}/mcp", token=TOKEN, sleep=sleeps.append)
    recorder = Recorder(service=lambda: remote, wait_on_error=0)
    for n in range(4):
        recorder.capture(f"payments.refund failed, attempt {n}", tool="payments.refund")
    assert recorder.flush(timeout=60)
    assert recorder.failed == 4 and sleeps == list(remote.retry_delays)  # the first capture's retries alone


def test_a_recorder_waiting_for_a_dead_server_holds_up_no_other_recorder(service: PostmortemService) -> None:
    """The writer held the process' capture lock through a send's retries: while one recorder waited for a dead team
    server (7.5 s of retries per capture, a minute and more for a queue), every other recorder of the process, local
    ones included, and a fork (a pool starting its workers) waited behind it."""
    retrying, given_up = threading.Event(), threading.Event()

    def wait_before_retrying(seconds: float) -> None:
        retrying.set()
        given_up.wait(seconds)

    dead = RemoteService(f"http://127.0.0.1:{free_port()}/mcp", retry_delays=(60.0,), sleep=wait_before_retrying)
    waiting = Recorder(agent="billing-bot", service=lambda: dead, wait_on_error=0, exit_timeout=0)
    local = Recorder(agent="trip-planner", service=lambda: service, wait_on_error=0, exit_timeout=0)
    waiting.capture("invoices.create failed")
    assert retrying.wait(30)  # its first connection was refused: it waits to retry
    try:
        local.capture(TimeoutError("flights.search read timed out"))
        assert local.flush(timeout=20) and len(local.captured_ids) == 1
        assert waiting.pending() == 1
    finally:
        given_up.set()
    assert waiting.flush(timeout=30) and waiting.failed == 1
