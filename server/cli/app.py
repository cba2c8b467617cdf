"""The `postmortem` command line: a human view by default, `--json` on stdout for scripts (server/cli/output.py);
exit codes in server/cli/common.py. The commands live in server/cli/*.py; their heavy imports happen inside them,
so that `--help`, `--version` and completion answer without loading the store, the models or an LLM client."""

import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from agent_postmortem.cli import blameless as cli_blameless
from agent_postmortem.cli import capture as cli_capture
from agent_postmortem.cli import configure_process, end_interrupted, end_served, interrupted
from agent_postmortem.cli import home as cli_home
from agent_postmortem.cli import ingest as cli_ingest
from agent_postmortem.cli import lifecycle as cli_lifecycle
from agent_postmortem.cli import loop as cli_loop
from agent_postmortem.cli import maintenance as cli_maintenance
from agent_postmortem.cli import records as cli_records
from agent_postmortem.cli import regress as cli_regress
from agent_postmortem.cli import steps as cli_steps
from agent_postmortem.cli.common import (
    CLOSED_PIPE,
    FAILED,
    JsonOpt,
    bounded,
    choice,
    closing_what_it_builds,
    emit,
    err,
    output,
    settings,
    user_errors,
)
from agent_postmortem.cli.team import token_app

if TYPE_CHECKING:
    from agent_postmortem.service.facade import PostmortemService

logger = logging.getLogger("postmortem")


class Root(TyperGroup):
    """Runs every command so that a closed stdout (`| head`) ends it quietly, and an unexpected error is one line
    on stderr, not a traceback (POSTMORTEM_LOG_LEVEL=DEBUG logs it)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Every command, from reading its arguments to reporting its end, whoever runs it (the console script, a
        test's CliRunner, a program that also serves the tools): errors name commands, not tools (server/errors.py)."""
        from agent_postmortem.errors import shown_on

        with shown_on("cli"):
            return super().main(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with closing_what_it_builds():  # the command's services, closed before the next command in this process
            return self._invoke(ctx)

    def _invoke(self, ctx: Any) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()
            return result
        except BrokenPipeError:
            _quiet_stdout()
            raise typer.Exit(CLOSED_PIPE) from None
        except KeyboardInterrupt:
            end_interrupted()
        except Exception as e:
            if isinstance(e, typer.Exit | typer.Abort) or type(e).__module__.startswith("typer"):
                raise
            if interrupted():  # a library turned the Ctrl-C into an error of its own
                end_interrupted()
            logger.debug("unexpected error", exc_info=True)
            err.print(f"error: unexpected {type(e).__name__}; set POSTMORTEM_LOG_LEVEL=DEBUG for details", markup=False)
            raise typer.Exit(FAILED) from None

    # The plugins' commands are added when a command is not one of the product's or when all are listed (--help):
    # finding them reads the metadata of every installed package (20-100 ms), which `list` or `show` need not pay.
    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is None and self._add_plugins():
            found = super().get_command(ctx, cmd_name)
        if found is not None and not found.short_help:
            found.short_help = summary(found.help or "")
        return found

    def list_commands(self, ctx: Any) -> list[str]:
        self._add_plugins()
        return list(super().list_commands(ctx))

    def _add_plugins(self) -> bool:
        """Add the plugins' commands once; True when this call added them."""
        if getattr(self, "_plugins_added", False):
            return False
        self._plugins_added = True
        plugins = typer.Typer()
        register_plugins(plugins)
        if plugins.registered_commands or plugins.registered_groups:
            group = typer.main.get_group(plugins)
            for name, command in group.commands.items():
                self.add_command(command, name)
        return True


def summary(help: str) -> str:
    """A command's line in `postmortem --help`: the first sentence of its help, on one line. The list showed the
    whole first paragraph with its docstring's line breaks, so a line stopped at "with the configured model
    (docs/drafting.md): an" and went on, indented, under it."""
    paragraph = " ".join(help.split("\n\n")[0].split())
    return re.split(r"(?<=\.) (?=[A-Z])", paragraph, maxsplit=1)[0]


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that flushing what is still buffered at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        sys.stdout.write(f"postmortem {version('agent-postmortem')}\n")
        raise typer.Exit()


app = typer.Typer(
    cls=Root,
    help="Turn AI-agent failures into durable learning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """Turn AI-agent failures into durable learning."""


@app.command()
def serve(
    transport: Annotated[str, choice(("stdio", "http"), help="stdio for one client, http for several")] = "stdio",
    host: Annotated[
        str, typer.Option(help="the address to listen on (beyond loopback: see docs/http.md)")
    ] = "127.0.0.1",
    port: Annotated[int, bounded(1, 65535, help="the port to listen on (http)")] = 8000,
    stateless: Annotated[
        bool, typer.Option(help="http without MCP sessions: any replica serves any request (POSTMORTEM_HTTP_STATELESS)")
    ] = False,
) -> None:
    """Run the MCP server (stdio for one client, http for several)."""
    configured = settings()
    if transport == "stdio":
        from agent_postmortem.cli.quick import run_stdio_server

        run_stdio_server(configured)
        return
    from agent_postmortem.http.security import http_security, proxy_options
    from agent_postmortem.http.teams import TeamServices, TeamTokenVerifier, load_tokens
    from agent_postmortem.service.runtime import LazyService, build_service

    lazy = LazyService(lambda: build_service(configured))
    opened: Callable[[], list[LazyService]] = lambda: [lazy]  # noqa: E731 - what /readyz checks
    sampling = configured.llm_backend in ("auto", "sampling")
    get: Callable[[], PostmortemService] = lazy.get
    start = lazy.start
    for_team: Callable[[str], PostmortemService] | None = None  # the web view's team services (default: `get`)
    with user_errors():
        path = configured.tokens_file
        verifier = TeamTokenVerifier(load_tokens(path), path=path) if path else None
        security = http_security(
            host=host,
            port=port,
            token=configured.http_token,
            allowed_hosts=list(configured.allowed_hosts),
            allowed_origins=list(configured.allowed_origins),
            team_verifier=verifier,
        )
    if verifier is not None:  # each request works on its token's team's knowledge base
        teams = TeamServices.for_settings(configured, teams=verifier.teams)
        get, start, opened = teams.get, teams.start, teams.configured
        for_team = lambda team: teams.for_team(team).get()  # noqa: E731
    import uvicorn

    from agent_postmortem.http.app import http_app
    from agent_postmortem.http.ready import Readiness
    from agent_postmortem.http.timeouts import uvicorn_options
    from agent_postmortem.web.ui import ensure_free

    with user_errors():
        ensure_free(host, port)

    asgi = http_app(
        get,
        security=security,
        host=host,
        rate_per_minute=configured.http_rate_per_minute,
        on_start=start,
        sampling=sampling,
        sampling_timeout=configured.llm_timeout,
        stateless=stateless or configured.http_stateless,
        for_team=for_team,
        readiness=Readiness(opened),
    )
    # log_config=None: uvicorn's lines go through the process's redacting handler, not handlers of its own;
    # uvicorn_options: how long and how much a request's headers may take (server/http/timeouts.py)
    proxies = proxy_options(configured.trusted_proxies)
    uvicorn.run(asgi, host=host, port=port, log_level="warning", log_config=None, **proxies, **uvicorn_options())
    end_served()  # stopped by Ctrl-C (uvicorn raises a SIGTERM again once shut down: that ends it by the signal)


def ui(port: Annotated[int, bounded(0, 65535, help="loopback port (0: a free one)")] = 0) -> None:
    """Open the web view for yourself: serves on 127.0.0.1 and prints a one-time sign-in link."""
    from agent_postmortem.web.ui import run_ui

    def announce(url: str) -> None:
        sys.stdout.write(f"Open {url}\n(the link signs you in once; Ctrl-C stops the server)\n")
        sys.stdout.flush()

    with user_errors():
        run_ui(settings(), port=port, announce=announce)


def demo(
    home: Annotated[Path | None, typer.Option(help="keep the data here (default: a temporary directory, removed)")] = (
        None
    ),
    output: Annotated[Path | None, output(help="also write the report to this file (-: print it)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the whole loop on a seed knowledge base: capture, classify, find similar, draft, report."""
    from agent_postmortem.cli.common import out
    from agent_postmortem.cli.demo import run_demo

    with user_errors():
        result = run_demo(err if as_json else out, home=home, output=output)
    emit(result, as_json)


for _name, _command in [
    *cli_capture.COMMANDS,
    *cli_records.COMMANDS,
    *cli_lifecycle.COMMANDS,
    *cli_ingest.COMMANDS,
    *cli_steps.COMMANDS,
    *cli_loop.COMMANDS,
    *cli_regress.COMMANDS,
    *cli_blameless.COMMANDS,
    *cli_maintenance.COMMANDS,
    ("demo", demo),
    ("ui", ui),
    ("init", cli_home.init),
]:
    app.command(_name)(_command)


PLUGINS = "agent_postmortem.cli"  # the entry-point group of commands defined elsewhere (the benchmarks: evals/cli.py)


def register_plugins(app: typer.Typer) -> None:
    """Add the commands registered under the `agent_postmortem.cli` entry points (as llm's `register_commands`): the
    benchmarks add `bench` and `eval` this way, so the product never imports them. `Root` calls this when a command
    is not the product's own or all commands are listed, so a plugin's module must import nothing heavy; one that
    fails is left out with a warning."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=PLUGINS):
        try:
            entry.load()(app)
        except Exception:  # noqa: BLE001 - a broken plugin must not take the other commands down
            logger.warning("could not add the %r commands (%s)", entry.name, entry.value, exc_info=True)


app.add_typer(token_app, name="token")


def main() -> None:
    configure_process()
    app(prog_name="postmortem")
