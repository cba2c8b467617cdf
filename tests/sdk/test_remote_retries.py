"""The SDK and a team server that fails it: a retry after a lost answer carries the same idempotency key and stores
the capture once; a server that answers junk or is down costs the agent one line and no waiting per failure."""

import logging
import threading
import time
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_postmortem.evals.replicas import free_port
from agent_postmortem.sdk.recorder import Recorder
from agent_postmortem.sdk.remote import RemoteService
from agent_postmortem.service.facade import PostmortemService
from tests.http_server import TOKEN, serving


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
