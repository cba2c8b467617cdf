"""The one reader of JSON and JSONL input files (incidents, exports, step runs, traces, eval baselines).

A file is UTF-8, with or without a byte-order mark. Every error names the file and the line (and, for JSON syntax,
the column and what was expected); a validation error names the field path (`timeline.0.at`), never the value.
"""

import contextlib
import gzip
import io
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from agent_postmortem.errors import validation_problems
from agent_postmortem.ingest.json_input import JsonInputError, loads

BOM = b"\xef\xbb\xbf"
GZIP, ZSTD = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"
STDIN = "-"  # the path that reads standard input (where a whole document is read: traces, `capture --file`)
AS_UTF8 = "save the file as UTF-8"  # what to do with a text file that is not UTF-8
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# what Windows PowerShell's `>` and Out-File write: the hint for a protobuf file (byte 0xff) sent its users astray
UTF16 = (
    "the file is UTF-16 (as Windows PowerShell's `>` writes): save it as UTF-8 (`Out-File -Encoding utf8`, "
    "`iconv -f UTF-16 -t UTF-8`)"
)
SKIP_BYTES = 1 << 20  # the piece in which an over-long line is read past


class InputFileError(ValueError):
    """A file that cannot be read as UTF-8 JSON; the message names the file, the line and what is wrong."""


class Readable(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


def _decode(raw: bytes, where: str, number: int, not_text: str = AS_UTF8) -> str:
    """The line as text; not UTF-8, the error says what the file probably is (`not_text`), except for a line of JSON
    text with a stray byte in it (a Latin-1 character), which is no binary file of another format."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if number == 1 and raw.startswith(UTF16_BOMS):
            not_text = UTF16
        elif raw[: e.start].lstrip().startswith((b"{", b"[")) and not_text != AS_UTF8:
            not_text = f"the line is JSON with a character that is not UTF-8 in it: {AS_UTF8}"
        raise InputFileError(
            f"{where} line {number}: not UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1}); {not_text}"
        ) from None


def numbered_lines(
    handle: Readable, where: str, *, max_bytes: int, not_text: str = AS_UTF8
) -> Iterator[tuple[int, str | None]]:
    """(line number, text) of every line, blank ones too, decoded as UTF-8 (a BOM at the start is skipped). A line
    longer than `max_bytes` is never held whole: it is read past in bounded pieces and its text is None."""
    number = 0
    while raw := handle.readline(max_bytes + 1):
        number += 1
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            while (rest := handle.readline(SKIP_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield number, None
            continue
        yield number, _decode(raw, where, number, not_text)


def cut_short(text: str, number: int, command: str, joined: str = "") -> str:
    """What to do when the bad line is the file's end, cut inside a record: a file an exporter or an experiment is
    still writing, or a copy of one, whose whole lines were refused with it for one partial line. `joined`: what a
    later import adds to what this one stored (every command given here reads `-` as standard input)."""
    if text.endswith("\n"):
        return ""
    cut = "; the file ends inside this line (it was still being written, or the copy was cut short): import "
    if number == 1:  # no whole line before it to import ("head -n 0")
        return cut + "it once it is whole"
    first = f"`head -n {number - 1} FILE | postmortem {command} -`"
    return (
        f"{cut}the whole lines before it ({first}), and the file again once it is whole (what was imported is not "
        f"stored twice{joined})"
    )


def lines(path: Path, *, max_bytes: int) -> Iterator[tuple[int, str | None]]:
    """(line number, text) of every non-blank line (see `numbered_lines`: None for a line over `max_bytes`)."""
    with path.open("rb") as handle:
        for number, text in numbered_lines(handle, path.name, max_bytes=max_bytes):
            if text is None or text.strip():
                yield number, text


def read_json_lines(path: Path, *, max_bytes: int = 5_000_000) -> list[Any]:
    """Every non-blank line as JSON (nesting limited); the first bad line raises, naming the file, the line and the
    column."""
    rows = []
    for number, text in lines(path, max_bytes=max_bytes):
        if text is None:
            raise InputFileError(f"{path.name} line {number}: longer than {max_bytes} bytes")
        try:
            rows.append(loads(text))
        except JsonInputError as e:
            raise InputFileError(f"{path.name} line {number}: {e}") from None
    return rows


def empty(name: str, give: str) -> str:
    """What every reader says of a file with nothing in it but blank space: "imported 0 incidents" and exit 0 read
    as an import that worked (a failed query's output, a mistyped name)."""
    return f"{name} is empty: give {give}"


def display_name(path: Path) -> str:
    return "stdin" if str(path) == STDIN else path.name


class _Gunzipped:
    """A gzip stream read a line at a time; data that does not decompress says so."""

    def __init__(self, source: BinaryIO, name: str) -> None:
        self.unzipped = gzip.GzipFile(fileobj=source)
        self.name = name

    def readline(self, size: int = -1, /) -> bytes:
        try:
            return self.unzipped.readline(size)
        except (OSError, EOFError, zlib.error):
            raise InputFileError(f"{self.name}: gzip data that does not decompress (truncated?)") from None


@contextlib.contextmanager
def open_input(path: Path) -> Iterator[Readable]:
    """The file (standard input for `-`) to read a line at a time, gunzipped as it is read when gzip-compressed;
    zstd is refused with what to do. Nothing is read whole."""
    with contextlib.nullcontext(sys.stdin.buffer) if str(path) == STDIN else path.open("rb") as source:
        head = source.peek(len(ZSTD)) if isinstance(source, io.BufferedReader) else b""
        if head.startswith(ZSTD):
            raise InputFileError(f"{display_name(path)} is zstd-compressed: decompress it first (`zstd -d`)")
        yield _Gunzipped(source, display_name(path)) if head.startswith(GZIP) else source


def read_bytes(path: Path, *, limit: int | None = None) -> bytes:
    """The file's bytes (standard input for `-`), gunzipped when gzip-compressed; zstd is refused with what to do.
    With `limit`, more bytes than that are refused before the rest is read."""
    if limit is None:
        raw = sys.stdin.buffer.read() if str(path) == STDIN else path.read_bytes()
    else:
        with contextlib.nullcontext(sys.stdin.buffer) if str(path) == STDIN else path.open("rb") as source:
            raw = _bounded(source.read(limit + 1), limit, path)
    if raw.startswith(GZIP):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unzipped:
                return unzipped.read() if limit is None else _bounded(unzipped.read(limit + 1), limit, path)
        except (OSError, EOFError, zlib.error):
            raise InputFileError(f"{display_name(path)}: gzip data that does not decompress (truncated?)") from None
    if raw.startswith(ZSTD):
        raise InputFileError(f"{display_name(path)} is zstd-compressed: decompress it first (`zstd -d`)")
    return raw


def _bounded(raw: bytes, limit: int, path: Path) -> bytes:
    if len(raw) > limit:
        raise InputFileError(f"{display_name(path)} is over {limit:,} bytes: give the document, not a log or archive")
    return raw


def read_text(path: Path, *, not_text: str = AS_UTF8, limit: int | None = None) -> str:
    """The whole file as text (UTF-8, a BOM skipped, gzip decompressed), standard input for `-`; a decoding error
    names the line and column, then `not_text` (what such a file probably is and what to do). `limit`: at most that
    many bytes as read."""
    raw = read_bytes(path, limit=limit).removeprefix(BOM)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        not_text = UTF16 if raw.startswith(UTF16_BOMS) else not_text
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputFileError(
            f"{display_name(path)} line {line}: not UTF-8 (byte 0x{raw[e.start]:02x} at column {column}); {not_text}"
        ) from None


def read_json(path: Path, *, limit: int | None = None) -> Any:
    """One JSON document (nesting limited); a syntax error says where (line and column) and what was expected.
    `limit`: at most that many bytes, refused before the rest is read."""
    return _parsed(read_text(path, limit=limit), path)


def _parsed(text: str, path: Path) -> Any:
    try:
        return loads(text)
    except JsonInputError as e:
        if e.line is None:
            raise InputFileError(f"{display_name(path)}: {e}") from None
        raise InputFileError(f"{display_name(path)} line {e.line}: not JSON: {e.reason} at column {e.column}") from None


def read_model(
    path: Path,
    model: Any,
    *,
    limit: int | None = None,
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Any:
    """One JSON document validated as a pydantic `model`; errors name the file and the field paths. `limit`: as
    `read_json`'s; `prepare`: what the object's fields become before they are validated."""
    from pydantic import ValidationError

    text = read_text(path, limit=limit)
    if not text.strip():  # "line 1: not JSON: Expecting value at column 1" said nothing of an empty file
        raise InputFileError(empty(display_name(path), "one JSON object"))
    data = _parsed(text, path)
    if not isinstance(data, dict):  # "(record): Input should be a valid dictionary or instance of IncidentCreate"
        what = "a JSON list" if isinstance(data, list) else "JSON that is not an object"
        many = " (`postmortem import` takes many, one per line)" if isinstance(data, list) else ""
        raise InputFileError(f"{display_name(path)} holds {what}: give one JSON object{many}")
    try:
        return model.model_validate(data if prepare is None else prepare(data))
    except ValidationError as e:
        raise InputFileError(f"{display_name(path)}: {validation_problems(e, limit=3)}") from None
