"""`postmortem import-steps`: a dry run attributes without touching the home; errors are one line."""

import json
from pathlib import Path

import pytest

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


def _who_and_when_file() -> dict[str, object]:
    """A run as the Who&When dataset publishes it: one pretty-printed JSON file per run, its steps in `history`."""
    return {
        "is_correct": False,
        "question": "What is the average of the red numbers in the image?",
        "question_ID": "df6561b2-7ee5-4540-baab-5095f742716a",
        "level": 2,
        "history": [
            {"role": "assistant", "name": "Python_Expert", "content": "Let us extract the numbers with OCR."},
            {"role": "user", "name": "Computer_terminal", "content": "exitcode: 124 (execution failed)\nTimeout"},
            {"role": "user", "name": "Verification_Expert", "content": "Let's assume the numbers are 12.5 and 15."},
        ],
        "mistake_agent": "Verification_Expert",
        "mistake_step": "2",
    }


def test_a_run_file_as_who_and_when_publishes_it_is_imported(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`import-traces` sends a Who&When file to `import-steps`, which refused it: 52 lines "not JSON" for the
    pretty-printed file, "id: Field required; steps: Field required" for the same run on one line."""
    pretty, one_line = tmp_path / "3.json", tmp_path / "runs.jsonl"
    pretty.write_text(json.dumps(_who_and_when_file(), indent=4))
    one_line.write_text(
        json.dumps(_who_and_when_file()) + "\n" + json.dumps({**_who_and_when_file(), "is_correct": True})
    )
    for path, skipped in ((pretty, 0), (one_line, 1)):
        result = cli("import-steps", str(path), "--dry-run", "--json")
        assert result.exit_code == 0, result.stderr
        body = json.loads(result.stdout)
        assert body["skipped_successful"] == skipped
        [run] = body["results"]
        assert run["run_id"] == "df6561b2-7ee5-4540-baab-5095f742716a"
        assert run["attribution"]["responsible"] in {"Python_Expert", "Computer_terminal", "Verification_Expert"}


def test_runs_piped_on_stdin_are_read_as_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`import-steps -` answered "No such file or directory: -" where `import-traces -` read standard input; a
    pretty-printed run on stdin is read whole, as from a file."""
    from typer.testing import CliRunner

    from agent_postmortem.cli.app import app

    monkeypatch.setenv("POSTMORTEM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTMORTEM_LLM", "none")
    piped = [
        json.dumps(run_row()) + "\n" + json.dumps(run_row(id="ok", failed=False)) + "\n",
        json.dumps(_who_and_when_file(), indent=4),
    ]
    for text, runs in zip(piped, (2, 1), strict=True):
        result = CliRunner().invoke(app, ["import-steps", "-", "--dry-run", "--json"], input=text.encode())
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["runs"] == runs
    empty = CliRunner().invoke(app, ["import-steps", "-"], input=b"\n")
    assert empty.exit_code == 2 and "stdin is empty" in empty.stderr, empty.stderr


def test_a_run_id_or_agent_written_as_a_number_is_read_as_its_text(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`"id": 123` was refused, "Input should be a valid string", and with it the whole file."""
    row = run_row()
    row["id"] = 123
    row["trace"][0]["name"] = 7
    who_and_when = {**_who_and_when_file(), "question_ID": 42}
    path = tmp_path / "numbers.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(who_and_when) + "\n")
    result = cli("import-steps", str(path), "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    assert [r["run_id"] for r in json.loads(result.stdout)["results"]] == ["123", "42"]
    flag = tmp_path / "flag.jsonl"
    flag.write_text(json.dumps({**run_row(), "id": True}) + "\n")
    assert cli("import-steps", str(flag), "--dry-run").exit_code == 2  # a flag is no name


def test_one_run_is_said_as_one_run(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Importing one failed run said "imported 1 runs (0 already imported, 0 successful runs skipped)"."""
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_who_and_when_file()))
    result = cli("import-steps", str(path))
    assert result.exit_code == 0, result.stderr
    assert "imported 1 run (0 already imported, 0 successful runs skipped)" in " ".join(result.stderr.split())
    assert "1 run (reasons and evidence" in result.stdout


TOKEN = "ghp_" + "1234567890abcdefghijklmnopqrstuvwxyzAB"


@pytest.mark.parametrize("dry", [True, False])
def test_a_secret_in_a_run_id_or_agent_name_is_not_printed_by_the_import(cli, tmp_path: Path, dry: bool) -> None:  # type: ignore[no-untyped-def]
    """The incident stored 'run-[REDACTED:github_token]' and '[REDACTED:openai_key]', but the import's table printed
    the run id and agent as the file had them, and --json the whole token in run_id, responsible and reason: a CI
    log of the import kept what the store never did."""
    row = run_row(id=f"run-{TOKEN}")
    for step in row["trace"][1:]:
        step["agent"] = step["agent"].replace("Researcher", f"Researcher {TOKEN}")
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps(row) + "\n")
    dry_run = ["--dry-run"] if dry else []
    table = cli("import-steps", str(path), *dry_run)
    as_json = cli("import-steps", str(path), *dry_run, "--json")
    assert table.exit_code == 0 and as_json.exit_code == 0, table.stderr + as_json.stderr
    said = table.stdout + table.stderr + as_json.stdout + as_json.stderr
    assert TOKEN[:12] not in said and "[REDACTED:github_token]" in said
    result = json.loads(as_json.stdout)["results"][0]
    assert result["run_id"] == "run-[REDACTED:github_token]"
    assert result["attribution"]["responsible"] == "Researcher [REDACTED:github_token]"


def test_a_password_one_step_names_is_redacted_in_the_title_and_the_later_steps_too(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A step's 'DB_PASSWORD=Xy9pass!2026' was redacted, but the run's title and a later step that repeated the
    value bare kept it: each record of the capture was redacted on its own."""
    row = run_row(title="Agent logged in with Xy9pass!2026 and lost the booking")
    row["trace"][1]["content"] = "Please look this up; the config has DB_PASSWORD=Xy9pass!2026"
    row["trace"][2]["content"] += " I connected with Xy9pass!2026."
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert cli("import-steps", str(path)).exit_code == 0
    shown = cli("show", "INC-1", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert "Xy9pass" not in shown.stdout and "[REDACTED:password_pair]" in json.loads(shown.stdout)["title"]


def test_a_file_cut_inside_its_last_run_says_how_to_import_its_whole_lines(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A runs file an experiment is still writing ends inside a run: the import was refused with only "not JSON:
    Unterminated string", its whole runs with it, as `import-traces` did before it said what to do. A broken line
    inside the file is refused as before."""
    whole = json.dumps(run_row()) + "\n" + json.dumps(run_row(id="run-2")) + "\n"
    cut = tmp_path / "live.jsonl"
    cut.write_text(whole + json.dumps(run_row(id="run-3"))[:120])
    result = cli("import-steps", str(cut), "--dry-run")
    assert result.exit_code == 2 and "line 3: not JSON" in result.stderr
    assert "the file ends inside this line" in result.stderr
    assert "head -n 2 FILE | postmortem import-steps -" in result.stderr
    middle = tmp_path / "broken.jsonl"
    middle.write_text(json.dumps(run_row(id="run-3"))[:120] + "\n" + whole)
    result = cli("import-steps", str(middle), "--dry-run")
    assert result.exit_code == 2 and "line 1: not JSON" in result.stderr and "ends inside" not in result.stderr
