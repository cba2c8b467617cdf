"""How each setting's text is read and checked: paths as a shell would expand them, URLs, numbers, flags, hosts,
origins and proxies. Every refusal names the variable and what it must be, never the value (a URL carries its
password)."""

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path

_VARIABLE = re.compile(r"\$(\w+|\{(\w+)\})")


# Every variable the product reads (docs/configuration.md has each), and those its own tests, benchmarks and child
# processes use: any other POSTMORTEM_ name is a misspelt one, said at start (cli/__init__.py).
NAMES = (
    "POSTMORTEM_HOME", "POSTMORTEM_DATABASE_URL", "POSTMORTEM_CHROMA_URL", "POSTMORTEM_CHROMA_DATABASE",
    "POSTMORTEM_LLM", "OPENAI_BASE_URL", "OPENAI_API_KEY", "POSTMORTEM_MODEL", "POSTMORTEM_LOCAL_MODEL",
    "POSTMORTEM_LOCAL_THREADS", "POSTMORTEM_LLM_TIMEOUT", "POSTMORTEM_DRAFT_TIMEOUT", "POSTMORTEM_JUDGE_TIMEOUT",
    "POSTMORTEM_DEDUPE_HOURS", "POSTMORTEM_EMBEDDER", "POSTMORTEM_MODEL_CACHE", "POSTMORTEM_TRIAGE_POLICY",
    "POSTMORTEM_HTTP_TOKEN", "POSTMORTEM_TOKENS_FILE", "POSTMORTEM_TEAM", "POSTMORTEM_ALLOWED_HOSTS",
    "POSTMORTEM_ALLOWED_ORIGINS", "POSTMORTEM_HTTP_RATE", "POSTMORTEM_TRUSTED_PROXIES", "POSTMORTEM_HTTP_STATELESS",
    "POSTMORTEM_URL", "POSTMORTEM_TOKEN", "POSTMORTEM_LOG_LEVEL",
)  # fmt: skip
PREFIX = "POSTMORTEM_"
INTERNAL = (
    "POSTMORTEM_AIID", "POSTMORTEM_TEST_DATABASE_URL", "POSTMORTEM_TEST_CHROMIUM", "POSTMORTEM_CRASH_ROUNDS",
    "POSTMORTEM_TEAM_READS", "POSTMORTEM_PARENT_PID", "POSTMORTEM_MAX_FILE_BYTES", "POSTMORTEM_REBUILD_DATABASE_URL",
)  # fmt: skip
# The name older OpenAI clients (and tools built on them) read for what OPENAI_BASE_URL is here: set instead of it,
# drafts went to OpenAI's own endpoint.
OTHER_NAMES = {"OPENAI_API_BASE": "OPENAI_BASE_URL"}


def given(env: Mapping[str, str]) -> dict[str, str]:
    """The settings that are set, each without the spaces and line breaks around it; one set to nothing but those
    reads as unset, as most settings already did: POSTMORTEM_LLM="" (an MCP config's blank entry) was refused, and
    an API key pasted with its line break made every request fail as "cannot reach the LLM endpoint"."""
    return {name: env[name].strip() for name in NAMES if name in env and env[name].strip()}


def misspelt(env: Mapping[str, str]) -> list[str]:
    """A sentence for each variable that looks meant for this product and that it does not read, with the setting
    meant when one is close: POSTMORTEM_MODLE=... or OPENAI_API_BASE=... were ignored without a word."""
    import difflib

    said = []
    for name in sorted(env):
        if name in OTHER_NAMES and not env.get(OTHER_NAMES[name], "").strip():
            said.append(f"{name} is set and {OTHER_NAMES[name]} is not: agent-postmortem reads {OTHER_NAMES[name]}")
        elif name.startswith(PREFIX) and name not in NAMES + INTERNAL:
            # compared without the prefix they share, which made every name look close to every other
            close = difflib.get_close_matches(name[len(PREFIX) :], [n[len(PREFIX) :] for n in NAMES], n=1, cutoff=0.6)
            meant = f": did you mean {PREFIX}{close[0]}?" if close else " (docs/configuration.md lists them)"
            said.append(f"{name} is not a setting of agent-postmortem and is ignored{meant}")
    return said


def one_line(value: str | None, name: str) -> str | None:
    """A key or token: one line of text, sent in an HTTP header, where a line break or control character inside it
    failed every request as an unreachable endpoint. Never repeated."""
    if value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{name} holds a line break or control character: give the key alone, on one line")
    return value


def setting_path(value: str | None, env: Mapping[str, str] | None = None, name: str = "a path setting") -> Path | None:
    """A path setting as a shell would have expanded it (`~`, `~/pm`, `$HOME/pm`, `${XDG_DATA_HOME}/pm`); None when
    not set. MCP clients start the server with their config's `env` as it is, without a shell: `"POSTMORTEM_HOME":
    "~/pm"` made a directory named `~` in whatever directory the client started the server in, a knowledge base the
    CLI (whose shell expands `~`) never saw. A variable that is not set is refused, naming it: left as written it made
    a directory named `$XDG_DATA_HOME` there in the same way (a shell would have made `/pm` of it)."""
    if not value:
        return None
    env = os.environ if env is None else env

    def variable(match: re.Match[str]) -> str:
        wanted = match.group(2) or match.group(1)
        if wanted not in env:
            raise ValueError(
                f"{name} names ${wanted}, which is not set in this process's environment (an MCP client passes only "
                "its config's env): set it there, or write the path out"
            )
        return env[wanted]

    expanded = _VARIABLE.sub(variable, value)
    if expanded == "~" or expanded.startswith("~/"):
        home = env.get("HOME")
        return Path(home) / expanded[2:] if home else Path(expanded).expanduser()
    return Path(expanded).expanduser()


def choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    value = value.strip().lower()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}")
    return value


def flag(value: str | None, name: str) -> bool:
    value = (value or "").strip().lower()
    if value not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ValueError(f"{name} must be 1 or 0")
    return value in ("1", "true", "yes")


def seconds(value: str | None, name: str) -> float | None:
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


def url(value: str | None, name: str, schemes: tuple[str, ...]) -> str | None:
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
    if parts.scheme in DATABASE_SCHEMES and _sets_search_path(parts.query):
        raise ValueError(
            f"{name} sets search_path in its options: remove it; the schema is chosen per team (public for the "
            "default team, team_<name> for POSTMORTEM_TEAM=<name>)"
        )
    return url


def _sets_search_path(query: str) -> bool:
    """Whether a database URL's `options` (libpq's `-c name=value`, `--name=value`) set search_path: a schema chosen
    by hand was created, then the team's own search_path was added beside it and the connection failed."""
    from urllib.parse import parse_qs

    options = " ".join(parse_qs(query).get("options", []))
    return re.search(r"search_path\s*=", options, re.IGNORECASE) is not None


def endpoint(value: str | None, name: str, *, key: str, key_set: bool) -> str | None:
    """An HTTP endpoint URL whose API key has a setting of its own (`key`), refused when it carries a user name or
    password while the key is set too: the HTTP client sends the URL's as Basic auth in place of the key (a bearer
    token), and the endpoint's refusal then read as a wrong key. Alone, they are sent (a proxy that takes Basic
    auth). Neither is repeated."""
    from urllib.parse import urlsplit

    found = url(value, name, HTTP_SCHEMES)
    if found is not None and key_set and "@" in urlsplit(found).netloc:
        raise ValueError(
            f"{name} holds a user name or password (before an '@') and {key} is set, but only one can be sent: the "
            f"URL's, in place of the key. Give the URL without them (such as https://llm.example.com/v1) to send the "
            f"key, or unset {key} for a proxy that takes the user name and password"
        )
    return found


def bare_url(value: str | None, name: str, *, client: str) -> str | None:
    """An HTTP URL for a client that is given only its host and port (`client`, such as the Chroma client): a user
    name or password in it would not be sent, and the server's refusal would read as the server's fault, so it is
    refused at start. Neither is repeated."""
    from urllib.parse import urlsplit

    found = url(value, name, HTTP_SCHEMES)
    if found is not None and "@" in urlsplit(found).netloc:
        raise ValueError(
            f"{name} holds a user name or password (before an '@'), which the {client} does not send; give the URL "
            f"without them, such as http://127.0.0.1:8000, and put a server that needs them behind a proxy on a "
            f"private network"
        )
    return found


def number(value: str | None, *, default: float, high: float, rule: str) -> float:
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


def positive(value: str, name: str, *, high: int | None = None, unit: str = "") -> int:
    """A whole number of at least 1, and at most `high` (`unit` says what that bound is) when given."""
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    if number < 1 or (high is not None and number > high):
        most = f" and at most {high}{unit}" if high is not None else ""
        raise ValueError(f"{name} must be a whole number of at least 1{most}")
    return number


def proxies(value: str | None) -> tuple[str, ...]:
    proxies = listed(value)
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


def hosts(value: str | None) -> tuple[str, ...]:
    """POSTMORTEM_ALLOWED_HOSTS, each entry compared exactly with the Host header: a URL (`http://pm:8000/`) or a
    `:*` wildcard was taken, and then every request got 421 (or the SDK's prefix match, which the docs say is off)."""
    hosts = listed(value)
    if not all(re.fullmatch(HOST, host) for host in hosts):
        raise ValueError(
            "POSTMORTEM_ALLOWED_HOSTS must list the host:port names clients use, as a Host header carries them "
            "(such as pm.internal:8000 or pm.internal), comma-separated: no scheme, path or * wildcard"
        )
    return hosts


def origins(value: str | None) -> tuple[str, ...]:
    """POSTMORTEM_ALLOWED_ORIGINS, each compared exactly with a browser's Origin header, which has no path: an entry
    with a trailing slash or without its scheme matched no browser, and every sign-in was refused."""
    origins = listed(value)
    if not all(re.fullmatch(rf"https?://{HOST}", origin) for origin in origins):
        raise ValueError(
            "POSTMORTEM_ALLOWED_ORIGINS must list origins as a browser sends them (such as https://pm.example.com "
            "or http://pm.internal:8000), comma-separated: a scheme and a host, no path, not even a trailing /"
        )
    return origins


def listed(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())
