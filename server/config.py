"""Settings from the environment. Read once, at the edge (CLI / server start), and passed down."""

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

LLM_BACKENDS = ("auto", "openai", "local", "none")


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    llm_backend: str
    openai_base_url: str | None
    openai_api_key: str | None
    model: str | None
    local_model: str | None
    local_threads: int
    llm_timeout: float
    dedupe_hours: float

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        e = os.environ if env is None else env
        backend = e.get("POSTMORTEM_LLM", "auto").strip().lower()
        if backend not in LLM_BACKENDS:
            raise ValueError(f"POSTMORTEM_LLM must be one of {', '.join(LLM_BACKENDS)}")
        return cls(
            home=Path(e.get("POSTMORTEM_HOME") or user_data_dir("agent-postmortem", appauthor=False)),
            database_url=e.get("POSTMORTEM_DATABASE_URL") or None,
            llm_backend=backend,
            openai_base_url=e.get("OPENAI_BASE_URL") or None,
            openai_api_key=e.get("OPENAI_API_KEY") or None,
            model=e.get("POSTMORTEM_MODEL") or None,
            local_model=e.get("POSTMORTEM_LOCAL_MODEL") or None,
            local_threads=int(e.get("POSTMORTEM_LOCAL_THREADS", "1")),
            llm_timeout=float(e.get("POSTMORTEM_LLM_TIMEOUT", "120")),
            dedupe_hours=float(e.get("POSTMORTEM_DEDUPE_HOURS", "24")),
        )
