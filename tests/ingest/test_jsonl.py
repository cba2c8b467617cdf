"""Bulk JSONL import: every invalid line reported (not only the first 20), dry runs that count new incidents and
duplicates without writing anything, and nothing imported from a file with a bad line."""

import json
from pathlib import Path

import pytest

from agent_postmortem.ingest.jsonl import ImportFileError, count_duplicates, read_incidents, validate_incidents
from agent_postmortem.store.models import SeedIncident
from tests.factories import make_service
from tests.processes import postmortem


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


GOOD = [SeedIncident(title=f"Agent {n} looped on a tool call").model_dump_json(exclude_defaults=True) for n in range(3)]


def test_validation_lists_every_invalid_line_with_its_reason_and_never_the_value(tmp_path: Path) -> None:
    bad = [json.dumps({"title": "okay", "severity": "sk-live-CANARY"})] * 25
    path = tmp_path / "in.jsonl"
    path.write_text(lines(GOOD[0], *bad, "{oops", "", GOOD[1]), encoding="utf-8")
    rows, problems, count = validate_incidents(path)
    assert (len(rows), len(problems), count) == (2, 26, 28)
    assert [p.line for p in problems] == list(range(2, 28))
    assert problems[0].reason.startswith("severity:") and problems[-1].reason.startswith("not JSON")
    assert not any("CANARY" in p.reason for p in problems)
    with pytest.raises(ImportFileError, match=r"(?s)26 invalid line\(s\).*and 6 more"):
        read_incidents(path)


def test_duplicates_are_counted_against_stored_hashes_and_earlier_lines() -> None:
    rows = [SeedIncident.model_validate_json(r) for r in (GOOD[0], GOOD[1], GOOD[1], GOOD[2])]
    stored = {"never-matches"}
    assert count_duplicates(rows, lambda hashes: set()) == 1
    seen: list[list[str]] = []

    def existing(hashes: list[str]) -> set[str]:
        seen.append(hashes)
        return {hashes[0]} | stored

    assert count_duplicates(rows, existing) == 2 and len(seen[0]) == 4


def test_a_dry_run_counts_new_and_duplicate_incidents_and_writes_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "in.jsonl"
    path.write_text(lines(GOOD[0], GOOD[1], GOOD[1], GOOD[2]), encoding="utf-8")
    fresh = cli("import", str(path), "--dry-run", "--json")
    assert fresh.exit_code == 0, fresh.stderr
    assert not (tmp_path / "home").exists()  # no home, no database created
    counted = json.loads(fresh.stdout)
    assert (counted["would_import"], counted["duplicates"], counted["problems"]) == (3, 1, [])
    service = make_service(tmp_path / "home")
    service.import_incidents([SeedIncident.model_validate_json(GOOD[0])])
    report = tmp_path / "report.json"
    known = cli("import", str(path), "--dry-run", "--report", str(report))
    assert known.exit_code == 0 and "would import 2 incidents (2 duplicates" in known.stdout
    assert json.loads(report.read_text())["dry_run"] is True and service.store.count() == 1


def test_an_import_of_one_incident_says_it_in_the_singular(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One incident was "1 valid lines; would import 1 incidents", "imported 1 incidents", "exported 1 incidents"."""
    path = tmp_path / "one.jsonl"
    path.write_text(lines(GOOD[0]), encoding="utf-8")
    dry = cli("import", str(path), "--dry-run")
    said = " ".join(dry.stdout.split())
    assert "one.jsonl: 1 valid line; would import 1 incident (0 duplicates would be skipped)" in said
    assert "imported 1 incident (0 duplicates skipped)" in cli("import", str(path)).stdout
    assert "exported 1 incident to" in cli("export", "-o", str(tmp_path / "backup.jsonl")).stderr


def test_a_bad_file_imports_nothing_and_the_report_lists_every_bad_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "in.jsonl"
    bad = json.dumps({"title": "x"})
    path.write_text(lines(GOOD[0], *[bad] * 30, GOOD[1]), encoding="utf-8")
    report = tmp_path / "report.json"
    result = cli("import", str(path), "--report", str(report))
    assert result.exit_code == 2 and "Traceback" not in result.stderr and str(report.name) in result.stderr
    written = json.loads(report.read_text())
    assert (written["invalid"], written["valid"], written["imported"]) == (30, 2, None)
    assert [p["line"] for p in written["problems"]] == list(range(2, 32))
    assert all(p["reason"].startswith("title:") for p in written["problems"])
    assert not (tmp_path / "home" / "postmortem.db").exists()
    without = cli("import", str(path))
    assert without.exit_code == 2 and "--report FILE" in without.stderr


def test_a_raw_control_character_is_named_once_with_its_column(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A log line pasted with a raw tab in a string: Python's message ends in "at", so the error said "at at"."""
    path = tmp_path / "in.jsonl"
    path.write_text('{"title": "Agent failed\twith a tab"}\n', encoding="utf-8")
    result = cli("import", str(path), "--dry-run")
    assert result.exit_code == 2, result.stderr
    assert "line 1: not JSON: Invalid control character at column 24" in result.stderr, result.stderr
    assert " at at " not in result.stderr


def test_an_imported_item_keeps_when_it_was_completed(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A team importing its post-mortems could not say when an item was done: `completed_at` was refused as an extra
    field and every completed item was dated at its incident's creation, so fix_effectiveness dated the fix to the
    hour the failure was detected. Now it is kept when given (and refused for an item not completed), and a completed
    item given no date keeps none: its completion date is unknown, not the incident's creation."""
    item = {"title": "Revert to default of 300 seconds for de-registration delay on the ALBs.", "status": "completed"}
    row = {"title": "All services returning 503 in Kubernetes", "created_at": "2021-06-22T09:00:00Z"}
    path = tmp_path / "in.jsonl"
    done = {**item, "completed_at": "2021-06-29T15:30:00+02:00"}
    path.write_text(lines(json.dumps({**row, "action_items": [done, {**item, "title": "Create ingress test suite."}]})))
    assert cli("import", str(path)).exit_code == 0
    listed = json.loads(cli("actions", "--json").stdout)["items"]
    assert {i["title"]: i["completed_at"] for i in listed} == {
        item["title"]: "2021-06-29T13:30:00Z",
        "Create ingress test suite.": None,
    }
    assert all(i["status"] == "completed" for i in listed)
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(lines(json.dumps({**row, "action_items": [{**done, "status": "open"}]})))
    refused = cli("import", str(wrong))
    assert refused.exit_code == 2 and "completed_at is only for an item whose status is completed" in refused.stderr


def test_times_in_the_future_are_refused_naming_the_field(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An item completed '2099-01-05' (a typo for 2019) was imported, and `effectiveness` then said 'holding: no
    recurrence in the -26328 days since the last item closed'; an incident dated 2099 sorts before everything. A
    capture refuses a time in the future; the import now does too, by line and field."""
    item = {"title": "Revert to default of 300 seconds for de-registration delay on the ALBs.", "status": "completed"}
    row = {"title": "All services returning 503 in Kubernetes", "created_at": "2021-06-22T09:00:00Z"}
    path = tmp_path / "in.jsonl"
    later = {**row, "title": "Logs not shipped to CloudWatch", "created_at": "2099-06-22T09:00:00Z"}
    path.write_text(
        lines(
            json.dumps({**row, "action_items": [{**item, "completed_at": "2099-01-05T00:00:00Z"}]}),
            json.dumps(later),
            json.dumps({**row, "title": "Node failure", "timeline": [{"at": "2099-01-01", "description": "Paged"}]}),
        )
    )
    refused = cli("import", str(path))
    assert refused.exit_code == 2, refused.stderr
    assert "line 1: action_items.0.completed_at is in the future" in refused.stderr
    assert "line 2: created_at is in the future" in refused.stderr
    assert "line 3: timeline.0.at is in the future" in refused.stderr
    assert "holds no incidents" in cli("list").stderr  # nothing was imported


def test_tool_arguments_given_as_an_object_are_stored_as_their_json_text(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Agents log tool arguments as objects, and the MCP tool and the SDK store them as JSON text; the import refused
    such a line ("tool_args: Input should be a valid string")."""
    path = tmp_path / "in.jsonl"
    row = {"title": "CRM lookup timed out", "tool": "crm.lookup", "tool_args": {"order": "A-1001", "retry": [1, 2]}}
    path.write_text(lines(json.dumps(row)))
    imported = cli("import", str(path))
    assert imported.exit_code == 0, imported.stderr
    [incident] = json.loads(cli("list", "--json").stdout)["incidents"]
    shown = json.loads(cli("show", incident["id"], "--json").stdout)
    assert json.loads(shown["tool_args"]) == {"order": "A-1001", "retry": [1, 2]}


def test_a_line_of_another_format_names_its_foreign_keys_in_one_sentence_with_the_format(tmp_path: Path) -> None:
    """An AIID export imported as it is was refused line by line with `id: Extra inputs are not permitted; source:
    Extra inputs are not permitted; and 17 more`: three of twenty problems, none saying the file is of another format.
    Its keys the format has not are now one sentence first, naming the format; the other problems follow."""
    aiid = {"id": "aiid-1", "source": "aiid", "title": "Kids app showed unsuitable videos", "text": "t", "date": "x"}
    path = tmp_path / "aiid.jsonl"
    path.write_text(lines(json.dumps({**aiid, "action_items": None})), encoding="utf-8")
    _, problems, _ = validate_incidents(path)
    reason = problems[0].reason
    assert reason.startswith("unknown fields: id, source, text,")
    said = "date; action_items: Input should be a valid list (give text as description)"
    assert reason.endswith(said) and "more" not in reason, reason


def test_what_unknown_fields_are_is_said_once_per_import_with_the_lines_that_have_them(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A tracker export of 3 lines said "not fields of the import format (docs/cli.md#the-jsonl-import-format)" on each
    of them, one sentence repeated per line; each line now names its unknown fields, and what they are and where the
    format is described is said once, with the lines that have them."""
    rows = [{"title": f"Fares API returned 429 ({n})", "jira_key": f"OPS-{n}"} for n in range(1, 4)]
    path = tmp_path / "tracker.jsonl"
    path.write_text(lines(GOOD[0], *(json.dumps(r) for r in rows)), encoding="utf-8")
    refused = cli("import", str(path))
    said = refused.stderr
    assert refused.exit_code == 2 and said.count("docs/cli.md#the-jsonl-import-format") == 1, said
    assert [n for n in range(2, 5) if f"line {n}: unknown fields: jira_key" in said] == [2, 3, 4]
    assert "3 lines (2, 3, 4) have unknown fields: fields the import format does not have" in " ".join(said.split())


def test_a_postmortem_of_another_format_is_told_where_its_text_root_cause_and_items_go(tmp_path: Path) -> None:
    """A public postmortem (DFDS's, as JSON) was refused with "not fields of the import format: id, source, text,
    root_cause, ..." and "action_items.0: expected a JSON object", which did not say that its text is the
    description, its root cause goes inside analysis and an action item is an object with a title."""
    written = {"title": "Logs not shipped to CloudWatch", "text": "FluentD stopped.", "root_cause": "No alert on it."}
    path = tmp_path / "postmortems.jsonl"
    path.write_text(lines(json.dumps({**written, "action_items": ["Alert on log volume"]})), encoding="utf-8")
    _, problems, _ = validate_incidents(path)
    said = '(give text as description; root_cause as analysis.root_cause; each action item as {"title": ...})'
    assert problems[0].reason.endswith(said), problems[0].reason
    fixed = {"title": written["title"], "description": written["text"], "analysis": {"root_cause": "No alert on it."}}
    path.write_text(lines(json.dumps({**fixed, "action_items": [{"title": "Alert on log volume"}]})), encoding="utf-8")
    assert validate_incidents(path)[1] == []  # as the hint says, it imports


def test_an_otlp_trace_file_given_to_import_is_told_to_use_import_traces(tmp_path: Path) -> None:
    """`postmortem import traces.json` of `{"resourceSpans": null}` was refused as "not fields of the import format:
    resourceSpans", which did not say that this is trace data, nor which command reads it."""
    path = tmp_path / "traces.json"
    path.write_text(lines(json.dumps({"resourceSpans": None})), encoding="utf-8")
    _, problems, _ = validate_incidents(path)
    assert problems[0].reason.endswith("(this is OTLP/JSON trace data: import it with `postmortem import-traces`)")


def test_a_past_write_up_with_a_root_cause_and_no_whys_imports(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A team's post-mortems (here DFDS's, MIT) state a root cause and factors, not five whys: each line was refused
    with "analysis.whys: Field required", so none of a team's history could come in without inventing whys."""
    row = {
        "title": "Kubernetes network infrastructure IP starvation",
        "description": "Scaling the worker nodes pushed the cluster's network design to its limit: the EKS CNI "
        "consumes one VPC IP per pod and each zone's /24 subnet has about 250 usable addresses.",
        "status": "resolved",
        "created_at": "2019-11-29T10:00:00Z",
        "analysis": {
            "root_cause": "No monitoring of network subnet capacity let a known limitation in the architecture "
            "become an acute problem.",
            "contributing_factors": [{"factor": "one autoscaling group across zones", "effect": "no flexibility"}],
        },
    }
    path = tmp_path / "dfds.jsonl"
    path.write_text(lines(json.dumps(row)), encoding="utf-8")
    imported = cli("import", str(path))
    assert imported.exit_code == 0 and "imported 1 incident" in imported.stdout, imported.stderr
    shown = json.loads(cli("show", "INC-1", "--json").stdout)
    assert shown["analysis"]["whys"] == [] and shown["analysis"]["root_cause"].startswith("No monitoring of network")
    report = cli("report", "INC-1")
    assert report.exit_code == 0 and "## Root cause analysis" in report.stdout
    assert "0 whys" not in report.stdout  # the heading counted whys the write-up never had


def test_an_import_in_a_script_leaves_its_log_clean(tmp_path: Path) -> None:
    """The progress bar, drawn only on a terminal, still wrote a blank line to a script's stderr at its end."""
    path = tmp_path / "in.jsonl"
    path.write_text(lines(*GOOD), encoding="utf-8")
    done = postmortem("import", str(path), home=tmp_path / "home")
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    assert done.stdout.decode().startswith("imported 3 incidents")


@pytest.mark.parametrize("indent", [None, 2])
def test_a_json_array_of_incidents_is_told_to_be_one_per_line(tmp_path: Path, indent: int | None) -> None:
    """A list of incidents saved with `json.dump(incidents, f)` was refused as "line 1: (record): expected a JSON
    object" (pretty-printed: "line 1: not JSON"), which did not say the file is an array, nor how to import it."""
    path = tmp_path / "incidents.json"
    path.write_text(json.dumps([json.loads(row) for row in GOOD], indent=indent), encoding="utf-8")
    _, problems, _ = validate_incidents(path)
    assert problems[0].line == 1 and "JSON array" in problems[0].reason and "jq -c '.[]'" in problems[0].reason


def test_a_file_cut_inside_its_last_line_names_the_line_and_says_how_to_import_the_whole_lines(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    """A copy of a JSONL file still being written ends inside an incident: `import` said only "line 4: not JSON:
    Unterminated string", not that the file was cut short, nor how to keep the three whole lines before it."""
    path = tmp_path / "incidents.jsonl"
    path.write_text(lines(*GOOD) + '{"title": "Refund sent tw', encoding="utf-8")
    refused = cli("import", str(path))
    assert refused.exit_code == 2 and "line 4: not JSON" in refused.stderr
    assert "the file ends inside this line" in refused.stderr
    assert "`head -n 3 FILE | postmortem import -`" in refused.stderr
    whole = "".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:3])
    imported = cli("import", "-", stdin=whole.encode())  # as the hint says: the whole lines, piped
    assert imported.exit_code == 0 and "imported 3 incidents" in imported.stdout


def test_an_import_reads_standard_input_for_dash_and_names_it_stdin(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`postmortem import -` read a file named "-" ("No such file"), where import-traces, import-steps and
    check-blameless read standard input; a backup piped in is restored as from its file."""
    dry = cli("import", "-", "--dry-run", stdin=lines(*GOOD).encode())
    assert dry.exit_code == 0 and dry.stdout.startswith("stdin: 3 valid lines"), dry.output
    bad = cli("import", "-", stdin=(lines(*GOOD) + "not json\n").encode())
    assert bad.exit_code == 2 and "stdin" in bad.stderr and "line 4: not JSON" in bad.stderr
    assert cli("import", "-", stdin=lines(*GOOD).encode()).exit_code == 0
    cut_first = cli("import", "-", stdin=b'{"title": "Refund sent tw')  # no whole line before it: no `head -n 0`
    assert "import it once it is whole" in cut_first.stderr and "head -n 0" not in cut_first.stderr
    backup = cli("export", "-o", "-").stdout  # read as a backup from standard input: refused into this home
    again = cli("import", "-", "--dry-run", stdin=backup.encode())
    assert again.exit_code == 2 and "a backup is restored into an empty home" in again.stderr, again.output
