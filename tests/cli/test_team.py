"""`postmortem token revoke` reads its argument and the tokens file as the other token commands and the server do:
text that is no token id and no token is refused saying what is wanted, without repeating it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent_postmortem.http.teams import add_token, load_tokens

CLI = str(Path(sys.executable).parent / "postmortem")
WANTED = "that is not a token id or a token: give the id `postmortem token list` shows (12 hex digits"


def revoke(path: Path, which: str) -> subprocess.CompletedProcess[str]:
    command = [CLI, "token", "revoke", "--file", str(path), "--", which]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ})


@pytest.mark.parametrize(
    "which", ["", "   ", "17b2", "pm_short", "sk-proj-A1b2 C3d4E5f6G7h8I9j0K1l2", "ab\x1b[2Jcdef01"]
)
def test_text_that_is_no_token_id_and_no_token_is_refused_saying_what_is_wanted(tmp_path: Path, which: str) -> None:
    """Anything that was not 8+ hex digits was taken for a token and answered "no token ... with that id": a short
    id, a blank, a token cut in two by a paste all read as if the token had been revoked already."""
    path = tmp_path / "tokens.toml"
    add_token(path, "payments", "laptop")
    before = path.read_text(encoding="utf-8")
    done = revoke(path, which)
    assert done.returncode == 2 and done.stdout == "" and done.stderr.startswith(f"error: {WANTED}"), done.stderr
    assert (which.strip() not in done.stderr or not which.strip()) and "\x1b" not in done.stderr
    assert path.read_text(encoding="utf-8") == before


def test_the_tokens_file_is_read_as_token_list_reads_it(tmp_path: Path) -> None:
    """A missing file answered "no token in it with that id", and an entry the server cannot read was skipped and
    the file rewritten: the server, which keeps its last good tokens while the file does not parse, then went on
    taking the token that was said to be revoked."""
    path = tmp_path / "tokens.toml"
    missing = revoke(path, "abcdef12")
    assert missing.returncode == 2 and "does not exist" in missing.stderr and not path.exists()
    token = add_token(path, "payments")
    with path.open("a", encoding="utf-8") as handle:
        handle.write('\n[[token]]\nteam = "search"\nsha256 = "not hex"\n')
    before = path.read_text(encoding="utf-8")
    broken = revoke(path, token)
    assert broken.returncode == 2 and "token entry 2: sha256 is not hexadecimal" in broken.stderr
    assert token not in broken.stderr and path.read_text(encoding="utf-8") == before


def test_an_id_that_starts_two_tokens_asks_for_more_digits_and_a_whole_digest_names_one(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    first, second = "ab" * 32, "ab" * 31 + "cd"
    path.write_text("".join(f'[[token]]\nteam = "t{n}"\nsha256 = "{d}"\n\n' for n, d in enumerate((first, second))))
    both = revoke(path, "ABABABAB")
    assert both.returncode == 2 and "2 tokens" in both.stderr and "give more of the id's digits" in both.stderr
    assert revoke(path, first).returncode == 0
    assert [e.team for e in load_tokens(path)] == ["t1"]


def test_a_tokens_file_that_is_not_text_is_named_by_every_token_command(tmp_path: Path) -> None:
    """A binary file given as --file answered "'utf-8' codec can't decode byte 0xff in position 0", naming no file."""
    path = tmp_path / "tokens.toml"
    path.write_bytes(b"\xff\xfe\x00binary")
    for args in (["revoke", "abcdef12"], ["list"], ["add", "--team", "payments"]):
        done = subprocess.run([CLI, "token", *args, "--file", str(path)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and f"{path} is not a tokens file: it is not UTF-8 text" in done.stderr, args
        assert "codec" not in done.stderr and path.read_bytes() == b"\xff\xfe\x00binary"


def test_a_comment_right_above_a_token_goes_with_it_and_the_others_stay_with_theirs(tmp_path: Path) -> None:
    """Revoking the laptop's token left "# laptop" above the CI token, now misnamed, and took "# ci" away."""
    path = tmp_path / "tokens.toml"
    entry = '[[token]]\nteam = "payments"\nsha256 = "{}"\n'
    path.write_text(
        "# the payments team's tokens\n\n"
        + "# laptop\n"
        + entry.format("ab" * 32)
        + "\n# ci\n# rotated monthly\n"
        + entry.format("cd" * 32),
        encoding="utf-8",
    )
    assert revoke(path, "abababab").returncode == 0
    kept = "# the payments team's tokens\n\n# ci\n# rotated monthly\n" + entry.format("cd" * 32)
    assert path.read_text(encoding="utf-8") == kept


def test_a_tokens_file_setting_of_spaces_is_unset_not_a_file_named_so(tmp_path: Path) -> None:
    """POSTMORTEM_TOKENS_FILE=" " made `token add` write a tokens file named " " in the working directory, one no
    server read, and printed the token as added."""
    env = {**os.environ, "POSTMORTEM_TOKENS_FILE": " "}
    done = subprocess.run(
        [CLI, "token", "add", "--team", "payments"], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    assert done.returncode == 2 and done.stderr == "error: give --file or set POSTMORTEM_TOKENS_FILE\n", done.stderr
    assert done.stdout == "" and list(tmp_path.iterdir()) == []
