"""Servers on loopback: stateless HTTP replicas of `postmortem serve` on one home and a real MCP client whose requests
go round them the way a load balancer without affinity sends them (`bench load` and the replica tests drive them),
and an ASGI app served in a thread of this process (`bench ui`, the team tests)."""

import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx2


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each request to the next of `ports` on 127.0.0.1 (what a load balancer without affinity does), and
    records the port and the response headers of every request."""

    def __init__(self, ports: list[int]) -> None:
        self._next = itertools.cycle(ports)
        self._inner = httpx2.AsyncHTTPTransport()
        self.seen: list[tuple[int, httpx2.Headers]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = next(self._next)
        request.url = request.url.copy_with(port=port)
        request.headers["host"] = f"127.0.0.1:{port}"
        response = await self._inner.handle_async_request(request)
        self.seen.append((port, response.headers))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@asynccontextmanager
async def client(ports: list[int], token: str) -> AsyncIterator[tuple[Any, RoundRobin]]:
    """A real MCP client whose requests go round the replicas."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    transport = RoundRobin(ports)
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx2.Timeout(60.0, read=300.0)
    async with (
        httpx2.AsyncClient(transport=transport, headers=headers, timeout=timeout) as http,
        Client(streamable_http_client(f"http://127.0.0.1:{ports[0]}/mcp", http_client=http)) as mcp,
    ):
        yield mcp, transport


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def replicas(count: int, *, home: Path, env: dict[str, str]) -> Iterator[list[int]]:
    """`count` processes of `postmortem serve --transport http --stateless` on `home`, on loopback; their ports.
    `env` holds the auth: POSTMORTEM_HTTP_TOKEN or POSTMORTEM_TOKENS_FILE."""
    ports = [free_port() for _ in range(count)]
    settings = {
        **os.environ,
        **env,
        "POSTMORTEM_HOME": str(home),
        "POSTMORTEM_LLM": "none",
        "POSTMORTEM_HTTP_RATE": "1000000",  # one address sends everything here
        "HF_HUB_OFFLINE": "1",
    }
    command = [sys.executable, "-c", "from agent_postmortem.cli import main; main()", "serve", "--transport", "http"]
    procs = []
    try:
        for port in ports:
            log = (home / f"replica-{port}.log").open("w", encoding="utf-8")
            procs.append(
                subprocess.Popen(
                    [*command, "--stateless", "--port", str(port)], env=settings, stdout=log, stderr=subprocess.STDOUT
                )
            )
            log.close()
        for port, proc in zip(ports, procs, strict=True):
            _wait_for(port, proc)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for(port: int, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the replica on port {port} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the replica on port {port} did not listen within {seconds} s")


@contextmanager
def in_thread(app: Any, port: int, *, seconds: float = 30, **config: Any) -> Iterator[str]:
    """`app` served by uvicorn in a daemon thread of this process on 127.0.0.1:`port` while the block runs; its URL.
    `config`: more uvicorn settings (lifespan=...)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the server on port {port} did not start within {seconds} s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
