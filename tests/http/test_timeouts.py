"""How long and how much the HTTP server waits for a request's headers: a client sending them a byte at a time is
cut off at the deadline, one within it is answered and keeps its connection, and an unfinished head past the size
limit is refused."""

import selectors
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from starlette.types import Receive, Scope, Send

from agent_postmortem.evals.replicas import free_port, in_thread
from agent_postmortem.http.timeouts import HEADER_SECONDS, MAX_HEADER_BYTES, uvicorn_options
from tests.http_server import serve_process

HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def _drip(port: int, head: bytes, *, every: float, give_up: float) -> tuple[float, bytes] | None:
    """Send `head` a byte every `every` seconds until the server answers or closes: (seconds taken, its answer), or
    None when it still waited after `give_up` seconds."""
    with socket.create_connection(("127.0.0.1", port)) as s, selectors.DefaultSelector() as readable:
        readable.register(s, selectors.EVENT_READ)  # not select(): a descriptor past 1024 in a long run is refused
        started = time.monotonic()
        for byte in head:
            if time.monotonic() - started > give_up:
                return None
            try:
                s.sendall(bytes([byte]))
                answered = readable.select(every)  # the client's pace: a byte per `every` at most
                if answered:
                    return time.monotonic() - started, s.recv(4096)
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started, b""
    return None


def test_a_client_sending_its_headers_a_byte_at_a_time_is_cut_off_at_the_deadline(tmp_path: Path) -> None:
    with serve_process(tmp_path / "home") as base:
        port = int(base.rsplit(":", 1)[1])
        cut = _drip(port, HEAD + b"x-slow: " + b"a" * 1000, every=0.25, give_up=HEADER_SECONDS + 5)
    assert cut is not None, f"the server still waited for the headers after {HEADER_SECONDS + 5} s"
    seconds, answer = cut
    assert HEADER_SECONDS - 0.5 < seconds < HEADER_SECONDS + 2
    assert answer.startswith(b"HTTP/1.1 408 ") and b"headers took too long to arrive" in answer


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def _served(header_seconds: float) -> Iterator[int]:
    port = free_port()
    with in_thread(_ok, port, lifespan="off", **uvicorn_options(header_seconds=header_seconds)):
        yield port


def test_headers_within_the_deadline_are_answered_and_the_connection_serves_the_next_request() -> None:
    with _served(header_seconds=2.0) as port, socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for _ in range(2):  # the deadline starts again after each response
            for n in range(0, len(HEAD) + 2, 8):  # 1.5 s of the 2 s, in small pieces
                s.sendall((HEAD + b"\r\n")[n : n + 8])
                time.sleep(1.5 / ((len(HEAD) + 2) / 8))  # the client's pace, not a wait for the server
            answer = s.recv(4096)
            assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"ok"), answer


def test_an_unfinished_head_past_the_size_limit_is_refused_without_waiting_for_its_end() -> None:
    """h11 holds at most MAX_HEADER_BYTES of a request's head while it waits for the rest (a head that arrives
    whole is parsed at once, whatever its size)."""
    with _served(header_seconds=HEADER_SECONDS) as port, socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(HEAD + b"x-big: " + b"a" * MAX_HEADER_BYTES)  # no end of line: more is still to come
        answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert s.recv(4096) == b""  # closed
