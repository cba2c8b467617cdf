"""The embedded llama.cpp server's client: no request outlives the draft that gave up on it, since llama.cpp goes on
generating (its one slot and the CPU busy, the process crashing if it exits meanwhile) until the connection closes."""

import time
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.errors import LLMFailed
from agent_postmortem.llm import local
from agent_postmortem.llm.registry import llm_factory
from tests.fake_openai import FakeOpenAI
from tests.llm.scripted import INVALID, draft, settings


def _local_llm(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, draft_timeout: str) -> Any:
    """The local backend as `postmortem draft` builds it, the scripted server standing in for the embedded one."""
    gguf = tmp_path / "model.gguf"
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
