"""Settings from the environment. Read once, at the edge (CLI / server start), and passed down."""

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir

from agent_postmortem.analysis.policy import TriagePolicy, policy_path
from agent_postmortem.llm.registry import BUILTIN

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
        backend = _choice(e.get("POSTMORTEM_LLM", "auto"), LLM_BACKENDS, "POSTMORTEM_LLM")
        home = setting_path(e.get("POSTMORTEM_HOME"), e) or Path(user_data_dir("agent-postmortem", appauthor=False))
        policy = e.get("POSTMORTEM_TRIAGE_POLICY")
        policy_file = policy_path(home, policy and str(setting_path(policy, e)))
        return cls(
            home=home,
            database_url=_url(e.get("POSTMORTEM_DATABASE_URL"), "POSTMORTEM_DATABASE_URL", DATABASE_SCHEMES),
            llm_backend=backend,
            openai_base_url=_url(e.get("OPENAI_BASE_URL"), "OPENAI_BASE_URL", HTTP_SCHEMES),
            openai_api_key=e.get("OPENAI_API_KEY") or None,
            model=e.get("POSTMORTEM_MODEL") or None,
            local_model=str(setting_path(e.get("POSTMORTEM_LOCAL_MODEL"), e) or "") or None,
            local_threads=_positive(e.get("POSTMORTEM_LOCAL_THREADS") or "1", "POSTMORTEM_LOCAL_THREADS"),
            llm_timeout=_seconds(e.get("POSTMORTEM_LLM_TIMEOUT"), "POSTMORTEM_LLM_TIMEOUT") or 120.0,
            draft_timeout=_seconds(e.get("POSTMORTEM_DRAFT_TIMEOUT"), "POSTMORTEM_DRAFT_TIMEOUT"),
            dedupe_hours=_number(
                e.get("POSTMORTEM_DEDUPE_HOURS"),
                default=24.0,
                high=87_600,
                rule="POSTMORTEM_DEDUPE_HOURS must be a number of hours from 0 (no repeats) to 87600",
            ),
            embedder=_embedder(e.get("POSTMORTEM_EMBEDDER", "onnx-int8")),
            model_cache=setting_path(e.get("POSTMORTEM_MODEL_CACHE"), e)
            or Path(user_cache_dir("agent-postmortem", appauthor=False)),
            triage_policy=TriagePolicy() if policy_file is None else TriagePolicy.load(policy_file),
            http_token=e.get("POSTMORTEM_HTTP_TOKEN") or None,
            allowed_hosts=_hosts(e.get("POSTMORTEM_ALLOWED_HOSTS")),
            allowed_origins=_origins(e.get("POSTMORTEM_ALLOWED_ORIGINS")),
            http_rate_per_minute=_positive(e.get("POSTMORTEM_HTTP_RATE") or "600", "POSTMORTEM_HTTP_RATE"),
            trusted_proxies=_proxies(e.get("POSTMORTEM_TRUSTED_PROXIES")),
            tokens_file=setting_path(e.get("POSTMORTEM_TOKENS_FILE"), e),
            team=_team(e.get("POSTMORTEM_TEAM") or "default", setting_path(e.get("POSTMORTEM_TOKENS_FILE"), e)),
            http_stateless=_flag(e.get("POSTMORTEM_HTTP_STATELESS"), "POSTMORTEM_HTTP_STATELESS"),
            chroma_url=_url(e.get("POSTMORTEM_CHROMA_URL"), "POSTMORTEM_CHROMA_URL", HTTP_SCHEMES),
            chroma_database=e.get("POSTMORTEM_CHROMA_DATABASE") or "postmortem",
            judge_timeout=_number(
                e.get("POSTMORTEM_JUDGE_TIMEOUT"),
                default=10.0,
                high=600,
                rule="POSTMORTEM_JUDGE_TIMEOUT must be a number of seconds from 0 (never ask the model) to 600",
            ),
        )


_VARIABLE = re.compile(r"\$(\w+|\{(\w+)\})")


def setting_path(value: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """A path setting as a shell would have expanded it (`~`, `~/pm`, `$HOME/pm`, `${XDG_DATA_HOME}/pm`; a variable
    not set is left as written); None when not set. MCP clients start the server with their config's `env` as it is,
    without a shell: `"POSTMORTEM_HOME": "~/pm"` made a directory named `~` in whatever directory the client started
    the server in, a knowledge base the CLI (whose shell expands `~`) never saw."""
    if not value:
        return None
    env = os.environ if env is None else env

    def variable(match: re.Match[str]) -> str:
        name = match.group(2) or match.group(1)
        return env.get(name, match.group(0))

    expanded = _VARIABLE.sub(variable, value)
    if expanded == "~" or expanded.startswith("~/"):
        home = env.get("HOME")
        return Path(home) / expanded[2:] if home else Path(expanded).expanduser()
    return Path(expanded).expanduser()


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


def _embedder(value: str) -> str:
    """onnx-int8 runs on the file shipped in the package; onnx (exported at first use) and torch need the torch extra,
    which is looked for without importing it."""
    from agent_postmortem.store.search.extras import INSTALL_HINT, missing_torch_extra

    embedder = _choice(value, EMBEDDERS, "POSTMORTEM_EMBEDDER")
    if embedder != "onnx-int8" and missing_torch_extra():
        raise ValueError(
            f"POSTMORTEM_EMBEDDER={embedder} needs torch, which this install does not have: run `{INSTALL_HINT}` "
            "or use the default onnx-int8"
        )
    return embedder


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    value = value.strip().lower()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}")
    return value


def _flag(value: str | None, name: str) -> bool:
    value = (value or "").strip().lower()
    if value not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ValueError(f"{name} must be 1 or 0")
    return value in ("1", "true", "yes")


def _seconds(value: str | None, name: str) -> float | None:
    if not (value or "").strip():
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 86_400:
        raise ValueError(f"{name} must be a number of seconds above 0 (at most 86400)")
    return seconds


HTTP_SCHEMES = ("http", "https")
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "postgres")


def shown_url(url: str) -> str:
    """A URL as messages show it: without the credentials it may carry (`user:password@`, a `?key=` query)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _url(value: str | None, name: str, schemes: tuple[str, ...]) -> str | None:
    """A URL setting, refused at once when no client could use it (`localhost:5432/db` without its scheme was an
    "unexpected ArgumentError"; `pm:8000` was retried before it failed). The value is never repeated: a database
    URL carries its password."""
    from urllib.parse import urlsplit

    if not (value or "").strip():
        return None
    url = str(value).strip()
    encode = "percent-encode ':', '/', '@', '?' and '#' in its user name and password (%3A, %2F, %40, %3F, %23)"
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed IPv6 address
        raise ValueError(f"{name} has a malformed host; {encode}") from None
    # a database URL may leave the host to libpq: the default socket (postgresql:///db) or ?host=/run/postgresql
    if parts.scheme not in schemes or not (parts.scheme in DATABASE_SCHEMES or parts.hostname):
        example = {"http": "http://127.0.0.1:8000", "sqlite": "postgresql://user:password@host:5432/postmortem"}
        starts = " or ".join(f"{scheme}://" for scheme in schemes[:2])
        raise ValueError(f"{name} must be a URL that starts with {starts}, such as {example[schemes[0]]}")
    try:
        parts.port  # noqa: B018 - read for its check: a port that is not a number from 0 to 65535 raises
    except ValueError:  # it was "must start with postgresql://", which it did; a ':' in a password reads as a port
        raise ValueError(f"{name} has a port that is not a number from 0 to 65535; {encode}") from None
    if parts.netloc.count("@") > 1:  # the driver took the password's end for the host, and named it in its error
        raise ValueError(f"{name} has more than one '@' before its host; {encode}")
    return url


def _number(value: str | None, *, default: float, high: float, rule: str) -> float:
    """An optional number from 0 to `high` (`default` when unset or blank); `rule` says what is allowed, naming the
    variable and never repeating the value."""
    if not (value or "").strip():
        return default
    try:
        number = float(str(value).strip())
    except ValueError:
        number = -1.0
    if not 0 <= number <= high:
        raise ValueError(rule)
    return number


def _positive(value: str, name: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{name} must be a whole number of at least 1")
    return number


def _proxies(value: str | None) -> tuple[str, ...]:
    proxies = _list(value)
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ValueError(
                "POSTMORTEM_TRUSTED_PROXIES must list IP addresses or networks (such as 10.0.0.5 or 10.0.0.0/24)"
            ) from None
    return proxies


# What a Host header can hold: a name or IPv4 address, or an IPv6 address in brackets, and an optional port.
HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"


def _hosts(value: str | None) -> tuple[str, ...]:
    """POSTMORTEM_ALLOWED_HOSTS, each entry compared exactly with the Host header: a URL (`http://pm:8000/`) or a
    `:*` wildcard was taken, and then every request got 421 (or the SDK's prefix match, which the docs say is off)."""
    hosts = _list(value)
    if not all(re.fullmatch(HOST, host) for host in hosts):
        raise ValueError(
            "POSTMORTEM_ALLOWED_HOSTS must list the host:port names clients use, as a Host header carries them "
            "(such as pm.internal:8000 or pm.internal), comma-separated: no scheme, path or * wildcard"
        )
    return hosts


def _origins(value: str | None) -> tuple[str, ...]:
    """POSTMORTEM_ALLOWED_ORIGINS, each compared exactly with a browser's Origin header, which has no path: an entry
    with a trailing slash or without its scheme matched no browser, and every sign-in was refused."""
    origins = _list(value)
    if not all(re.fullmatch(rf"https?://{HOST}", origin) for origin in origins):
        raise ValueError(
            "POSTMORTEM_ALLOWED_ORIGINS must list origins as a browser sends them (such as https://pm.example.com "
            "or http://pm.internal:8000), comma-separated: a scheme and a host, no path, not even a trailing /"
        )
    return origins


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())
