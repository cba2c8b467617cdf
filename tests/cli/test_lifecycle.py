"""`postmortem resolve` and `reopen` as a shell runs them: a note is kept whole on the timeline, or refused."""

from pathlib import Path

from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from tests.factories import capture, make_service
from tests.processes import postmortem


def test_a_reopen_note_is_kept_whole_after_its_prefix_and_one_too_long_is_refused_saying_the_limit(
    tmp_path: Path,
) -> None:
    """`reopen --note` took 2,000 characters and the timeline kept "Reopened: " and the first 1,990 of them: the end
    of the note was lost without a word."""
    service = make_service(tmp_path, llm=None)
    incident_id = capture(service)
    service.resolve_incident(incident_id)
    longest = "the fix did not hold " + "x" * 1_965 + " END"
    assert len(longest) == 1_990
    kept = postmortem("reopen", incident_id, "--note", longest, home=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert service.get_incident(incident_id).timeline[-1].description == f"Reopened: {longest}"
    service.resolve_incident(incident_id)
    refused = postmortem("reopen", incident_id, "--note", longest + "!", home=tmp_path)
    said = refused.stderr.decode()
    assert refused.returncode == 2 and "at most 1990 characters" in said and "this one has 1991" in said, said
    assert "Traceback" not in said and service.get_incident(incident_id).status == "resolved"


def test_a_resolve_note_of_the_event_limit_is_kept_whole(tmp_path: Path) -> None:
    service = make_service(tmp_path, llm=None)
    incident_id = capture(service)
    note = "retry budget shipped " + "y" * 1_975 + " END"
    assert len(note) == 2_000
    result = postmortem("resolve", incident_id, "--note", note, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert service.get_incident(incident_id).timeline[-1].description == note
    refused = postmortem("resolve", incident_id, "--note", note + "!", home=tmp_path)
    assert refused.returncode == 2 and "at most 2000 characters" in refused.stderr.decode()


def test_reopening_an_incident_that_is_open_says_it_was_open_already(runner: CliRunner) -> None:
    """`reopen` on an open incident answered "INC-1  open", exit 0, as if it had reopened it."""
    assert runner.invoke(app, ["capture", "--title", "Fares API returned 429"]).exit_code == 0
    again = runner.invoke(app, ["reopen", "INC-1"])
    assert again.exit_code == 0 and "INC-1  open (it was open already: nothing changed)" in again.stdout, again.stdout
    assert runner.invoke(app, ["resolve", "INC-1"]).exit_code == 0
    reopened = runner.invoke(app, ["reopen", "INC-1", "--note", "the fix did not hold"])
    assert reopened.exit_code == 0 and reopened.stdout.strip() == "INC-1  open", reopened.stdout
    noted = runner.invoke(app, ["reopen", "INC-1", "--note", "seen again"])
    assert "it was open already: only the note was added" in noted.stdout, noted.stdout
