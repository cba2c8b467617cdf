"""The one reader of JSON and JSONL input files (ingest/jsonfile.py), through the commands that read files: a BOM is
accepted; a file that is not UTF-8, not JSON or not valid says which file, line, column or field, never the value."""

import json
from pathlib import Path

import pytest

from tests.factories import run_row
from tests.processes import postmortem

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


def test_an_invalid_field_is_named_by_its_path_never_by_its_value(tmp_path: Path) -> None:
    single = tmp_path / "incident.json"
    single.write_text('{"title": "Agent timed out", "severity": "sk-live-CANARY"}', encoding="utf-8")
    message = _error(["capture", "--file", str(single)], tmp_path / "home")
    assert "incident.json: severity: Input should be" in message and "CANARY" not in message
    nested = tmp_path / "incidents.jsonl"
    nested.write_text('{"title": "Agent timed out", "timeline": [{"at": "CANARY", "description": "d"}]}\n')
    message = _error(["import", str(nested)], tmp_path / "home")
    assert "line 1: timeline.0.at: Input should be a valid datetime" in message and "CANARY" not in message
    not_an_object = tmp_path / "list.json"
    not_an_object.write_text("[1, 2]", encoding="utf-8")
    assert "list.json: (record): Input should be" in _error(["capture", "--file", str(not_an_object)], tmp_path / "h")
