"""Teams' tokens: the tokens file keeps digests only and maps each token to its team, a bad file is one clear
error, and `postmortem token add/list/revoke` keep the file loadable, private and free of secrets; a revoked token
is refused by a running server without a restart."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from agent_postmortem.http.teams import (
    TeamConfigError,
    TeamTokenVerifier,
    add_token,
    digest,
    load_tokens,
    team_home,
)
from tests.http.team_server import client, data
from tests.http_server import serve_process

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def test_the_tokens_file_keeps_digests_only_and_maps_each_token_to_its_team(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    alpha, beta = add_token(path, "alpha", note="checkout agents"), add_token(path, "beta")
    text = path.read_text()
    assert alpha not in text and beta not in text and text.count("[[token]]") == 2
    assert path.stat().st_mode & 0o077 == 0  # private
    verifier = TeamTokenVerifier(load_tokens(path))
    assert verifier.teams == ["alpha", "beta"]


async def test_a_token_is_verified_to_its_team_and_a_wrong_one_to_nothing(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    alpha = add_token(path, "alpha")
    verifier = TeamTokenVerifier(load_tokens(path))
    found = await verifier.verify_token(alpha)
    assert found is not None and found.client_id == "alpha"
    assert await verifier.verify_token(alpha[:-1] + "x") is None


@pytest.mark.parametrize(
    "content, message",
    [
        ("[[token]]\nteam = 'Alpha!'\nsha256 = '" + "0" * 64 + "'\n", "invalid team name"),
        ("[[token]]\nteam = 'alpha'\nsha256 = 'xyz'\n", "not hexadecimal"),
        ("[[token]]\nteam = 'alpha'\n", "needs a team and a sha256"),
        ("token = [", "not valid TOML"),
        ("", "no [[token]] entries"),
    ],
)
def test_a_bad_tokens_file_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(content)
    with pytest.raises(TeamConfigError, match=message.replace("[", r"\[")):
        load_tokens(path)


async def test_a_token_listed_under_two_teams_is_refused_and_a_running_server_keeps_its_team(tmp_path: Path) -> None:
    """An entry copied to another team (to move a token) with the old one left: the server silently gave the token
    the later team, so a payments agent read and wrote the search team's knowledge base."""
    from tests.processes import postmortem

    path = tmp_path / "tokens.toml"
    alpha = add_token(path, "alpha")
    add_token(path, "beta")
    verifier = TeamTokenVerifier(load_tokens(path), path=path, every=0)
    copied = f'\n[[token]]\nteam = "beta"\nsha256 = "{digest(alpha).hex()}"\nnote = "moved"\n'
    path.write_text(path.read_text() + copied)
    with pytest.raises(TeamConfigError, match=r"token entries 1 and 3 hold the same sha256 .* teams alpha and beta"):
        load_tokens(path)
    found = await verifier.verify_token(alpha)  # the file is reread: the last good tokens stay in force
    assert found is not None and found.client_id == "alpha"
    listed = postmortem("token", "list", "--file", str(path), home=tmp_path / "home")
    assert listed.returncode == 2 and "hold the same sha256" in listed.stderr.decode(), listed.stderr
    served = postmortem(
        "serve", "--transport", "http", "--port", "1", home=tmp_path / "home", env={"POSTMORTEM_TOKENS_FILE": str(path)}
    )
    said = served.stderr.decode()
    assert served.returncode == 2 and said.count("\n") == 1 and "teams alpha and beta" in said, said
    assert alpha not in said


def test_each_team_has_its_own_directory_and_the_default_team_keeps_the_home(tmp_path: Path) -> None:
    assert team_home(tmp_path, "default") == tmp_path
    assert team_home(tmp_path, "alpha") == tmp_path / "teams" / "alpha"
    with pytest.raises(TeamConfigError):
        team_home(tmp_path, "../etc")


def test_token_add_prints_the_token_once_and_keeps_only_its_digest(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from agent_postmortem.cli.app import app

    path = tmp_path / "tokens.toml"
    made = CliRunner().invoke(app, ["token", "add", "--team", "payments", "--file", str(path)])
    assert made.exit_code == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("pm_") and token not in path.read_text()
    assert load_tokens(path)[0].team == "payments"
    bad = CliRunner().invoke(app, ["token", "add", "--team", "Not A Team", "--file", str(path)])
    assert bad.exit_code == 2 and "invalid team name" in bad.stderr and len(load_tokens(path)) == 1


def _token_add(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "postmortem"), "token", "add", "--file", str(path), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ})


@pytest.mark.parametrize(
    "args",
    [
        ["--team", "x\n"],
        ["--team", "alpha\nsha256 = 'x'"],
        ["--team", "alpha", "--note", "a\rb"],
        ["--team", "alpha", "--note", "line\nbreak"],
        ["--team", "alpha", "--note", "nul\x7fdel"],
        ["--team", "alpha", "--note", "n" * 101],
    ],
    ids=["newline-team", "injected-key", "cr-note", "newline-note", "del-note", "long-note"],
)
def test_token_add_refuses_values_that_would_break_the_file_and_leaves_it_loadable(
    tmp_path: Path, args: list[str]
) -> None:
    path = tmp_path / "tokens.toml"
    assert _token_add(path, "--team", "payments", "--note", 'say "hi" \\ there').returncode == 0
    refused = _token_add(path, *args)
    assert refused.returncode == 2 and refused.stdout == "" and "Traceback" not in refused.stderr
    assert [e.team for e in load_tokens(path)] == ["payments"]  # what `serve` reads at start
    assert 'note = "say \\"hi\\" \\\\ there"' in path.read_text()


def test_concurrent_token_adds_all_land_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    command = [str(Path(sys.executable).parent / "postmortem"), "token", "add", "--file", str(path), "--team"]
    procs = [subprocess.Popen([*command, f"team-{n}"], stdout=subprocess.PIPE, text=True) for n in range(6)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    verifier = TeamTokenVerifier(load_tokens(path))
    assert verifier.teams == [f"team-{n}" for n in range(6)]
    assert all(anyio.run(verifier.verify_token, out.strip()) is not None for out in outputs)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_a_first_token_add_creates_the_folder_the_documented_path_names(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "postmortem" / "tokens.toml"  # as in docs/http.md, on a machine that has no such folder
    made = subprocess.run(
        [str(Path(sys.executable).parent / "postmortem"), "token", "add", "--team", "payments"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "POSTMORTEM_TOKENS_FILE": str(path)},
    )
    assert made.returncode == 0, made.stderr
    assert anyio.run(TeamTokenVerifier(load_tokens(path)).verify_token, made.stdout.strip()) is not None


def _token(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "postmortem"), "token", *args, "--file", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ})


def test_token_list_shows_ids_not_tokens_and_revoke_takes_an_id_or_the_token(tmp_path: Path) -> None:
    """As found by an operator: there was `token add` only; revoking meant editing the file by hand and restarting
    every replica, and nothing showed which line was which token."""
    path = tmp_path / "tokens.toml"
    path.write_text("# the payments team's tokens\n")
    laptop = _token(path, "add", "--team", "payments", "--note", "laptop").stdout.strip()
    ci = _token(path, "add", "--team", "payments", "--note", "ci").stdout.strip()
    _token(path, "add", "--team", "search")
    listed = json.loads(_token(path, "list", "--json").stdout)["tokens"]
    assert [(t["team"], t["note"]) for t in listed] == [("payments", "laptop"), ("payments", "ci"), ("search", "")]
    shown = _token(path, "list").stdout
    assert laptop not in shown and ci not in shown and digest(laptop).hex() not in shown
    assert listed[0]["id"] == digest(laptop).hex()[:12] and listed[0]["id"] in shown
    revoked = _token(path, "revoke", listed[0]["id"])
    assert revoked.returncode == 0 and f"revoked token {listed[0]['id']} of team payments" in revoked.stderr
    assert _token(path, "revoke", ci).returncode == 0  # the token itself, as a leak report quotes it
    assert [e.team for e in load_tokens(path)] == ["search"] and path.read_text().startswith("# the payments")
    unknown = _token(path, "revoke", ci)
    assert unknown.returncode == 2 and "no token" in unknown.stderr and ci not in unknown.stderr
    assert _token(path, "revoke", listed[2]["id"]).returncode == 0  # the last one: the server then refuses all
    assert load_tokens(path, empty_ok=True) == [] and "refuses every request" in _token(path, "list").stderr


def test_a_note_keeps_no_secret_and_a_hand_written_one_reaches_no_terminal_as_escapes(tmp_path: Path) -> None:
    """`token add --note "replaces sk-..."` kept the key in the file and `token list` printed it; a note written in
    the file by hand as "\\u001b[2J" cleared the terminal of whoever ran `token list`."""
    path = tmp_path / "tokens.toml"
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"
    _token(path, "add", "--team", "payments", "--note", f"replaces {key}")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[token]]\nteam = "search"\nsha256 = "{"ab" * 32}"\nnote = "\\u001b[2Jwiped\\u0007"\n')
    assert key not in path.read_text(encoding="utf-8")
    shown = _token(path, "list").stdout
    assert key not in shown and "replaces [REDACTED:openai_key]" in shown
    # the whole escape sequence goes, not the ESC alone (a "[2J" left behind hid a token glued to it from redaction)
    assert "\x1b" not in shown and "\x07" not in shown and "[2J" not in shown and "wiped" in shown


async def test_a_revoked_token_is_refused_mid_session_and_a_new_one_works_without_a_restart(tmp_path: Path) -> None:
    """As found with two clients of one team on a running server: a token removed from the file worked until every
    replica restarted, and a refused call said only 'Server returned an error response'."""
    from mcp import MCPError

    path = tmp_path / "tokens.toml"
    kept, leaked = add_token(path, "alpha", "kept"), add_token(path, "alpha", "leaked")
    with serve_process(tmp_path / "home", {"POSTMORTEM_TOKENS_FILE": str(path)}) as url:
        async with client(url, kept) as good, client(url, leaked) as bad:
            captured = data(await bad.call_tool("capture_incident", {"title": "Agent leaked its bearer token"}))
            assert _token(path, "revoke", leaked).returncode == 0
            await anyio.sleep(1.2)  # the server looks at the file at most once a second
            with pytest.raises(MCPError) as refused:
                await bad.call_tool("get_incident", {"incident_id": captured["id"]})
            assert refused.value.error.code == -32001 and "revoked" in refused.value.error.message
            assert data(await good.call_tool("get_incident", {"incident_id": captured["id"]}))["id"] == captured["id"]
        fresh = add_token(path, "beta")
        await anyio.sleep(1.2)
        async with client(url, fresh) as newcomer:
            assert data(await newcomer.call_tool("knowledge_stats", {}))["incidents"] == 0  # its own team


def test_a_team_the_tokens_file_does_not_have_is_refused_before_anything_is_read_or_stored(tmp_path: Path) -> None:
    """POSTMORTEM_TEAM=gamma (a typo, or a team no token was made for) listed an empty knowledge base that no server
    serves, and a capture was stored there; the file's teams are named, and `token add` still makes the team."""
    from tests.processes import postmortem

    path, home = tmp_path / "tokens.toml", tmp_path / "home"
    assert _token_add(path, "--team", "alpha").returncode == 0
    env = {"POSTMORTEM_TOKENS_FILE": str(path), "POSTMORTEM_TEAM": "gamma"}
    for args in (["list"], ["capture", "--title", "Agent timed out calling the CRM"]):
        refused = postmortem(*args, home=home, env=env)
        said = refused.stderr.decode()
        assert refused.returncode == 2 and refused.stdout == b"" and said.count("\n") == 1, said
        assert f"POSTMORTEM_TEAM=gamma is no team of POSTMORTEM_TOKENS_FILE ({path}), whose teams are alpha" in said
    assert not (home / "teams" / "gamma").exists()
    made = subprocess.run(
        [str(Path(sys.executable).parent / "postmortem"), "token", "add", "--team", "gamma"],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert postmortem("list", home=home, env=env).returncode == 0
    assert postmortem("list", home=home, env={**env, "POSTMORTEM_TEAM": ""}).returncode == 0  # the default team


async def test_a_deleted_tokens_file_refuses_every_token_and_one_put_back_is_read_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An operator's emergency `rm` of the tokens file kept the last tokens working until a restart (logged as a
    file not reread), while an emptied file refused them all: a missing file now refuses every token, saying why."""
    path = tmp_path / "tokens.toml"
    token = add_token(path, "alpha")
    verifier = TeamTokenVerifier(load_tokens(path), path=path, every=0)
    kept = path.read_text()
    path.unlink()
    with caplog.at_level("ERROR", logger="agent_postmortem.http.teams"):
        assert await verifier.verify_token(token) is None
    assert not verifier.knows(digest(token), "alpha")
    said = [r.getMessage() for r in caplog.records]
    assert any("does not exist" in line and "every token is refused" in line for line in said), said
    path.write_text(kept)
    found = await verifier.verify_token(token)
    assert found is not None and found.client_id == "alpha"
