"""`postmortem import-steps`: a dry run attributes without touching the home; errors are one line."""

import json
from pathlib import Path

from tests.factories import run_row


def test_a_dry_run_prints_the_attributions_as_json_and_creates_no_home(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps(run_row()) + "\n" + json.dumps(run_row(id="ok", failed=False)) + "\n")
    result = cli("import-steps", str(path), "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["dry_run"], body["imported"], body["skipped_successful"]) == (True, 0, 1)
    assert body["results"][0]["attribution"]["responsible"] == "Researcher"
    assert not (tmp_path / "home").exists()


def test_bad_lines_and_a_missing_llm_are_one_line_errors(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "steps": [{"content": "sk-live-CANARY"}]}\n')
    result = cli("import-steps", str(bad))
    assert result.exit_code == 2 and "line 1" in result.stderr and "CANARY" not in result.stderr
    assert "Traceback" not in result.stderr
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(run_row()) + "\n")
    no_llm = cli("import-steps", str(good), "--attribute", "llm", "--dry-run")
    assert no_llm.exit_code == 2 and "--attribute heuristic" in no_llm.stderr
