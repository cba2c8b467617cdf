"""The one reader of JSON and JSONL input files (ingest/jsonfile.py), through the commands that read files: a BOM is
accepted; a file that is not UTF-8, not JSON or not valid says which file, line, column or field, never the value."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent_postmortem.ingest.jsonfile import SKIP_BYTES, numbered_lines
from tests.factories import run_row
from tests.processes import CLI, environment, postmortem

LATIN1 = "Caf\xe9 agent failed".encode("latin-1")


def _error(args: list[str], home: Path) -> str:
    result = postmortem(*args, home=home)
    assert result.returncode == 2 and b"Traceback" not in result.stderr, result.stderr.decode()
    assert not home.exists()
    return result.stderr.decode()


@pytest.mark.parametrize("command", [["import", "--dry-run"], ["import-steps", "--dry-run"], ["import-traces"]])
def test_a_file_that_is_not_utf8_names_the_file_and_the_line(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"title": "A fine title here"}\n{"title": "' + LATIN1 + b'"}\n')
    message = _error([*command, str(path)], tmp_path / "home")
    assert "mixed.jsonl line 2: not UTF-8 (byte 0xe9 at column 15)" in message and "codec" not in message


def test_a_json_line_with_a_byte_that_is_not_utf8_is_not_called_a_protobuf_file(tmp_path: Path) -> None:
    """An OTLP/JSON line with one stray Latin-1 byte in a string was told it was a protobuf file, to be exported
    with `format: json`, which it already was."""
    path = tmp_path / "traces.jsonl"
    path.write_bytes(b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "' + LATIN1 + b'"}]}]}]}\n')
    message = _error(["import-traces", str(path)], tmp_path / "home")
    assert "traces.jsonl line 1: not UTF-8 (byte 0xe9 at column 60)" in message
    assert "protobuf" not in message and "save the file as UTF-8" in message


@pytest.mark.parametrize("command", [["import", "--dry-run"], ["import-steps", "--dry-run"], ["import-traces"]])
def test_a_utf16_file_is_told_to_be_saved_as_utf8_not_called_a_protobuf_file(
    tmp_path: Path, command: list[str]
) -> None:
    """Windows PowerShell's `>` writes UTF-16: import-traces told its user the file was protobuf, to be exported with
    `format: json`, which it was."""
    path = tmp_path / "traces.json"
    path.write_text(json.dumps({"resourceSpans": []}) + "\n", encoding="utf-16")
    message = _error([*command, str(path)], tmp_path / "home")
    assert "traces.json line 1: not UTF-8 (byte 0xff at column 1); the file is UTF-16" in message
    assert "protobuf" not in message and "save it as UTF-8" in message


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    incidents, runs = tmp_path / "bom.jsonl", tmp_path / "runs.jsonl"
    incidents.write_bytes(b'\xef\xbb\xbf{"title": "Agent timed out calling the CRM"}\n')
    runs.write_bytes(b"\xef\xbb\xbf" + json.dumps(run_row()).encode() + b"\n")
    checked = postmortem("import", str(incidents), "--dry-run", "--json", home=tmp_path / "home")
    assert checked.returncode == 0 and json.loads(checked.stdout)["valid"] == 1, checked.stderr.decode()
    attributed = postmortem("import-steps", str(runs), "--dry-run", "--json", home=tmp_path / "home")
    assert attributed.returncode == 0 and json.loads(attributed.stdout)["runs"] == 1, attributed.stderr.decode()


def test_broken_json_says_where(tmp_path: Path) -> None:
    single = tmp_path / "incident.json"
    single.write_text('{"title": "Agent timed out",\n "description": oops}\n', encoding="utf-8")
    message = _error(["capture", "--file", str(single)], tmp_path / "home")
    assert "incident.json line 2: not JSON: Expecting value at column 17" in message
    lines = tmp_path / "incidents.jsonl"
    lines.write_text('{"title": "Agent timed out calling the CRM"}\n{"title": "x",}\n', encoding="utf-8")
    assert "line 2: not JSON: Expecting property name" in _error(["import", str(lines)], tmp_path / "home")


def test_capture_of_a_file_over_a_megabyte_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    """`capture --file` read a whole 300 MB file (and parsed it) before the fields' limits refused it."""
    big = tmp_path / "incident.json"
    with big.open("w", encoding="utf-8") as out:  # 50 MB, of which the command may read 1 MB
        out.write('{"title": "Agent timed out", "description": "')
        out.writelines("a" * 1_000_000 for _ in range(50))
        out.write('"}')
    message = _error(["capture", "--file", str(big)], tmp_path / "home")
    assert "incident.json is over 1,000,000 bytes: give the document" in message, message


def test_an_invalid_field_is_named_by_its_path_never_by_its_value(tmp_path: Path) -> None:
    single = tmp_path / "incident.json"
    single.write_text('{"title": "Agent timed out", "severity": "sk-live-CANARY"}', encoding="utf-8")
    message = _error(["capture", "--file", str(single)], tmp_path / "home")
    assert "incident.json: severity: Input should be" in message and "CANARY" not in message
    nested = tmp_path / "incidents.jsonl"
    nested.write_text('{"title": "Agent timed out", "timeline": [{"at": "CANARY", "description": "d"}]}\n')
    message = _error(["import", str(nested)], tmp_path / "home")
    assert "line 1: timeline.0.at: expected an ISO 8601 date or time (2026-12-15" in message and "CANARY" not in message
    not_an_object = tmp_path / "list.json"
    not_an_object.write_text("[1, 2]", encoding="utf-8")
    said = _error(["capture", "--file", str(not_an_object)], tmp_path / "h")
    assert "list.json holds a JSON list: give one JSON object" in said


class Pieces:
    """A file read a line at a time that records the largest piece it handed out."""

    def __init__(self, data: bytes) -> None:
        self.stream = io.BytesIO(data)
        self.largest = 0

    def readline(self, size: int = -1, /) -> bytes:
        piece = self.stream.readline(size)
        self.largest = max(self.largest, len(piece))
        return piece


def test_a_line_over_the_limit_is_read_past_in_bounded_pieces_and_the_next_lines_are_read() -> None:
    """A 300 MB line (or a file with no newline) was read whole, then decoded, before its length was checked."""
    source = Pieces(b'{"a": 1}\n' + b"x" * 5_000_000 + b'\n{"b": 2}\n' + b"y" * 3_000)
    read = list(numbered_lines(source, "runs.jsonl", max_bytes=1_000))
    assert read == [(1, '{"a": 1}\n'), (2, None), (3, '{"b": 2}\n'), (4, None)]
    assert source.largest <= SKIP_BYTES


@pytest.mark.parametrize(
    ("command", "limit", "said"),
    [
        (["import", "--dry-run"], 1_000_000, "line 2: longer than 1000000 bytes"),
        (["import-steps", "--dry-run"], 5_000_000, "line 2: longer than 5000000 bytes"),
        (["import-traces", "--dry-run"], 32 * 1024 * 1024, "line 2: longer than 33,554,432 bytes, the most one"),
    ],
    ids=["import", "import-steps", "import-traces"],
)
def test_a_line_over_the_documented_limit_is_refused_by_its_number(
    tmp_path: Path, command: list[str], limit: int, said: str
) -> None:
    path = tmp_path / "input.jsonl"
    with path.open("wb") as out:
        out.write(b'{"title": "first"}\n')
        out.write(b'{"title": "' + b"x" * limit + b'"}\n')
        out.write(b'{"title": "third"}\n')
    assert said in _error([*command[:1], str(path), *command[1:]], tmp_path / "home")


def test_a_huge_line_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """Measured from outside: the peak memory of `postmortem import-steps` and `import-traces` on a file of one
    120 MB line with no newline (about 400 MB and 340 MB when the line was read whole)."""
    path = tmp_path / "one-line.jsonl"
    with path.open("wb") as out:
        out.write(b'{"id": "r", "resourceSpans": [], "steps": "')
        for _ in range(120):
            out.write(b"x" * 1_000_000)
    peak = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    for command in ("import-steps", "import-traces"):
        measured = subprocess.run(
            [sys.executable, "-c", peak, CLI, command, str(path), "--dry-run"],
            env=environment(tmp_path / "home"),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        code, kilobytes = map(int, measured.stdout.split())
        assert code == 2 and kilobytes < 200_000, (command, kilobytes)
