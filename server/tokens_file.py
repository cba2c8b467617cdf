"""The team tokens file (`POSTMORTEM_TOKENS_FILE`, TOML) as it is read, without the MCP SDK: the settings check
POSTMORTEM_TEAM against its teams (config.py) and the HTTP server takes its tokens (http/teams.py) with this one
reader, so the two cannot disagree on what the file holds. Writing it (`token add`, `token revoke`) and verifying
tokens are http/teams.py's.

    [[token]]
    team = "payments"
    sha256 = "5f0c…"
    note = "checkout agents"
"""

import hashlib
import hmac
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_postmortem.config import TeamConfigError, check_team

ID_LENGTH = 12
MIN_TOKEN = 24  # the shortest token a server takes (POSTMORTEM_HTTP_TOKEN too)
_ID = re.compile(r"[0-9a-f]{8,64}")  # a token's id: the first hex digits of its SHA-256, at least 8
_BEARER = re.compile(r"[A-Za-z0-9._~+/-]+=*")  # what an `Authorization: Bearer` header carries (RFC 6750 b64token)
WANTED = (
    f"give the id `postmortem token list` shows ({ID_LENGTH} hex digits; 8 or more of them will do) or the whole "
    f"token ({MIN_TOKEN} characters or more)"
)


@dataclass(frozen=True)
class TokenEntry:
    team: str
    digest: bytes
    note: str = ""

    @property
    def id(self) -> str:
        """What `token list` shows and `token revoke` takes: the digest's first 12 hex digits (not a secret)."""
        return self.digest.hex()[:ID_LENGTH]


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def load_tokens(path: Path, *, empty_ok: bool = False) -> list[TokenEntry]:
    """`empty_ok`: a file left with no token (the last one revoked) is no token, not an error."""
    try:
        data = tomllib.loads(file_text(path))
    except FileNotFoundError:
        raise TeamConfigError(f"POSTMORTEM_TOKENS_FILE {path} does not exist") from None
    except IsADirectoryError:  # it was "Is a directory: PATH", not saying which setting named it
        raise TeamConfigError(f"POSTMORTEM_TOKENS_FILE {path} is a directory: name the tokens file in it") from None
    except tomllib.TOMLDecodeError as e:
        raise TeamConfigError(f"{path} is not valid TOML: {e}") from None
    entries = [token_entry(item, f"{path}: token entry {n}") for n, item in enumerate(data.get("token", []), start=1)]
    _one_team_per_token(entries, path)
    if not entries and not empty_ok:
        raise TeamConfigError(f"{path} has no [[token]] entries; add one with `postmortem token add --team NAME`")
    return entries


def file_text(path: Path) -> str:
    """The tokens file's text; a file that is not UTF-8 (a binary file given by mistake) is told so, naming it, not
    with the codec's message."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TeamConfigError(f"{path} is not a tokens file: it is not UTF-8 text (TOML)") from None


def _one_team_per_token(entries: list[TokenEntry], path: Path) -> None:
    """A token's digest under two teams (an entry copied to move a token, and the old one left) is refused: the server
    gave the token the later team without a word, so its holder read and wrote another team's knowledge base."""
    teams: dict[bytes, tuple[int, str]] = {}
    for n, entry in enumerate(entries, start=1):
        first = teams.setdefault(entry.digest, (n, entry.team))
        if first[1] != entry.team:
            raise TeamConfigError(
                f"{path}: token entries {first[0]} and {n} hold the same sha256 (id {entry.id}) for teams {first[1]} "
                f"and {entry.team}: a token belongs to one team; delete the entry that is wrong"
            )


def token_entry(item: Any, where: str) -> TokenEntry:
    """One `[[token]]` entry, checked: a team name, the token's SHA-256 as 64 hex digits, an optional note."""
    if not isinstance(item, dict) or not isinstance(item.get("team"), str) or not isinstance(item.get("sha256"), str):
        raise TeamConfigError(f"{where} needs a team and a sha256 (hex digest of the token)")
    try:
        raw = bytes.fromhex(item["sha256"])
    except ValueError:
        raise TeamConfigError(f"{where}: sha256 is not hexadecimal") from None
    if len(raw) != 32:
        raise TeamConfigError(f"{where}: sha256 must be 64 hex characters")
    note = item.get("note")
    return TokenEntry(check_team(item["team"]), raw, clean_note(note) if isinstance(note, str) and note else "")


def clean_note(text: str) -> str:
    """A note as it may be stored and shown: a secret in it (a key pasted as "replaces sk-...") becomes a typed
    placeholder, and a note written into the file by hand loses its control characters (an ANSI escape reached the
    terminal of `token list`)."""
    from agent_postmortem.store.redact import redact_text

    return redact_text(text)[0]


def token_matcher(given: str) -> Callable[[TokenEntry], bool]:
    """Which entry `token revoke` names: its id (a prefix of its digest, as `token list` shows it, in either case)
    or the token itself (as a leak report quotes it). Text that is neither is refused saying what is wanted; the
    text is never repeated (it may be a token, mistyped)."""
    text = given.strip()
    prefix = text.lower() if _ID.fullmatch(text.lower()) else None
    value = digest(text) if len(text) >= MIN_TOKEN and _BEARER.fullmatch(text) else None
    if prefix is None and value is None:
        raise TeamConfigError(f"that is not a token id or a token: {WANTED}")

    def matches(entry: TokenEntry) -> bool:
        by_value = value is not None and hmac.compare_digest(entry.digest, value)
        return by_value or (prefix is not None and entry.digest.hex().startswith(prefix))

    return matches
