"""Backup lines as a restore reads them: an edited or older line refused by line and field, or restored whole."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.errors import PostmortemError
from agent_postmortem.ingest import backup
from agent_postmortem.store.models import ActionItemCreate, IncidentCreate, TimelineEventCreate
from tests.factories import FIXED_NOW, FakeLLM, draft, make_service

pytestmark = pytest.mark.usefixtures("database")  # the store contract: SQLite and PostgreSQL


def _lines_of(service: object) -> list[dict[str, Any]]:
    return [json.loads(line) for line in backup.export_lines(service)]  # type: ignore[arg-type]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("occurrences", -5, "incident.occurrences: at least 1"),
        ("category_confidence", 5, "incident.category_confidence: a confidence is from 0 to 1"),
    ],
)
def test_an_edited_export_line_with_a_value_no_store_holds_is_refused_by_line_and_field(
    tmp_path: Path, field: str, value: object, said: str
) -> None:
    """An edited export line was restored as it was: `occurrences: -5` (shown as "occurrences -5") and a confidence
    of 5."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    for title in ("Fares API answered 429", "Planner looped on the calendar tool"):
        source.capture_incident(IncidentCreate(title=title))
    first, second = _lines_of(source)
    second["incident"][field] = value
    with pytest.raises(PostmortemError, match=re.escape(f"line 2: {said}")):
        backup.read_export(_write(tmp_path / "edited.jsonl", [first, second]))


def test_a_backup_line_with_texts_longer_than_new_input_takes_restores_whole_and_named(tmp_path: Path) -> None:
    """A 5,000-character title or a 2 MB description in a backup stopped the whole restore: limits are for new
    input, and a restore brings back what the backup holds. Each such text is restored whole and named (by line,
    incident, field and length, never its value) for the command to say."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    for title in ("Fares API answered 429", "Planner looped on the calendar tool"):
        source.capture_incident(IncidentCreate(title=title))
    first, second = _lines_of(source)
    second["incident"].update(title="T" * 5_000, description="x" * 2_000_000)
    notes: list[str] = []
    incidents = backup.read_export(_write(tmp_path / "edited.jsonl", [first, second]), notes)
    assert notes == [
        "line 2 (INC-2): incident.title holds 5,000 characters, more than new input takes (200): restored whole",
        "line 2 (INC-2): incident.description holds 2,000,000 characters, more than new input takes (20,000): "
        "restored whole",
    ]
    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW)
    assert backup.restore(target, incidents) == 2
    restored = target.get_incident("INC-2")
    assert (len(restored.title), len(restored.description)) == (5_000, 2_000_000)


def test_a_backup_of_redacted_text_at_the_capture_limits_restores(tmp_path: Path) -> None:
    """A placeholder is longer than what it replaced ("a@b.io" becomes "[REDACTED:email]"): a stored text can be
    longer than a capture takes, and its backup must restore all the same."""
    emails = " ".join(f"u{n}@b.io" for n in range(5_000))
    key = "ghp_" + "a" * 36
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    captured = source.capture_incident(
        IncidentCreate(
            title=emails[:200],
            description=f"{key} {emails}"[:20_000],
            error_message=f"token {key} for {emails}"[:2_000],
            agent=emails[:200],
        )
    )
    rows = _lines_of(source)
    stored = rows[0]["incident"]
    assert stored["redactions"]["email"] > 100 and len(stored["title"]) == 200
    assert "[REDACTED:" in stored["description"] and "[REDACTED:github_token]" in stored["description"]
    # as a version that stored redacted text untrimmed wrote it: longer than the capture's 200 characters
    rows[0]["incident"]["agent"] = " ".join(["[REDACTED:email]"] * 60)
    path = _write(tmp_path / "backup.jsonl", rows)

    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW)
    assert backup.restore(target, backup.read_export(path)) == 1
    restored = target.get_incident(captured.id)
    assert restored.description == stored["description"] and restored.title == stored["title"]
    assert restored.agent is not None and len(restored.agent) > 200


def test_a_backup_of_events_and_item_titles_longer_than_new_input_takes_restores_them_whole(tmp_path: Path) -> None:
    """Events and item titles were held to the input limits exactly: one stored by an older version (placeholders
    untrimmed, or a long reopen note) made the whole backup fail ("at most 2000 characters"). Every incident restores,
    with each text as the backup holds it; what only placeholders made longer is not named."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    first = source.capture_incident(IncidentCreate(title="Fares API answered 429")).id
    second = source.capture_incident(IncidentCreate(title="Planner looped on the calendar tool")).id
    source.add_timeline_event(first, TimelineEventCreate(description="Paged the fares on-call"))
    source.add_action_item(second, ActionItemCreate(title="Rotate the fares key"))
    rows = _lines_of(source)
    # as a version that stored redacted text untrimmed wrote it: placeholders past the 2,000 and 300 characters
    event = "Mailed " + " ".join(["[REDACTED:email]"] * 130)
    title = "Tell " + " ".join(["[REDACTED:email]"] * 20)
    assert len(event) > 2_000 and len(title) > 300
    rows[0]["incident"]["timeline"][-1]["description"] = event
    rows[1]["incident"]["action_items"][0]["title"] = title
    notes: list[str] = []
    incidents = backup.read_export(_write(tmp_path / "backup.jsonl", rows), notes)
    assert notes == []

    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW)
    assert backup.restore(target, incidents) == 2
    [restored_first, restored_second] = _lines_of(target)
    assert restored_first["incident"]["timeline"][-1]["description"] == event
    assert restored_second["incident"]["action_items"][0]["title"] == title
    rows[1]["incident"]["action_items"][0]["title"] = "x" * 301  # no placeholder: more than new input takes
    backup.read_export(_write(tmp_path / "edited.jsonl", rows), notes)
    assert notes == [
        "line 2 (INC-2): incident.action_items.0.title holds 301 characters, more than new input takes (300): "
        "restored whole"
    ]


def test_a_long_event_redacted_again_on_restore_stays_whole(tmp_path: Path) -> None:
    """A restore redacts what it writes with this version's rules: an event longer than new input takes that held
    an address was trimmed to 2,000 characters by the redaction's own limit check, losing its end."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    first = source.capture_incident(IncidentCreate(title="Fares API answered 429")).id
    source.add_timeline_event(first, TimelineEventCreate(description="Paged the fares on-call"))
    rows = _lines_of(source)
    event = "Mailed dana@example.com: " + "the loop came back " * 200 + "THE END"
    rows[0]["incident"]["timeline"][-1]["description"] = event
    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW)
    assert backup.restore(target, backup.read_export(_write(tmp_path / "backup.jsonl", rows))) == 1
    [restored] = _lines_of(target)
    kept = restored["incident"]["timeline"][-1]["description"]
    assert kept.endswith("THE END") and "dana@example.com" not in kept and "[REDACTED:email]" in kept


@pytest.mark.parametrize(
    ("where", "given", "said"),
    [
        ("id", "INC-0", "incident.id: ids are INC-1, INC-2, ... (they start at 1"),
        ("id", "INC-007", "incident.id: ids are INC-1, INC-2, ..."),
        ("id", "PAT-3", "incident.id: PAT-3 is a pattern id, not an incident id (expected INC-<number>)"),
        ("item", "AI-0", "incident.action_items.0.id: ids are AI-1, AI-2, ..."),
    ],
)
def test_a_backup_line_with_an_id_no_store_gives_is_refused(tmp_path: Path, where: str, given: str, said: str) -> None:
    """A restored INC-0 worked until it was the oldest of a pattern: the pattern was PAT-0, which `runbook` refuses
    (pattern ids, as every id, start at 1). The restore refuses the line instead, saying how ids are written."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    captured = source.capture_incident(IncidentCreate(title="Fares API answered 429", error_type="RateLimitError"))
    source.add_action_item(captured.id, ActionItemCreate(title="Add jittered backoff", owner="platform"))
    [row] = _lines_of(source)
    if where == "id":
        row["incident"]["id"] = given
    else:
        row["incident"]["action_items"][0]["id"] = given
    with pytest.raises(PostmortemError, match=re.escape(f"line 1: {said}")):
        backup.read_export(_write(tmp_path / "edited.jsonl", [row]))


def test_a_restore_keeps_the_analysis_numbers_and_numbers_the_next_one_after_them(tmp_path: Path) -> None:
    """Analyses have numbers that reviews name (`postmortem review --analysis N`, analysis_id): a restore numbered
    them again from 1, so INC-1's analysis 2 came back as 1 and INC-2's 3 as 2, and a review naming the number read
    before the backup named another analysis, or none."""
    source = make_service(tmp_path / "a", llm=FakeLLM(draft(), draft(), draft()), clock=lambda: FIXED_NOW)
    first = source.capture_incident(IncidentCreate(title="Fares API answered 429", error_type="RateLimitError"))
    second = source.capture_incident(IncidentCreate(title="Planner looped on a refund", error_type="LoopError"))
    for incident_id in (first.id, first.id, second.id):
        source.draft_analysis(incident_id)
    numbers = {i: source.get_incident(i).analysis.id for i in (first.id, second.id)}  # type: ignore[union-attr]
    assert numbers == {first.id: 2, second.id: 3}
    path = tmp_path / "backup.jsonl"
    path.write_text("".join(line + "\n" for line in backup.export_lines(source)), encoding="utf-8")

    target = make_service(tmp_path / "b", llm=FakeLLM(draft()), clock=lambda: FIXED_NOW)
    backup.restore(target, backup.read_export(path))
    assert {i: target.get_incident(i).analysis.id for i in numbers} == numbers  # type: ignore[union-attr]
    again = tmp_path / "again.jsonl"
    again.write_text("".join(line + "\n" for line in backup.export_lines(target)), encoding="utf-8")
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    target.draft_analysis(second.id)  # the next analysis is numbered after the restored ones (PostgreSQL's sequence)
    assert target.get_incident(second.id).analysis.id == 4  # type: ignore[union-attr]


def test_a_backup_from_before_a_signature_rule_changed_is_restored_signed_by_the_current_rule(tmp_path: Path) -> None:
    """A restore kept each incident's signature as the backup held it: a backup taken before an upgrade that signs
    again (migration 0016 masks releases) brought back the old rule's signatures, and a repeat of a restored open
    failure was a new incident. Signatures are derived, so a restore computes them as a capture would."""
    source = make_service(tmp_path / "a", clock=lambda: FIXED_NOW)
    failure = {"title": "Fares client timed out", "error_type": "ClientError", "agent": "planner", "tool": "fares"}
    first = source.capture_incident(IncidentCreate(**failure, error_message="fares-client v1.2.3 timed out")).id
    rows = _lines_of(source)
    rows[0]["incident"]["signature"] = "0" * 32  # as an older rule signed it
    target = make_service(tmp_path / "b", clock=lambda: FIXED_NOW)
    assert backup.restore(target, backup.read_export(_write(tmp_path / "backup.jsonl", rows))) == 1
    assert target.get_incident(first).signature == source.get_incident(first).signature
    repeat = target.capture_incident(IncidentCreate(**failure, error_message="fares-client v1.2.4 timed out"))
    assert repeat.deduplicated and repeat.id == first
