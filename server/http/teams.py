"""Teams on one server: each bearer token belongs to a team, and each team has a knowledge base of its own.

Isolation is by partition, not by a filter each query must remember: a team's incidents, action items, vectors
and caches live in the team's own store (SQLite: `HOME/teams/<team>/`; PostgreSQL: a schema per team), so no
search, list, pattern or report can reach another team's rows, whatever the query (OWASP LLM08's "strict logical
partitioning"). Which team a request belongs to comes only from its verified token, never from an argument.

The tokens file (`POSTMORTEM_TOKENS_FILE`, TOML) holds SHA-256 digests, never tokens:

    [[token]]
    team = "payments"
    sha256 = "5f0c…"
    note = "checkout agents"

`postmortem token add --team payments` makes a token, prints it once and appends its digest; `token list` shows
each token's id (the first 12 hex digits of its digest), team and note; `token revoke ID` removes one. A running
server rereads the file when it changes (checked at most once a second), so a revoked token is refused from its
next request on, in a session already open too.
"""

import hmac
import logging
import os
import re
import secrets
import threading
import time
import tomllib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier

# Team names live with the settings, so that a CLI command checks them without loading the MCP SDK.
from agent_postmortem.config import DEFAULT_TEAM as DEFAULT_TEAM
from agent_postmortem.config import TEAM_NAME as TEAM_NAME
from agent_postmortem.config import TeamConfigError as TeamConfigError
from agent_postmortem.config import check_team as check_team
from agent_postmortem.config import team_home as team_home
from agent_postmortem.service.runtime import LazyService, build_service, make_embedder
from agent_postmortem.store.locks import locked
from agent_postmortem.store.private import write_private

# The file is read without the MCP SDK, by the settings too (server/tokens_file.py).
from agent_postmortem.tokens_file import ID_LENGTH as ID_LENGTH
from agent_postmortem.tokens_file import TokenEntry as TokenEntry
from agent_postmortem.tokens_file import clean_note, file_text, token_entry, token_matcher
from agent_postmortem.tokens_file import digest as digest
from agent_postmortem.tokens_file import load_tokens as load_tokens

if TYPE_CHECKING:
    from agent_postmortem.config import Settings
    from agent_postmortem.service.facade import PostmortemService
    from agent_postmortem.store.search.embedding import Embedder

logger = logging.getLogger(__name__)
NOTE = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]{0,100}")  # one line of text TOML can hold (no control characters)
SCOPE = "postmortem"


def add_token(path: Path, team: str, note: str = "") -> str:
    """A new random token for `team`; only its digest is written. The file is rewritten atomically and private
    (0600), under a lock against a concurrent `token add`, and only if the result still parses."""
    check_team(team)
    if not NOTE.fullmatch(note):
        raise TeamConfigError("the note must be one line of at most 100 characters, without control characters")
    token = "pm_" + secrets.token_urlsafe(32)
    quoted = clean_note(note).replace("\\", "\\\\").replace('"', '\\"')
    entry = f'\n[[token]]\nteam = "{team}"\nsha256 = "{digest(token).hex()}"\nnote = "{quoted}"\n'
    path.parent.mkdir(parents=True, exist_ok=True)  # a first token on a new machine: /etc/postmortem/tokens.toml
    with _locked(path):
        text = (file_text(path) if path.exists() else "") + entry
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise TeamConfigError(f"{path} is not valid TOML ({e}); fix it before adding a token") from None
        write_private(path, text)
    return token


def revoke_token(path: Path, which: str) -> TokenEntry:
    """Remove the token whose id (a prefix of its digest, at least 8 hex digits) or whose value is `which`; the
    other entries are kept as written, comments included. The file is read as `token list` and the server read it
    (a missing file, TOML that does not parse, an entry without a team or a digest are told as they tell them), and
    rewritten atomically, under the lock."""
    matches = token_matcher(which)
    with _locked(path):
        hits = [entry for entry in load_tokens(path, empty_ok=True) if matches(entry)]
        if not hits:
            raise TeamConfigError(f"no token in {path} has that id or is that token; `postmortem token list` shows ids")
        if len(hits) > 1:
            raise TeamConfigError(f"{len(hits)} tokens in {path} have ids that start so: give more of the id's digits")
        blocks = _blocks(file_text(path))
        at = [n for n, block in enumerate(blocks) if _entry_of(block) == hits[0]]
        if len(at) != 1:  # written another way than `[[token]]` blocks (an inline array): not rewritten by guess
            raise TeamConfigError(f"the token's [[token]] block in {path} was not found as such: remove it by hand")
        write_private(path, "".join(b for n, b in enumerate(blocks) if n != at[0]))
    return hits[0]


def _blocks(text: str) -> list[str]:
    """The file cut before each `[[token]]`, the comment lines written right above one (no blank line between) going
    with it: revoking a token took its neighbour's comment ("# ci") away and left its own ("# laptop") above the next
    token, which it then misnamed."""
    blocks = re.split(r"(?m)^(?=[ \t]*\[\[token\]\])", text)
    for n in range(1, len(blocks)):
        lines = blocks[n - 1].splitlines(keepends=True)
        keep = len(lines)
        while keep > 0 and lines[keep - 1].lstrip().startswith("#"):
            keep -= 1
        blocks[n - 1], blocks[n] = "".join(lines[:keep]), "".join(lines[keep:]) + blocks[n]
    return blocks


def _entry_of(block: str) -> TokenEntry | None:
    """The entry a `[[token]]` block of the file holds, checked as the file's reader checks it; None for any other
    text (the comments before the first block)."""
    try:
        items = tomllib.loads(block).get("token")
        return token_entry(items[0], "") if isinstance(items, list) and len(items) == 1 else None
    except (TeamConfigError, tomllib.TOMLDecodeError):
        return None


def _locked(path: Path) -> AbstractContextManager[None]:
    return locked(path.with_name(f".{path.name}.lock"))


class TeamTokenVerifier(TokenVerifier):
    """Maps a bearer token to its team. Every entry is compared (in constant time) whatever matched first. With
    `path`, the tokens file is reread when it changes (a stat at most every `every` seconds), so `token add` and
    `token revoke` reach a running server; a file that no longer parses keeps the last good tokens (logged), and a
    file that is gone refuses every token (logged) until it is back."""

    def __init__(self, entries: list[TokenEntry], *, path: Path | None = None, every: float = 1.0) -> None:
        self._entries = list(entries)
        self._path = path
        self._every = every
        self._checked = time.monotonic()
        self._seen = _stamp(path) if path is not None else None

    @property
    def teams(self) -> list[str]:
        return sorted({e.team for e in self._entries})

    def _refresh(self) -> None:
        now = time.monotonic()
        if self._path is None or now - self._checked < self._every:
            return
        self._checked = now
        stamp = _stamp(self._path)
        if stamp == self._seen:
            return
        self._seen = stamp
        if stamp is None:  # removed (an emergency `rm`): fail closed, as an emptied file does, until it is back
            self._entries = []
            logger.error("tokens file %s does not exist: every token is refused until it is put back", self._path)
            return
        try:
            self._entries = load_tokens(self._path, empty_ok=True)
        except TeamConfigError as e:
            logger.error("tokens file not reread, the last good tokens stay in force: %s", e)

    def knows(self, presented: bytes, team: str) -> bool:
        """Whether a token of this digest is still in the file, and still `team`'s (a web session made with it lives
        only so long: a token moved to another team by editing the file kept its session reading the old team's)."""
        self._refresh()
        found = [hmac.compare_digest(presented, entry.digest) and entry.team == team for entry in self._entries]
        return any(found)  # every one compared

    async def verify_token(self, token: str) -> AccessToken | None:
        self._refresh()
        presented = digest(token)
        team = None
        for entry in self._entries:
            if hmac.compare_digest(presented, entry.digest):
                team = entry.team
        return None if team is None else AccessToken(token="bearer", client_id=team, scopes=[SCOPE])


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_ino, status.st_mtime_ns, status.st_size)


def current_team() -> str:
    """The team of the request being served: its verified token's, or the default team without auth."""
    token = get_access_token()
    return token.client_id if token is not None and token.client_id else DEFAULT_TEAM


class TeamServices:
    """One lazily built service per team; `get()` answers for the team of the current request."""

    def __init__(self, build: Callable[[str], "PostmortemService"], *, teams: list[str] | None = None) -> None:
        self._build = build
        self._teams = teams or [DEFAULT_TEAM]
        self._lazy: dict[str, LazyService] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_settings(
        cls, settings: "Settings", *, teams: list[str], embedder: "Embedder | None" = None
    ) -> "TeamServices":
        """Each team's service on its own store, all sharing one embedding model (loaded once, off the handshake)."""
        shared: list[Embedder] = [embedder] if embedder is not None else []
        lock = threading.Lock()

        def build(team: str) -> "PostmortemService":
            with lock:
                if not shared:
                    shared.append(make_embedder(settings))
            return build_service(settings.for_team(team), embedder=shared[0])

        return cls(build, teams=teams)

    def for_team(self, team: str) -> LazyService:
        with self._lock:
            if team not in self._lazy:
                self._lazy[team] = LazyService(lambda: self._build(team), team=team)
            return self._lazy[team]

    def get(self) -> "PostmortemService":
        return self.for_team(current_team()).get()

    def configured(self) -> list[LazyService]:
        """Every configured team's knowledge base (what `/readyz` checks)."""
        return [self.for_team(team) for team in self._teams]

    def start(self) -> None:
        """Start opening every configured team's knowledge base in the background."""
        for team in self._teams:
            self.for_team(team).start()

    def close(self) -> None:
        """Stop every team's index keeper (LazyService.close)."""
        with self._lock:
            lazy = list(self._lazy.values())
        for each in lazy:
            each.close()
