"""Settings from the environment. Read once, at the edge (CLI / server start), and passed down."""

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir

from agent_postmortem import setting_values as read
from agent_postmortem.analysis.policy import TriagePolicy, policy_path
from agent_postmortem.llm.registry import BUILTIN
from agent_postmortem.setting_values import setting_path as setting_path
from agent_postmortem.setting_values import shown_url as shown_url

LLM_BACKENDS = ("auto", "sampling", *BUILTIN, "none")  # POSTMORTEM_LLM: the backends are llm/registry.py's
DEFAULT_TEAM = "default"
TEAM_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # always fullmatch: `$` would let a trailing newline through


class TeamConfigError(ValueError):
    """The tokens file or a team name is not usable; the message says how to fix it."""


def check_team(name: str) -> str:
    if not TEAM_NAME.fullmatch(name):
        raise TeamConfigError(
            f"invalid team name {name[:50]!r}: use 1-40 lowercase letters, digits and dashes, starting with a letter "
            "or digit"
        )
    return name


def team_home(home: Path, team: str) -> Path:
    """Where a team's SQLite store and vector index live; the default team keeps the home itself."""
    return home if check_team(team) == DEFAULT_TEAM else home / "teams" / team


EMBEDDERS = ("onnx-int8", "onnx", "torch")


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
    draft_timeout: float | None  # a whole draft; None: the backend's own limit (llm/registry.py)
    dedupe_hours: float
    embedder: str
    model_cache: Path
    triage_policy: TriagePolicy
    http_token: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    http_rate_per_minute: int = 600
    tokens_file: Path | None = None  # team tokens (server/http/teams.py); replaces POSTMORTEM_HTTP_TOKEN
    trusted_proxies: tuple[str, ...] = ()  # addresses or networks whose X-Forwarded-For is believed
    team: str = "default"  # whose knowledge base a CLI command or the SDK works on

    @property
    def store_home(self) -> Path:
        """The team's own directory: its SQLite store and vector index (the default team uses the home itself)."""
        return team_home(self.home, self.team)

    def for_team(self, team: str) -> "Settings":
        return replace(self, team=team)

    http_stateless: bool = False
    chroma_url: str | None = None
    chroma_database: str = "postmortem"
    judge_timeout: float = 10.0  # seconds for one judgement by the configured model (service/judging.py); 0: never

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        e = os.environ if env is None else env
        v = read.given(e)  # a variable set to blanks reads as unset, and a value without the spaces around it
        backend = read.choice(v.get("POSTMORTEM_LLM", "auto"), LLM_BACKENDS, "POSTMORTEM_LLM")

        def path(name: str) -> Path | None:
            return setting_path(v.get(name), e, name)

        home = path("POSTMORTEM_HOME") or Path(user_data_dir("agent-postmortem", appauthor=False))
        policy = v.get("POSTMORTEM_TRIAGE_POLICY")
        policy_file = policy_path(home, policy and str(setting_path(policy, e, "POSTMORTEM_TRIAGE_POLICY")))
        return cls(
            home=home,
            database_url=read.url(v.get("POSTMORTEM_DATABASE_URL"), "POSTMORTEM_DATABASE_URL", read.DATABASE_SCHEMES),
            llm_backend=backend,
            openai_base_url=read.endpoint(
                v.get("OPENAI_BASE_URL"), "OPENAI_BASE_URL", key="OPENAI_API_KEY", key_set=bool(v.get("OPENAI_API_KEY"))
            ),
            openai_api_key=read.one_line(v.get("OPENAI_API_KEY"), "OPENAI_API_KEY"),
            model=v.get("POSTMORTEM_MODEL") or None,
            local_model=str(path("POSTMORTEM_LOCAL_MODEL") or "") or None,
            # llama.cpp starts every thread asked for: 100000 ended the process with a segmentation fault
            local_threads=read.positive(
                v.get("POSTMORTEM_LOCAL_THREADS") or "1",
                "POSTMORTEM_LOCAL_THREADS",
                high=os.cpu_count() or 1,
                unit=" (this machine's CPU count)",
            ),
            llm_timeout=read.seconds(v.get("POSTMORTEM_LLM_TIMEOUT"), "POSTMORTEM_LLM_TIMEOUT") or 120.0,
            draft_timeout=read.seconds(v.get("POSTMORTEM_DRAFT_TIMEOUT"), "POSTMORTEM_DRAFT_TIMEOUT"),
            dedupe_hours=read.number(
                v.get("POSTMORTEM_DEDUPE_HOURS"),
                default=24.0,
                high=87_600,
                rule="POSTMORTEM_DEDUPE_HOURS must be a number of hours from 0 (no repeats) to 87600",
            ),
            embedder=_embedder(v.get("POSTMORTEM_EMBEDDER", "onnx-int8")),
            model_cache=_directory(path("POSTMORTEM_MODEL_CACHE"), "POSTMORTEM_MODEL_CACHE")
            or Path(user_cache_dir("agent-postmortem", appauthor=False)),
            triage_policy=TriagePolicy() if policy_file is None else TriagePolicy.load(policy_file),
            http_token=read.one_line(v.get("POSTMORTEM_HTTP_TOKEN"), "POSTMORTEM_HTTP_TOKEN"),
            allowed_hosts=read.hosts(v.get("POSTMORTEM_ALLOWED_HOSTS")),
            allowed_origins=read.origins(v.get("POSTMORTEM_ALLOWED_ORIGINS")),
            http_rate_per_minute=read.positive(v.get("POSTMORTEM_HTTP_RATE") or "600", "POSTMORTEM_HTTP_RATE"),
            trusted_proxies=read.proxies(v.get("POSTMORTEM_TRUSTED_PROXIES")),
            tokens_file=path("POSTMORTEM_TOKENS_FILE"),
            team=_team(v.get("POSTMORTEM_TEAM") or "default", path("POSTMORTEM_TOKENS_FILE")),
            http_stateless=read.flag(v.get("POSTMORTEM_HTTP_STATELESS"), "POSTMORTEM_HTTP_STATELESS"),
            chroma_url=read.bare_url(v.get("POSTMORTEM_CHROMA_URL"), "POSTMORTEM_CHROMA_URL", client="Chroma client"),
            chroma_database=v.get("POSTMORTEM_CHROMA_DATABASE") or "postmortem",
            judge_timeout=read.number(
                v.get("POSTMORTEM_JUDGE_TIMEOUT"),
                default=10.0,
                high=600,
                rule="POSTMORTEM_JUDGE_TIMEOUT must be a number of seconds from 0 (never ask the model) to 600",
            ),
        )


def _team(name: str, tokens_file: Path | None) -> str:
    """The team named, refused when a tokens file is set and no token of it is that team's: a misspelt
    POSTMORTEM_TEAM read an empty knowledge base that no server serves (and a capture would be stored there)."""
    team = check_team(name.strip())
    if team == DEFAULT_TEAM or not tokens_file:
        return team
    from agent_postmortem.tokens_file import load_tokens  # the server's own reader, without the MCP SDK

    try:
        teams = sorted({entry.team for entry in load_tokens(Path(tokens_file), empty_ok=True)})
    except (OSError, UnicodeDecodeError, TeamConfigError):
        return team  # the file's own problem is reported where it is read
    if team not in teams:
        raise ValueError(
            f"POSTMORTEM_TEAM={team} is no team of POSTMORTEM_TOKENS_FILE ({tokens_file}), whose teams are "
            f"{', '.join(teams) or 'none yet'}; `postmortem token add --team {team}` adds it"
        )
    return team


def _directory(path: Path | None, name: str) -> Path | None:
    """A directory setting that names a file is refused naming the setting: the export into it failed as "PATH is a
    file: give a directory to write in", which named neither the setting nor when it is used."""
    if path is not None and path.exists() and not path.is_dir():
        raise ValueError(f"{name} names a file, {path}: point it at a directory (it is made when missing)")
    return path


def _embedder(value: str) -> str:
    """onnx-int8 runs on the file shipped in the package; onnx (exported at first use) and torch need the torch extra,
    which is looked for without importing it."""
    from agent_postmortem.store.search.extras import INSTALL_HINT, missing_torch_extra

    embedder = read.choice(value, EMBEDDERS, "POSTMORTEM_EMBEDDER")
    if embedder != "onnx-int8" and missing_torch_extra():
        raise ValueError(
            f"POSTMORTEM_EMBEDDER={embedder} needs torch, which this install does not have: run `{INSTALL_HINT}` "
            "or use the default onnx-int8"
        )
    return embedder
