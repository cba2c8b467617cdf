"""The embedded llama.cpp server's client: no request outlives the draft that gave up on it, since llama.cpp goes on
generating (its one slot and the CPU busy, the process crashing if it exits meanwhile) until the connection closes."""

import http.server
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.errors import DraftError, LLMFailed
from agent_postmortem.llm import local
from agent_postmortem.llm.limits import TooLate, within
from agent_postmortem.llm.registry import llm_factory
from tests.fake_openai import FakeOpenAI
from tests.llm.scripted import INVALID, draft, settings


def _local_llm(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, draft_timeout: str, name: str = "model.gguf"
) -> Any:
    """The local backend as `postmortem draft` builds it, the scripted server standing in for the embedded one."""
    gguf = tmp_path / name
    gguf.write_bytes(b"GGUF" + bytes(16))
    monkeypatch.setattr(local, "available", lambda: True)
    monkeypatch.setattr(local.LocalLlamaServer, "base_url", lambda self: fake.base_url)
    chosen = settings(POSTMORTEM_LLM="local", POSTMORTEM_LOCAL_MODEL=str(gguf), POSTMORTEM_DRAFT_TIMEOUT=draft_timeout)
    return llm_factory(chosen)()


def test_a_request_to_the_embedded_server_ends_with_the_drafts_time_limit(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With POSTMORTEM_DRAFT_TIMEOUT=1 the request stayed open for POSTMORTEM_LLM_TIMEOUT (120 s): the CLI said the
    draft was too slow and exited while llama.cpp still generated (a segmentation fault, exit 139, half the time)."""
    llm = _local_llm(fake, monkeypatch, tmp_path, "1")
    fake.enqueue("{}", delay=4)
    started = time.monotonic()
    with pytest.raises(LLMFailed):
        draft(llm)
    assert time.monotonic() - started < 2.5


def test_the_repair_round_gets_only_what_is_left_of_the_time_limit(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    llm = _local_llm(fake, monkeypatch, tmp_path, "2")
    fake.enqueue(INVALID, delay=1.5)  # an answer to repair, most of the limit gone
    fake.enqueue("{}", delay=4)
    started = time.monotonic()
    with pytest.raises(LLMFailed):
        draft(llm)
    assert len(fake.requests) == 2 and time.monotonic() - started < 2.8


def test_a_request_ends_at_the_deadline_of_the_draft_it_runs_in_not_after_the_backends_own_limit(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A draft's limit counts from its start (the server's start included), so the call is given less than the
    backend's limit: its request stayed open for the whole limit after the draft had given up."""
    llm = _local_llm(fake, monkeypatch, tmp_path, "10")
    fake.enqueue("{}", delay=4)
    ended: list[BaseException] = []
    done = threading.Event()

    def call() -> None:
        try:
            draft(llm)
        except BaseException as e:  # noqa: BLE001 - what ended the request, looked at below
            ended.append(e)
        finally:
            done.set()

    started = time.monotonic()
    with pytest.raises(TooLate):
        within(1.0, call)
    assert done.wait(5) and time.monotonic() - started < 2.5  # not the fake's 4 s, nor a repair round after it
    assert isinstance(ended[0], LLMFailed) and len(fake.requests) == 1


def test_the_bundled_model_gets_no_repair_round(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The 135M model never turned a refused answer into an analysis, and each round took minutes of CPU: the demo
    spent 2-3 more minutes on the repair round for the same refusal."""
    llm = _local_llm(fake, monkeypatch, tmp_path, "10", name=local.BUNDLED_NAME)
    fake.enqueue(INVALID)
    fake.enqueue(INVALID)
    with pytest.raises(DraftError, match=r"not a valid analysis \(") as caught:
        draft(llm)
    assert len(fake.requests) == 1 and "repair" not in str(caught.value)


class _SlowToStart:
    """The embedded server as `xllamacpp.Server` starts it, on a loopback port whose /health answers 503 (loading)
    until the clock has moved `ready_after` seconds. The clock is `local`'s own: each of its waits moves it on."""

    def __init__(self, ready_after: float) -> None:
        self.now = 0.0
        self.ready_after = ready_after
        clock = self

        class Health(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the handler's API
                self.send_response(200 if clock.now >= clock.ready_after else 503)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += 5.0  # the machine is busy: each look at /health comes a while after the one before

    def module(self) -> types.ModuleType:
        address = f"http://127.0.0.1:{self.http.server_address[1]}"
        xllamacpp = types.ModuleType("xllamacpp")
        xllamacpp.CommonParams = lambda: types.SimpleNamespace(  # type: ignore[attr-defined]
            model=types.SimpleNamespace(), cpuparams=types.SimpleNamespace(), cpuparams_batch=types.SimpleNamespace()
        )
        xllamacpp.Server = lambda params: types.SimpleNamespace(listening_address=address)  # type: ignore[attr-defined]
        return xllamacpp


@pytest.mark.parametrize(("draft_timeout", "ready_after", "ready"), [("600", 90.0, True), ("30", 90.0, False)])
def test_the_embedded_server_gets_the_drafts_time_limit_to_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, draft_timeout: str, ready_after: float, ready: bool
) -> None:
    """On a loaded 2-core machine the bundled model's server took more than 60 s to answer /health: `postmortem
    draft` with POSTMORTEM_LLM=local failed with "did not become ready within 60 s" although its draft had 600 s,
    the server's start included (docs/drafting.md). The start now has the draft's limit, and past it the error says
    which limit it was and what to do."""
    server = _SlowToStart(ready_after)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + bytes(16))
    monkeypatch.setattr(local, "available", lambda: True)
    monkeypatch.setattr(local, "time", server)
    monkeypatch.setattr(local.LocalLlamaServer, "_servers", {})
    monkeypatch.setitem(sys.modules, "xllamacpp", server.module())
    chosen = settings(POSTMORTEM_LLM="local", POSTMORTEM_LOCAL_MODEL=str(gguf), POSTMORTEM_DRAFT_TIMEOUT=draft_timeout)
    try:
        if ready:
            assert llm_factory(chosen)() is not None and server.now >= ready_after
        else:
            with pytest.raises(LLMFailed, match=r"within 30 s.*POSTMORTEM_DRAFT_TIMEOUT") as refused:
                llm_factory(chosen)()
            assert "60 s" not in str(refused.value) and server.now < 60
    finally:
        server.http.shutdown()
        server.http.server_close()
