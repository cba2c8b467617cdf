"""`postmortem token`: the team tokens of the HTTP server (server/http/teams.py)."""

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from agent_postmortem.cli.common import JsonOpt, emit, err, user_errors

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
        path = _tokens_file(file)
        token = add_token(path, team, note)
    if emit({"team": team, "token": token, "file": str(path)}, as_json):
        return
    sys.stdout.write(token + "\n")
    err.print(f"added a token for team {team} to {path}; it is shown only now", markup=False)


def _tokens_file(file: Path | None) -> Path:
    """--file, or POSTMORTEM_TOKENS_FILE as is: these commands manage the file's teams, so POSTMORTEM_TEAM (which
    must name one of them) is not read; `token add --team NEW` with POSTMORTEM_TEAM=NEW set makes the team."""
    from agent_postmortem.config import setting_path
    from agent_postmortem.setting_values import given

    named = given(os.environ).get("POSTMORTEM_TOKENS_FILE")  # set to spaces: unset, as every setting, not a file " "
    path = file or setting_path(named, name="POSTMORTEM_TOKENS_FILE")
    if path is None:
        raise ValueError("give --file or set POSTMORTEM_TOKENS_FILE")
    if path.is_dir():  # it was "Is a directory: PATH", naming neither the option nor the setting
        raise ValueError(
            f"{'--file' if file else 'POSTMORTEM_TOKENS_FILE'} {path} is a directory: name the tokens file"
        )
    return path


@token_app.command("list")
def token_list(
    file: Annotated[Path | None, typer.Option(help="tokens file (default: POSTMORTEM_TOKENS_FILE)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show each token's id (not the token: the first digits of its SHA-256), team and note."""
    from agent_postmortem.http.teams import load_tokens

    with user_errors():
        entries = load_tokens(_tokens_file(file), empty_ok=True)
    rows = [{"id": e.id, "team": e.team, "note": e.note} for e in entries]
    if emit({"tokens": rows}, as_json):
        return
    for row in rows:
        sys.stdout.write(f"{row['id']}  {row['team']:<40}  {row['note']}\n")
    if not rows:
        err.print("no tokens: a server on this file refuses every request", markup=False)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="the id `token list` shows (8+ hex digits), or the token itself")],
    file: Annotated[Path | None, typer.Option(help="tokens file (default: POSTMORTEM_TOKENS_FILE)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a token from the tokens file; running servers refuse it within a second, in open sessions too."""
    from agent_postmortem.http.teams import revoke_token

    with user_errors():
        path = _tokens_file(file)
        removed = revoke_token(path, token_id)
    if emit({"revoked": removed.id, "team": removed.team, "file": str(path)}, as_json):
        return
    err.print(f"revoked token {removed.id} of team {removed.team} in {path}", markup=False)
