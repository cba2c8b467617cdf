"""The one reader of JSON and JSONL input files (incidents, exports, step runs, traces, eval baselines).

A file is UTF-8, with or without a byte-order mark. Every error names the file and the line (and, for JSON syntax,
the column and what was expected); a validation error names the field path (`timeline.0.at`), never the value.
"""

import gzip
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent_postmortem.errors import validation_problems
from agent_postmortem.ingest.json_input import JsonInputError, loads

BOM = b"\xef\xbb\xbf"
GZIP, ZSTD = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"
STDIN = "-"  # the path that reads standard input (where a whole document is read: traces, `capture --file`)


class InputFileError(ValueError):
    """A file that cannot be read as UTF-8 JSON; the message names the file, the line and what is wrong."""


def _decode(raw: bytes, where: str, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputFileError(
            f"{where} line {number}: not UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1}); "
            "save the file as UTF-8"
        ) from None


def lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every non-blank line, decoded as UTF-8 (a BOM at the start is skipped)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(BOM):
                raw = raw[len(BOM) :]
            text = _decode(raw, path.name, number)
            if text.strip():
                yield number, text


def read_json_lines(path: Path) -> list[Any]:
    """Every non-blank line as JSON (nesting limited); the first bad line raises, naming the file, the line and the
    column."""
    rows = []
    for number, text in lines(path):
        try:
            rows.append(loads(text))
        except JsonInputError as e:
            raise InputFileError(f"{path.name} line {number}: {e}") from None
    return rows


def display_name(path: Path) -> str:
    return "stdin" if str(path) == STDIN else path.name


def read_bytes(path: Path) -> bytes:
    """The file's bytes (standard input for `-`), gunzipped when gzip-compressed; zstd is refused with what to do."""
    raw = sys.stdin.buffer.read() if str(path) == STDIN else path.read_bytes()
    if raw.startswith(GZIP):
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            raise InputFileError(f"{display_name(path)}: gzip data that does not decompress (truncated?)") from None
    if raw.startswith(ZSTD):
        raise InputFileError(f"{display_name(path)} is zstd-compressed: decompress it first (`zstd -d`)")
    return raw


def read_text(path: Path, *, not_text: str = "save the file as UTF-8") -> str:
    """The whole file as text (UTF-8, a BOM skipped, gzip decompressed), standard input for `-`; a decoding error
    names the line and column, then `not_text` (what such a file probably is and what to do)."""
    raw = read_bytes(path).removeprefix(BOM)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputFileError(
            f"{display_name(path)} line {line}: not UTF-8 (byte 0x{raw[e.start]:02x} at column {column}); {not_text}"
        ) from None


def read_json(path: Path) -> Any:
    """One JSON document (nesting limited); a syntax error says where (line and column) and what was expected."""
    try:
        return loads(read_text(path))
    except JsonInputError as e:
        if e.line is None:
            raise InputFileError(f"{display_name(path)}: {e}") from None
        raise InputFileError(f"{display_name(path)} line {e.line}: not JSON: {e.reason} at column {e.column}") from None


def read_model(path: Path, model: Any) -> Any:
    """One JSON document validated as a pydantic `model`; errors name the file and the field paths."""
    from pydantic import ValidationError

    data = read_json(path)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise InputFileError(f"{display_name(path)}: {validation_problems(e, limit=3)}") from None
