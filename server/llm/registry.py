"""The server's own LLM backends, by name: a new backend is one module that defines `BACKEND` (a `Backend`) and one
line in `BUILTIN`; `register` adds one from elsewhere.

Who writes a draft, in this order (mcp/draft.py): the MCP client's own model through sampling, when the client
offers it and POSTMORTEM_LLM is auto or sampling; else the backend chosen here (POSTMORTEM_LLM names one, or `auto`
takes the first configured one in BUILTIN's order: an OpenAI-compatible endpoint, then the user's own GGUF on the
embedded llama.cpp server; never the bundled 135M model, which drafts only when POSTMORTEM_LLM=local names it);
else the assistant writes the analysis itself (draft_analysis hands it the grounded context, record_analysis stores
it). With POSTMORTEM_LLM=none or sampling the server has no backend of its own. Whoever writes it, the draft is
validated and grounded by the same service code (service/drafting.py). docs/drafting.md says it for users."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the settings read this module's names: it imports nothing at run time
    from agent_postmortem.config import Settings
    from agent_postmortem.llm.base import LLM, Provider

BUILTIN = {  # name -> module defining its BACKEND, in the order `auto` tries them
    "openai": "agent_postmortem.llm.openai_compatible",
    "local": "agent_postmortem.llm.local",
}


@dataclass(frozen=True)
class LLMChoice:
    backend: str
    describe: str
    low_quality: bool


@dataclass(frozen=True)
class Backend:
    name: str
    choose: Callable[[Settings, bool], LLMChoice | None]
    """What would run with these settings. Asked for by name (True), it raises LLMUnavailable when it cannot run;
    under `auto` (False) it answers None when it is not configured."""
    build: Callable[[Settings], LLM]
    time_limit: float = 120.0  # DEFAULT_TIME_LIMIT
    """Seconds a whole draft (the answer and its repair round) may take with this backend, unless
    POSTMORTEM_DRAFT_TIMEOUT says otherwise."""


DEFAULT_TIME_LIMIT = 120.0
_backends: dict[str, Backend] = {}
_lock = threading.Lock()


def register(backend: Backend) -> None:
    with _lock:
        _backends[backend.name] = backend


def backends() -> dict[str, Backend]:
    """Every backend: the built-in ones (imported on first use) and the registered ones."""
    for name, module in BUILTIN.items():
        if name not in _backends:
            register(importlib.import_module(module).BACKEND)
    return dict(_backends)


def choose_llm(settings: Settings) -> LLMChoice | None:
    """The server's own drafting LLM, or None. (Over MCP, `auto` first asks the client's model through sampling when
    the client offers it; see mcp/draft.py.)"""
    if settings.llm_backend in ("none", "sampling"):  # sampling: only the MCP client's model drafts
        return None
    found = backends()
    if settings.llm_backend != "auto":
        return found[settings.llm_backend].choose(settings, True)
    for backend in found.values():
        choice = backend.choose(settings, False)
        if choice is not None:
            return choice
    return None


def time_limit(settings: Settings, backend: str) -> float:
    """How long a draft with `backend` may take: POSTMORTEM_DRAFT_TIMEOUT, else the backend's own default."""
    if settings.draft_timeout is not None:
        return settings.draft_timeout
    found = backends().get(backend)
    return DEFAULT_TIME_LIMIT if found is None else found.time_limit


def build_llm(settings: Settings) -> LLM | None:
    """The chosen backend's model, every prompt redacted before it is sent (llm/redacting.py)."""
    from agent_postmortem.llm.redacting import RedactingLLM

    choice = choose_llm(settings)
    return None if choice is None else RedactingLLM(backends()[choice.backend].build(settings))


def llm_factory(settings: Settings) -> Provider:
    """A lazy, memoised LLM provider: nothing starts until the first draft."""
    lock = threading.Lock()
    built: list[LLM | None] = []

    def provide() -> LLM | None:
        with lock:
            if not built:
                built.append(build_llm(settings))
            return built[0]

    return provide
