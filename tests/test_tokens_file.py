"""The team tokens file, read by the settings and the server with one reader that does not load the MCP SDK."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent_postmortem.config import TeamConfigError
from agent_postmortem.http import teams
from agent_postmortem.tokens_file import digest, load_tokens
from tests.processes import CLI

ENTRY = '[[token]]\nteam = "{team}"\nsha256 = "{sha}"\nnote = "{note}"\n'


def test_the_settings_take_the_teams_the_server_takes_without_loading_the_mcp_sdk(tmp_path: Path) -> None:
    """The settings parsed the file with a reader of their own, kept apart from the server's because that one came
    with the MCP SDK: the two could come to disagree on the file's format."""
    path = tmp_path / "tokens.toml"
    path.write_text(
        ENTRY.format(team="alpha", sha=digest("a").hex(), note="checkout agents")
        + ENTRY.format(team="beta", sha=digest("b").hex(), note=""),
        encoding="utf-8",
    )
    assert teams.load_tokens is load_tokens and [e.team for e in load_tokens(path)] == ["alpha", "beta"]
    probe = (
        "import sys\n"
        "from agent_postmortem.config import Settings\n"
        f"env = {{'POSTMORTEM_HOME': {str(tmp_path)!r}, 'POSTMORTEM_TOKENS_FILE': {str(path)!r}}}\n"
        "print(*(Settings.from_env({**env, 'POSTMORTEM_TEAM': t}).team for t in ('alpha', 'beta')))\n"
        "try:\n"
        "    Settings.from_env({**env, 'POSTMORTEM_TEAM': 'gamma'})\n"
        "except ValueError as e:\n"
        "    print(str(e).split(' (')[0], str(e).split('whose teams are ')[1].split(';')[0])\n"
        "print('mcp' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "alpha beta",
        "POSTMORTEM_TEAM=gamma is no team of POSTMORTEM_TOKENS_FILE alpha, beta",
        "False",
    ]


def test_a_directory_given_as_the_tokens_file_is_told_naming_the_setting(tmp_path: Path) -> None:
    """POSTMORTEM_TOKENS_FILE set to a directory said only "Is a directory: PATH" (token add, list and revoke)."""
    env = {**os.environ, "POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_TOKENS_FILE": str(tmp_path)}
    for args in (["add", "--team", "alpha"], ["list"], ["revoke", "0123abcd"]):
        done = subprocess.run([CLI, "token", *args], env=env, capture_output=True, text=True, timeout=120, check=False)
        said = done.stderr.strip()
        assert (
            done.returncode == 2
            and said == f"error: POSTMORTEM_TOKENS_FILE {tmp_path} is a directory: name the tokens file"
        ), said
    with pytest.raises(TeamConfigError, match="is a directory"):  # the server's reader says the same of it
        load_tokens(tmp_path)
