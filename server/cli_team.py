"""`postmortem token`: the team tokens of the HTTP server (server/teams.py)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from server.cli_common import err, user_errors
from server.config import Settings

token_app = typer.Typer(help="Team tokens for the HTTP server (POSTMORTEM_TOKENS_FILE).", no_args_is_help=True)


@token_app.command("add")
def token_add(
    team: Annotated[str, typer.Option(help="the team the token works for (its own knowledge base)")],
    note: Annotated[str, typer.Option(help="who or what holds it, for the file's reader")] = "",
    file: Annotated[Path | None, typer.Option(help="tokens file (default: POSTMORTEM_TOKENS_FILE)")] = None,
) -> None:
    """Make a token for a team: printed once, only its SHA-256 is kept in the tokens file."""
    from server.teams import add_token

    with user_errors():
        path = file or Settings.from_env().tokens_file
        if path is None:
            raise ValueError("give --file or set POSTMORTEM_TOKENS_FILE")
        token = add_token(path, team, note)
    sys.stdout.write(token + "\n")
    err.print(f"added a token for team {team} to {path}; it is shown only now")
