"""`postmortem resolve` and `reopen` as a shell runs them: a note is kept whole on the timeline, or refused."""

from pathlib import Path

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
