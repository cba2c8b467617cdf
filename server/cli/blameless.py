"""`postmortem check-blameless`: blaming language in a draft given as words, a file or stdin, with systemic rewrites;
exit 1 when something is flagged (a CI gate). Registered by server/cli/app.py from COMMANDS."""

from pathlib import Path
from typing import Annotated, Any

import typer

from agent_postmortem.cli.common import FAILED, JsonOpt, emit, out, settings, user_errors


def check_blameless(
    text: Annotated[
        str, typer.Argument(help="the sentences or the draft to check, a file holding them, or - to read stdin")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Flag blaming language in TEXT (the words themselves, a file, or - for stdin), with suggested rewrites (by the
    configured model when there is one, else by rules). Exit 1 when something is flagged, so that a script or CI
    step can gate on it."""
    from agent_postmortem.cli.summary import blameless_view
    from agent_postmortem.service.runtime import build_judging

    with user_errors():
        checked = _text_to_check(text)
        result = build_judging(settings()).check_blameless(checked)
    if not emit(result, as_json):
        out.print(blameless_view(result, checked))
    if not result.blameless:
        raise typer.Exit(FAILED)


DOCUMENT_SUFFIXES = (".md", ".markdown", ".txt", ".rst", ".adoc", ".html")


def _text_to_check(text: str) -> str:
    """What `check-blameless` reads: stdin for `-`, the file a single word names, else the words themselves. A word
    that looks like a file name but names none is refused: checking the name would pass a CI gate green."""
    from agent_postmortem.ingest.jsonfile import STDIN

    word = text.strip()
    if word != STDIN and (not word or any(c.isspace() for c in word) or len(word) > 4096):
        return text
    path = Path(word).expanduser()
    if path.is_dir():
        raise IsADirectoryError(21, "a directory, not a file to check", word)
    if word == STDIN or path.exists():  # a file, or a pipe: `<(git show HEAD:postmortem.md)` names /dev/fd/63
        return _document(path)
    if path.suffix.lower() in DOCUMENT_SUFFIXES or "/" in word:
        raise FileNotFoundError(2, "no such file to check (give the words themselves in quotes, or - for stdin)", word)
    return text


MAX_DOCUMENT_BYTES = 1_000_000  # a long postmortem is ~50 KB; a file far past it is a log or the wrong file


def _document(path: Path) -> str:
    """The draft in a file or on stdin, through the one reader of input files (UTF-8, a BOM, gzip), bounded."""
    from agent_postmortem.ingest.jsonfile import display_name, read_text

    text = read_text(path, not_text="give the draft as text or Markdown", limit=MAX_DOCUMENT_BYTES)
    if "\x00" in text:
        raise ValueError(f"{display_name(path)} is not text (it holds NUL bytes): give the draft as text or Markdown")
    return text


COMMANDS: list[tuple[str, Any]] = [("check-blameless", check_blameless)]
