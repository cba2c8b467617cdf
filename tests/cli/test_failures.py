"""The `postmortem` command line when something goes wrong, as a real subprocess: Ctrl-C at any moment, an unknown log
level, a misspelt setting, a database server that cannot be reached or is full, and a setting no client could use."""

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.processes import CLI, environment, postmortem

pytestmark = pytest.mark.slow


# Ctrl-C landing between a thread pool starting a worker and registering it (CPython's ThreadPoolExecutor): the worker
# is never told to stop, and the interpreter's exit waits for it. The pools' workers are the search's BM25 ranking.
UNLUCKY_CTRL_C = """
import sys, threading
from agent_postmortem.cli import main
started = threading.Thread.start
def start(thread):
    started(thread)
    if thread.name.startswith("bm25"):
        raise KeyboardInterrupt
threading.Thread.start = start
sys.argv = ["postmortem", *sys.argv[1:]]
main()
"""


def test_ctrl_c_while_a_search_starts_its_ranking_thread_ends_the_command(tmp_path: Path) -> None:
    """It said "interrupted" and then hung for ever at exit (1 in 40 of `postmortem search` runs sent SIGINT at
    random moments); now it exits 130 at once."""
    home = tmp_path / "home"
    assert postmortem("capture", "--title", "Fares API returned 429 Too Many Requests", home=home).returncode == 0
    command = [sys.executable, "-c", UNLUCKY_CTRL_C, "search", "rate limited by the fares provider"]
    interrupted = subprocess.run(command, env=environment(home), capture_output=True, timeout=60, check=False)
    assert interrupted.returncode == 130 and interrupted.stderr.decode().strip() == "interrupted"


# A Ctrl-C that a library turns into another exception on its way up (an ImportError from an interrupted import, or
# pydantic-core's PanicException, a BaseException), or one that lands while the CLI is still importing itself.
CTRL_C_AT = """
import builtins, signal, sys
from agent_postmortem.cli import main
from agent_postmortem.store.search.knowledge import KnowledgeBase
where = sys.argv.pop(1)
class PanicException(BaseException): ...
def search(*args, **kwargs):
    try:
        signal.raise_signal(signal.SIGINT)
    except KeyboardInterrupt as e:
        raise (ImportError("interrupted import") if where == "converted" else PanicException("unwrap on an Err")) from e
KnowledgeBase.search = search
importing = builtins.__import__
def imports(name, *args, **kwargs):
    if where == "import" and name == "agent_postmortem.cli.app":
        signal.raise_signal(signal.SIGINT)
    return importing(name, *args, **kwargs)
builtins.__import__ = imports
sys.argv = ["postmortem", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("where", ["converted", "panic", "import"])
def test_ctrl_c_is_said_as_interrupted_whatever_a_library_turned_it_into(tmp_path: Path, where: str) -> None:
    """It said "error: unexpected ImportError" (1 in 40 interrupted searches), printed a Rust panic and a traceback,
    or a KeyboardInterrupt traceback while the CLI was still importing."""
    home = tmp_path / "home"
    assert postmortem("capture", "--title", "Fares API returned 429 Too Many Requests", home=home).returncode == 0
    command = [sys.executable, "-c", CTRL_C_AT, where, "search", "rate limited by the fares provider"]
    interrupted = subprocess.run(command, env=environment(home), capture_output=True, timeout=60, check=False)
    assert interrupted.returncode == 130 and interrupted.stderr.decode().strip() == "interrupted", interrupted.stderr


def test_an_unknown_log_level_is_one_line_naming_the_levels_and_the_command_runs(tmp_path: Path) -> None:
    """POSTMORTEM_LOG_LEVEL=verbose crashed every command, `serve` included, with logging's traceback."""
    for args in (["list"], ["--version"]):
        done = postmortem(*args, home=tmp_path / "home", env={"POSTMORTEM_LOG_LEVEL": "verbose"})
        said = done.stderr.decode()
        assert done.returncode == 0 and "Traceback" not in said, said
        assert said.count("POSTMORTEM_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR") == 1, said
        assert "verbose" not in said


def test_a_misspelt_setting_is_one_line_naming_the_one_meant_and_the_command_runs(tmp_path: Path) -> None:
    """POSTMORTEM_MODLE=... in a shell or an MCP config's env was ignored without a word."""
    done = postmortem("list", home=tmp_path / "home", env={"POSTMORTEM_MODLE": "qwen-CANARY"})
    said = done.stderr.decode()
    assert done.returncode == 0 and "Traceback" not in said and "CANARY" not in said, said
    assert said.count("POSTMORTEM_MODLE is not a setting of agent-postmortem and is ignored: did you mean "
                      "POSTMORTEM_MODEL?") == 1, said  # fmt: skip


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://agent:sk-live-CANARY@127.0.0.1:9/postmortem",  # port 9 (discard): nothing listens
        # libpq's Unix-socket forms: they were refused as "must be a URL that starts with sqlite:// or postgresql://",
        # and a socket that was not there was "could not complete this ... If the disk is full"
        "postgresql+psycopg://agent:sk-live-CANARY@/postmortem?host=/nonexistent-socket-dir&port=5432",
        "postgresql:///postmortem?host=/nonexistent-socket-dir&password=sk-live-CANARY",
        # a host name that does not resolve, and URL options libpq refuses: "could not complete this ... If the disk
        # is full", or "unexpected ProgrammingError"
        "postgresql://agent:sk-live-CANARY@no-such-host.invalid/postmortem",
        "postgresql://agent:sk-live-CANARY@127.0.0.1:9/postmortem?sslmode=sometimes",
        "postgresql://agent:sk-live-CANARY@127.0.0.1:9/postmortem?connect_timeout=soon",
        "postgresql://agent:sk-live-CANARY@127.0.0.1:9/postmortem?sslmod=require",
    ],
    ids=["tcp", "socket-query", "socket-default-host", "dns", "bad-sslmode", "bad-timeout", "unknown-option"],
)
def test_a_database_server_that_cannot_be_reached_is_said_so_with_what_to_check(tmp_path: Path, url: str) -> None:
    """`list` on an unreachable PostgreSQL said the change was rolled back and the disk might be full."""
    done = postmortem("list", home=tmp_path / "home", env={"POSTMORTEM_DATABASE_URL": url})
    said = done.stderr.decode()
    assert done.returncode == 1 and said.count("\n") == 1, said
    assert "could not connect" in said and "POSTMORTEM_DATABASE_URL" in said, said
    assert "disk" not in said and "rolled back" not in said and "CANARY" not in said, said


@pytest.mark.postgresql
def test_a_database_server_at_its_connection_limit_is_said_so_not_told_to_check_the_url(
    tmp_path: Path, postgres_server: Any
) -> None:
    """Several teams and replicas on one database open connections per team: past the server's max_connections every
    call failed with "check POSTMORTEM_DATABASE_URL and that the database server is up", and both were fine."""
    from sqlalchemy.engine import make_url

    url = make_url(postgres_server.create())
    role = f"pm_full_{os.getpid()}"
    postgres_server._admin("CREATE ROLE {0} LOGIN CONNECTION LIMIT 0", role)
    try:
        full = url.set(username=role, password=None).render_as_string(hide_password=False)
        done = postmortem("list", home=tmp_path / "home", env={"POSTMORTEM_DATABASE_URL": full})
    finally:
        postgres_server._admin("DROP ROLE {0}", role)
    said = done.stderr.decode()
    assert done.returncode == 1 and said.count("\n") == 1, said
    assert "too many connections" in said and "max_connections" in said and "CONNECTION LIMIT" in said, said
    assert "Check POSTMORTEM_DATABASE_URL" not in said and "disk" not in said, said


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("POSTMORTEM_DATABASE_URL", "db-host:5432/pm?password=CANARY", "must be a URL that starts with sqlite://"),
        ("POSTMORTEM_DATABASE_URL", "mysql://agent:CANARY@db-host/pm", "must be a URL that starts with sqlite://"),
        # it was "must be a URL that starts with sqlite:// or postgresql://", which it did
        ("POSTMORTEM_DATABASE_URL", "postgresql://agent:p@db-host:CANARY/pm", "has a port that is not a number"),
        ("POSTMORTEM_DATABASE_URL", "postgresql://agent:p@db-host:99999/pm", "has a port that is not a number"),
        ("POSTMORTEM_DATABASE_URL", "postgresql://agent:x/CANARY@db-host/pm", "has a port that is not a number"),
        # a password holding '@' unencoded: the driver took its end for the host and named it in its error
        ("POSTMORTEM_DATABASE_URL", "postgresql://agent:p@CANARY@127.0.0.1:9/pm", "has more than one '@' before"),
        # it made a schema of that name, then failed as "unexpected ProgrammingError": the product picks the schema
        ("POSTMORTEM_DATABASE_URL", "postgresql://a:CANARY@db/pm?options=-csearch_path%3DS3", "sets search_path"),
        ("POSTMORTEM_DATABASE_URL", "postgresql://a:CANARY@db/pm?options=-c%20SEARCH_PATH%3Dx", "sets search_path"),
        ("POSTMORTEM_CHROMA_URL", "CANARY-host:8000", "must be a URL that starts with http:// or https://"),
        # the Chroma client is given the host and port alone: the password was dropped, unsaid
        ("POSTMORTEM_CHROMA_URL", "http://agent:CANARY@chroma:8000", "holds a user name or password (before an '@')"),
        ("OPENAI_BASE_URL", "CANARY-host:11434/v1", "must be a URL that starts with http:// or https://"),
        ("POSTMORTEM_DEDUPE_HOURS", "CANARY", "must be a number of hours from 0"),
        ("POSTMORTEM_DEDUPE_HOURS", "-3", "must be a number of hours from 0"),
        ("POSTMORTEM_LLM_TIMEOUT", "-1", "must be a number of seconds above 0"),
        ("POSTMORTEM_LOCAL_THREADS", "CANARY", "must be a whole number of at least 1"),
        # taken as given, they matched no Host or Origin header: the server started and answered every request 421
        ("POSTMORTEM_ALLOWED_HOSTS", "http://CANARY.internal:8000/", "must list the host:port names clients use"),
        ("POSTMORTEM_ALLOWED_HOSTS", "pm.internal:8000, CANARY.internal:*", "must list the host:port names"),
        ("POSTMORTEM_ALLOWED_HOSTS", "CANARY internal:8000", "must list the host:port names clients use"),
        ("POSTMORTEM_ALLOWED_ORIGINS", "https://CANARY.example.com/", "must list origins as a browser sends them"),
        ("POSTMORTEM_ALLOWED_ORIGINS", "CANARY.example.com:8000", "must list origins as a browser sends them"),
    ],
    ids=["db-no-scheme", "db-mysql", "db-port", "db-port-range", "db-slash-in-password", "db-at-in-password",
         "db-search-path", "db-search-path-spaced",
         "chroma-no-scheme", "chroma-credentials", "openai-no-scheme", "hours-word", "hours-negative",
         "llm-timeout", "threads", "hosts-url", "hosts-wildcard", "hosts-space", "origins-slash", "origins-no-scheme"],
)  # fmt: skip
def test_a_setting_no_client_could_use_is_one_line_naming_it_without_its_value(
    tmp_path: Path, name: str, value: str, said: str
) -> None:
    """As found: a database URL without its scheme was "unexpected ArgumentError", mysql:// "unexpected
    ModuleNotFoundError", POSTMORTEM_DEDUPE_HOURS=abc "could not convert string to float: 'abc'", and a negative
    window or timeout was taken."""
    done = postmortem("stats", home=tmp_path / "home", env={name: value})
    err = done.stderr.decode()
    assert done.returncode != 0 and err.count("\n") == 1 and f"{name} {said}" in err, err
    assert "CANARY" not in err and "unexpected" not in err and "Traceback" not in err, err


@pytest.mark.parametrize("url", ["https://alice:CANARY@llm.example.com/v1", "http://CANARY@127.0.0.1:11434/v1"])
def test_an_endpoint_url_with_credentials_beside_an_api_key_is_refused_without_repeating_either(
    tmp_path: Path, url: str
) -> None:
    """The HTTP client sent the URL's user name and password as Basic auth in place of OPENAI_API_KEY, and the
    endpoint's 401 was then told as "the LLM endpoint rejected the API key". Without a key, the URL's credentials are
    the only ones (a proxy that takes Basic auth) and are sent as before."""
    env = {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sk-KEYCANARY"}
    done = postmortem("stats", home=tmp_path / "home", env=env)
    err = done.stderr.decode()
    assert done.returncode == 2 and err.count("\n") == 1, err
    assert "OPENAI_BASE_URL holds a user name or password" in err and "unset OPENAI_API_KEY" in err, err
    assert "CANARY" not in err and "Traceback" not in err, err
    alone = postmortem("stats", home=tmp_path / "home", env={"OPENAI_BASE_URL": url, "OPENAI_API_KEY": ""})
    assert alone.returncode == 0, alone.stderr.decode()


@pytest.mark.parametrize("configured", ["$PM_NOT_SET_DATA_HOME/postmortem", "${PM_NOT_SET_DATA_HOME}/postmortem"])
def test_a_home_naming_a_variable_that_is_not_set_is_refused_not_made_in_the_working_directory(
    tmp_path: Path, configured: str
) -> None:
    """An MCP client's config `"POSTMORTEM_HOME": "$XDG_DATA_HOME/postmortem"`, started without that variable, made a
    knowledge base in a directory named `$XDG_DATA_HOME` wherever the client started the server: one per working
    directory, none of them the one the CLI reads."""
    env = environment(tmp_path / "unused", {"POSTMORTEM_HOME": configured})
    env.pop("PM_NOT_SET_DATA_HOME", None)
    for args in (["init", "--no-seed"], ["capture", "Planner agent looped on a search"]):
        done = subprocess.run([CLI, *args], env=env, cwd=tmp_path, capture_output=True, check=False, timeout=120)
        said = done.stderr.decode()
        assert done.returncode == 2 and said.count("\n") == 1, said
        assert "POSTMORTEM_HOME names $PM_NOT_SET_DATA_HOME, which is not set" in said, said
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["serve", "--transport", "http"], ["ui"]])
def test_a_port_in_use_or_out_of_range_is_one_plain_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    """A port another program holds ended `serve` with uvicorn's own log line and exit 3, and `ui` printed a sign-in
    link to it first; a port past 65535 left both running for ever, serving nothing."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = str(held.getsockname()[1])
        taken = postmortem(*command, "--port", port, home=tmp_path, timeout=60)
    said = taken.stderr.decode()
    assert taken.returncode == 2, said
    assert said == (
        f"error: port {port} on 127.0.0.1 is in use by another program (an earlier `postmortem serve` or `ui` still "
        "running?): stop it, or choose another port with --port\n"
    )
    assert b"login" not in taken.stdout
    beyond = postmortem(*command, "--port", "99999", home=tmp_path, timeout=60)
    assert beyond.returncode == 2 and "'--port': must be an integer between" in beyond.stderr.decode()
