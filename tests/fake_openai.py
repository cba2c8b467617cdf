"""A scripted OpenAI-compatible chat-completions server on loopback, for driving the real `openai` client.

Each POST /v1/chat/completions takes the next scripted reply from a queue: a content string wrapped in a
`chat.completion` body, an HTTP error status, and/or a delay before answering. Request bodies are recorded.
An empty queue answers HTTP 599 so that an unscripted call fails loudly.
"""

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    content: str = ""
    finish_reason: str = "stop"
    status: int = 200
    delay: float = 0.0
    error: str = ""
    page: str = ""  # answered as it is, text/html with status 200 (a proxy's sign-in page, a wrong base URL)
    raw: str = ""  # answered as it is, application/json with status 200 (a cut-off body, a completion of another shape)


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), name="fake-openai", daemon=True)
        self._thread.start()
        host, port = self._httpd.server_address[:2]
        self.base_url = f"http://{host}:{port}/v1"

    def enqueue(
        self,
        content: str = "",
        *,
        finish_reason: str = "stop",
        status: int = 200,
        delay: float = 0.0,
        error: str = "",
        page: str = "",
        raw: str = "",
    ) -> None:
        """Script the next reply: `content` with `finish_reason`, or an error `status` (with message `error`), or
        an HTML `page`, or a `raw` body said to be JSON, after `delay` seconds."""
        with self._lock:
            self._replies.append(Reply(content, finish_reason, status, delay, error, page, raw))

    def close(self) -> None:
        self._closing.set()  # wakes any handler still sleeping in a delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> "FakeOpenAI":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | str | bytes]:
        with self._lock:
            self.requests.append(body)
            reply = self._replies.popleft() if self._replies else Reply(status=599)
        if reply.delay:
            self._closing.wait(reply.delay)
        if reply.status != 200:
            message = (
                "no scripted reply left" if reply.status == 599 else reply.error or f"scripted HTTP {reply.status}"
            )
            return reply.status, {"error": {"message": message, "type": "fake_error", "param": None, "code": None}}
        if reply.page:
            return 200, reply.page
        if reply.raw:
            return 200, reply.raw.encode()
        return 200, _completion(body.get("model", "fake"), reply.content, reply.finish_reason, len(self.requests))


def _completion(model: str, content: str, finish_reason: str, n: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{n}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a keep-alive connection a client forgot cannot pin a thread forever

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "fake_error"}})
                return
            self._send(*fake._answer(json.loads(raw)))

        def _send(self, status: int, payload: dict[str, Any] | str | bytes) -> None:
            html = isinstance(payload, str)
            data = payload if isinstance(payload, bytes) else payload.encode() if html else json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if html else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (its timeout) before a delayed answer
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler
