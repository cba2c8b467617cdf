"""`postmortem draft INC-n --file analysis.json`: an analysis written by hand, stored as record_analysis stores one."""

import json
from pathlib import Path

from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from agent_postmortem.store.models import DraftFactor
from tests.factories import capture, draft, make_service


def _incident(tmp_path: Path) -> str:
    service = make_service(tmp_path / "home", llm=None)
    incident_id = capture(service)
    service.knowledge.release_index()
    return incident_id


def test_an_analysis_written_by_hand_is_stored_from_a_file_with_prose_and_fences_around_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    """The 5 whys written in a file could only be stored by an assistant (record_analysis) or the SDK: no command
    took them. The text around the object is read as the MCP tool reads it."""
    incident_id = _incident(tmp_path)
    written = tmp_path / "analysis.md"
    written.write_text(f"Here it is:\n```json\n{draft().model_dump_json(indent=2)}\n```\n")
    result = runner.invoke(app, ["draft", incident_id, "--file", str(written), "--track", "--json"])
    assert result.exit_code == 0, result.stderr
    stored = json.loads(result.stdout)
    assert stored["state"] == "draft" and stored["generated_by"] == "human"
    assert stored["root_cause"] == draft().root_cause
    shown = json.loads(runner.invoke(app, ["show", incident_id, "--json"]).stdout)
    assert [a["title"] for a in shown["action_items"]] == [draft().action_items[0].title]  # --track tracked it


def test_an_analysis_file_that_does_not_follow_the_schema_exits_2_naming_the_field_and_no_secret(
    runner: CliRunner, tmp_path: Path
) -> None:
    incident_id = _incident(tmp_path)
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2
    wrong = draft().model_dump(mode="json") | {"whys": [], "root_cause": f"the key {secret} leaked"}
    written = tmp_path / "analysis.json"
    written.write_text(json.dumps(wrong))
    result = runner.invoke(app, ["draft", incident_id, "--file", str(written)])
    said = result.stderr
    assert result.exit_code == 2 and result.stdout == "", said
    assert said.startswith("error: ") and said.count("\n") == 1 and "whys" in said, said
    assert secret not in said and "Traceback" not in said
    assert json.loads(runner.invoke(app, ["show", incident_id, "--json"]).stdout)["analysis"] is None


def test_an_analysis_file_that_is_missing_or_holds_no_object_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    incident_id = _incident(tmp_path)
    missing = runner.invoke(app, ["draft", incident_id, "--file", str(tmp_path / "nowhere.json")])
    assert missing.exit_code == 2 and "nowhere.json" in missing.stderr, missing.stderr
    prose = tmp_path / "notes.txt"
    prose.write_text("the agent retried too much")
    empty = runner.invoke(app, ["draft", incident_id, "--file", str(prose)])
    assert empty.exit_code == 2 and "no JSON object" in empty.stderr and empty.stderr.count("\n") == 1, empty.stderr


def test_draft_prints_the_whys_and_factors_as_show_does_in_a_narrow_terminal(tmp_path: Path) -> None:
    """`draft` printed its whys and factors as plain lines: in 60 columns an answer or an effect went on at the left
    edge, under nothing, while `show` hangs each under its number or its "factor:". Draft renders them as show does:
    show's whys and factors are one block in draft's output, and every wrapped line of them is indented."""
    from tests.processes import postmortem

    incident_id = _incident(tmp_path)
    written = tmp_path / "analysis.json"
    whys = [w.model_copy(update={"answer": f"{w.answer} It was not seen in review, load tests or alerts."}) for w in
            draft().whys]  # fmt: skip
    factor = DraftFactor(factor="no jitter in the retry loop", effect="every client retried in synchronised bursts")
    analysis = draft().model_copy(update={"whys": whys, "contributing_factors": [factor]})
    written.write_text(analysis.model_dump_json())
    narrow = {"COLUMNS": "60"}
    drafted = postmortem("draft", incident_id, "--file", str(written), home=tmp_path / "home", env=narrow)
    assert drafted.returncode == 0, drafted.stderr
    shown = postmortem("show", incident_id, home=tmp_path / "home", env=narrow).stdout.decode().splitlines()
    start = next(n for n, text in enumerate(shown) if text.startswith("  1. "))
    end = max(n for n, text in enumerate(shown) if text.startswith("  factor: "))
    block = shown[start : end + 1]
    while end + 1 < len(shown) and shown[end + 1].startswith("          "):  # the last factor's wrapped lines
        end += 1
        block.append(shown[end])
    assert len(block) > 2 * len(whys) + 1  # the answers and the factor wrapped in 60 columns
    assert all(text.startswith("  ") for text in block), block
    assert "\n".join(block) in drafted.stdout.decode(), drafted.stdout.decode()
