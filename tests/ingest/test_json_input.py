"""JSON from files is parsed with a nesting limit: every command that reads JSON lines answers an over-deep or
non-standard line with one clear line on stderr and exit 2, never a RecursionError traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent_postmortem.ingest.json_input import JsonInputError, loads, nesting

CLI = str(Path(sys.executable).parent / "postmortem")
DEEP = "[" * 5_000 + "]" * 5_000


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("command", "line"),
    [
        ("import", DEEP),
        ("import", '{"title": "Agent looped", "occurrences": ' + "[" * 5_000 + "]" * 5_000 + "}"),
        ("import", '{"title": "Agent looped", "description": NaN}'),
        ("import-traces", DEEP),
        ("import-steps", DEEP),
    ],
    ids=["import", "import-nested-field", "import-nan", "import-traces", "import-steps"],
)
def test_a_deep_or_non_standard_json_line_is_one_clear_error_naming_the_line(
    tmp_path: Path, command: str, line: str
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"title": "Agent looped on a tool call"}\n' + line + "\n", encoding="utf-8")
    done = run(tmp_path / "home", command, str(path))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    assert "line 2" in done.stderr and ("nested more than 100 levels" in done.stderr or "not JSON" in done.stderr)


def test_nesting_counts_brackets_outside_strings_only() -> None:
    assert nesting('{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert nesting('["a \\" [[[", []]') == 2
    assert loads('{"a": "[[[["}') == {"a": "[[[["}
    with pytest.raises(JsonInputError, match="nested more than 3 levels"):
        loads("[[[[]]]]", max_depth=3)
    with pytest.raises(JsonInputError, match="Infinity is not a JSON value"):
        loads('{"t": Infinity}')
    with pytest.raises(JsonInputError, match="not valid UTF-8"):
        loads(b"\xff")
