"""`postmortem token`: the team tokens of the HTTP server (server/http/teams.py)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from agent_postmortem.cli.common import JsonOpt, emit, err, settings, user_errors

token_app = typer.Typer(help="Team tokens for the HTTP server (POSTMORTEM_TOKENS_FILE).", no_args_is_help=True)


@token_app.command("add")
def token_add(
    team: Annotated[str, typer.Option(help="the team the token works for (its own knowledge base)")],
    note: Annotated[str, typer.Option(help="who or what holds it, for the file's reader")] = "",
    file: Annotated[Path | None, typer.Option(help="tokens file (default: POSTMORTEM_TOKENS_FILE)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a token for a team: printed once, only its SHA-256 is kept in the tokens file."""
    from agent_postmortem.http.teams import add_token

    with user_errors():
        path = file or settings().tokens_file
        if path is None:
            raise ValueError("give --file or set POSTMORTEM_TOKENS_FILE")
        token = add_token(path, team, note)
    if emit({"team": team, "token": token, "file": str(path)}, as_json):
        return
    sys.stdout.write(token + "\n")
    err.print(f"added a token for team {team} to {path}; it is shown only now", markup=False)
