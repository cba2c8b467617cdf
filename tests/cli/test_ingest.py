"""`postmortem import-traces`, in process, on a real data directory with the bundled embedding model."""

import gzip
import json
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_postmortem.cli.app import app
from tests.factories import FIXTURES
from tests.processes import CLI, cli, env

FIXTURE = FIXTURES / "otlp" / "genai_traces.jsonl"


def test_import_traces_reports_counts_and_a_second_import_finds_only_duplicates(runner: CliRunner) -> None:
    dry = runner.invoke(app, ["import-traces", str(FIXTURE), "--dry-run", "--json"], catch_exceptions=False)
    assert dry.exit_code == 0 and json.loads(dry.stdout)["titles"] == [
        "TimeoutError in flights.search",
        "RateLimitError in claude-sonnet-4 (support-bot)",
    ]
    first = runner.invoke(app, ["import-traces", str(FIXTURE)], catch_exceptions=False)
    assert first.exit_code == 0, first.stderr
    assert "3 traces, 2 with a failure" in first.stdout and "2 incidents created" in first.stdout
    again = json.loads(runner.invoke(app, ["import-traces", str(FIXTURE), "--json"]).stdout)
    assert (again["created"], again["duplicates"]) == (0, 2)  # the dry run stored nothing either
    hits = json.loads(runner.invoke(app, ["search", "flight search timed out", "--json"]).stdout)["hits"]
    assert hits[0]["title"] == "TimeoutError in flights.search"


def _pages(tmp_path: Path) -> list[Path]:
    """The first request of the fixture as an exporter paging it writes it: its model calls in one file, the rest
    (the failed tool call and the agent step) in the next."""
    request = json.loads(FIXTURE.read_text(encoding="utf-8").splitlines()[0])
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    pages = []
    for n, chat in enumerate((True, False), start=1):
        request["resourceSpans"][0]["scopeSpans"][0]["spans"] = [
            s for s in spans if s["name"].startswith("chat") == chat
        ]
        pages.append(tmp_path / f"page{n}.json")
        pages[-1].write_text(json.dumps(request), encoding="utf-8")
    return pages


def test_the_spans_of_a_trace_split_over_several_files_are_joined_in_one_import(
    runner: CliRunner, tmp_path: Path
) -> None:
    """`import-traces page1.json page2.json` was refused (one file only); imported one by one, the trace's model call
    in the first file was dropped (no failure in it), and its incident had no model, no prompt and a timeline
    without the model call, with nothing said."""
    pages = _pages(tmp_path)
    done = runner.invoke(app, ["import-traces", *map(str, pages), "--json"])
    assert done.exit_code == 0, done.output
    [incident_id] = json.loads(done.stdout)["incident_ids"]
    incident = json.loads(runner.invoke(app, ["show", incident_id, "--json"]).stdout)
    assert (incident["model"], incident["prompt_excerpt"]) == (
        "gpt-4.1-mini-2025-04-14",
        "Find me a flight to Lisbon on Friday, under 300 EUR",
    )
    assert any(e["description"].startswith("Model call chat to gpt-4.1-mini") for e in incident["timeline"])


def test_a_file_of_traces_without_their_failure_says_nothing_of_them_was_stored(
    runner: CliRunner, tmp_path: Path
) -> None:
    first = runner.invoke(app, ["import-traces", str(_pages(tmp_path)[0])])
    assert first.exit_code == 0, first.output
    assert "2 traces without a failure and of no incident: nothing stored" in " ".join(first.stdout.split())
    assert "give every file of the export to one import-traces" in " ".join(first.stdout.split())
    assert "nothing stored for them" in " ".join(first.stdout.split())
    one = json.loads(_pages(tmp_path)[0].read_text(encoding="utf-8"))
    spans = one["resourceSpans"][0]["scopeSpans"][0]["spans"]
    one["resourceSpans"][0]["scopeSpans"][0]["spans"] = [s for s in spans if s["traceId"] == spans[0]["traceId"]]
    (tmp_path / "one.json").write_text(json.dumps(one), encoding="utf-8")
    alone = " ".join(runner.invoke(app, ["import-traces", str(tmp_path / "one.json")]).stdout.split())
    assert "1 trace without a failure and of no incident: nothing stored for it (if" in alone, alone


def test_a_dry_run_shows_titles_redacted_as_they_would_be_stored(runner: CliRunner, tmp_path: Path) -> None:
    """`--dry-run` printed the titles it would capture raw: a token in the failed span's error type or tool name
    reached the terminal (and `--json`), where the import itself stores it redacted."""
    secret = "ghp_" + "T" * 36
    leaky = tmp_path / "leaky.jsonl"
    leaky.write_text(FIXTURE.read_text().replace('"flights.search"', f'"flights.search {secret}"'))
    for extra in ([], ["--json"]):
        dry = runner.invoke(app, ["import-traces", str(leaky), "--dry-run", *extra], catch_exceptions=False)
        assert dry.exit_code == 0 and secret not in dry.stdout and "[REDACTED:github_token]" in dry.stdout, dry.stdout


def test_a_malformed_trace_file_is_one_clear_line_and_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "traces.jsonl"
    bad.write_text('{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "00f067aa0ba902b7"}]}]}]}\n')
    result = runner.invoke(app, ["import-traces", str(bad)])
    assert result.exit_code == 2
    assert "traces.jsonl: resourceSpans[0].scopeSpans[0].spans[0].traceId: missing" in result.stderr
    assert "Traceback" not in result.stderr
    missing = runner.invoke(app, ["import-traces", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "No such file" in missing.stderr  # a path given that is no file: bad input
    folder = runner.invoke(app, ["import-traces", str(tmp_path)])
    assert folder.exit_code == 2 and "Is a directory" in folder.stderr


@pytest.mark.parametrize("content", ["", "\n\n  \n", "   \t "], ids=["empty", "blank-lines", "whitespace"])
@pytest.mark.parametrize("command", ["import", "import-steps", "import-traces", "capture"])
def test_an_empty_file_is_refused_by_every_importer_naming_it(
    runner: CliRunner, tmp_path: Path, command: str, content: str
) -> None:
    """`import` and `import-traces` of an empty file (a failed query's output, a mistyped name) said "imported 0
    incidents" and exited 0 while `import-steps` and `capture --file` refused it: a script could not tell a file that
    had nothing from an import that worked."""
    empty = tmp_path / "failures.jsonl"
    empty.write_text(content)
    args = ["capture", "--file", str(empty)] if command == "capture" else [command, str(empty)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: failures.jsonl is empty: give ") and result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_a_trace_dated_in_the_future_is_refused_with_exit_2_and_the_others_are_imported(
    runner: CliRunner, tmp_path: Path
) -> None:
    """It was half-stored (the incident, without its timeline) and answered with advice about ISO 8601."""
    trip, support, plain = FIXTURE.read_text().splitlines()
    fast = json.loads(trip)
    for span in (s for rs in fast["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]):
        span["traceId"] = "f" * 32
        span["startTimeUnixNano"] = str(int(span["startTimeUnixNano"]) + 10 * 365 * 86_400 * 10**9)  # ten years on
        span["endTimeUnixNano"] = str(int(span["endTimeUnixNano"]) + 10 * 365 * 86_400 * 10**9)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join([json.dumps(fast), support, plain]) + "\n")
    dry = runner.invoke(app, ["import-traces", str(mixed), "--dry-run", "--json"])
    assert dry.exit_code == 2
    assert json.loads(dry.stdout)["titles"] == ["RateLimitError in claude-sonnet-4 (support-bot)"]
    result = runner.invoke(app, ["import-traces", str(mixed), "--json"])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    counts = json.loads(result.stdout)
    assert (counts["created"], counts["refused"], counts["refused_spans"]) == (1, 1, 5)
    assert "titles" not in counts  # known in a dry run only: `"titles": []` said that nothing had one
    assert "f" * 32 in result.stderr and "clock of the host that sent it" in result.stderr
    listed = json.loads(runner.invoke(app, ["list", "--json"]).stdout)["incidents"]
    assert [i["title"] for i in listed] == ["RateLimitError in claude-sonnet-4 (support-bot)"]


def test_a_refusal_written_to_the_same_pipe_as_the_summary_starts_its_own_line(tmp_path: Path) -> None:
    """`import-traces a.json b.json > out.txt 2>&1`, a trace of a.json dated 15 minutes ahead: the refusal must
    follow the summary on a line of its own, not glued to it ("...0 timeline eventserror: ...")."""
    trip, support, plain = FIXTURE.read_text().splitlines()
    ahead = json.loads(trip)
    spans = [s for rs in ahead["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    shift = time.time_ns() + 15 * 60 * 10**9 - min(int(s["startTimeUnixNano"]) for s in spans)
    for span in spans:
        span["traceId"] = "f" * 32
        span["startTimeUnixNano"] = str(int(span["startTimeUnixNano"]) + shift)
        span["endTimeUnixNano"] = str(int(span["endTimeUnixNano"]) + shift)
    (tmp_path / "a.json").write_text(json.dumps(ahead) + "\n")
    (tmp_path / "b.json").write_text(f"{support}\n{plain}\n")
    done = subprocess.run(
        [CLI, "import-traces", str(tmp_path / "a.json"), str(tmp_path / "b.json")],
        env=env(tmp_path / "home"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one pipe, as `> out.txt 2>&1`
        timeout=240,
        check=False,
    )
    said = done.stdout.decode().splitlines()
    assert done.returncode == 2
    assert said[:2] == [
        "2 traces, 2 with a failure",
        "1 incident created, 0 already imported, 0 counted on an open incident, 2 timeline events",
    ]
    assert said[-1].startswith("error: 1 failed trace refused; the first: trace " + "f" * 32)


def test_more_spans_than_an_import_holds_is_refused_as_it_is_read_not_after(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300,000 spans (120 MB) took 1.1 GB and 12 s before anything was said: every line was decoded first, then
    every span built. Now the lines are read one at a time and the import stops at the limit, saying what to do."""
    from agent_postmortem.ingest import otlp

    monkeypatch.setattr(otlp, "MAX_SPANS", 50)
    batch = json.loads(FIXTURE.read_text().splitlines()[0])  # 5 spans
    many = tmp_path / "many.jsonl"
    many.write_text("\n".join([json.dumps(batch)] * 11) + "\n{not json\n")  # the bad last line is never reached
    result = runner.invoke(app, ["import-traces", str(many), "--dry-run"])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "many.jsonl line 11: more than 50 spans in one import; split the file" in result.stderr
    monkeypatch.setattr(otlp, "MAX_SPANS", 55)
    assert "line 12: not JSON" in runner.invoke(app, ["import-traces", str(many), "--dry-run"]).stderr


@pytest.mark.parametrize(
    "body",
    [
        '{"data": [{"traceID": "4bf92f3577b34da6", "spans": [{"spanID": "00f067aa0ba902b7"}]}]}',  # Jaeger's JSON
        '[{"traceId": "4bf92f3577b34da6", "id": "00f067aa0ba902b7", "name": "get"}]',  # Zipkin v2
        '{"foo": 1}\n{"bar": 2}\n',
    ],
)
def test_a_file_in_another_trace_format_is_refused_not_read_as_no_traces(tmp_path: Path, body: str) -> None:
    other = tmp_path / "traces.json"
    other.write_text(body, encoding="utf-8")
    done = cli(tmp_path / "home", "import-traces", str(other), "--dry-run")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: traces.json: no resourceSpans in any request; OTLP/JSON trace data")


def test_traces_piped_on_stdin_are_imported(tmp_path: Path) -> None:
    done = subprocess.run(
        [CLI, "import-traces", "-", "--json"],
        input=FIXTURE.read_bytes(),
        env=env(tmp_path / "home"),
        capture_output=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] == 2


def test_a_gzipped_trace_file_is_read_and_a_binary_one_is_named_for_what_it_probably_is(tmp_path: Path) -> None:
    packed = tmp_path / "traces.jsonl.gz"
    packed.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    read = cli(tmp_path / "home", "import-traces", str(packed), "--dry-run", "--json")
    assert read.returncode == 0 and json.loads(read.stdout)["failed_traces"] == 2, read.stderr
    proto = tmp_path / "traces.pb"
    proto.write_bytes(b"\n\x8f\x01\n\x12\xff\xfe")  # what the Collector's file exporter writes with format: proto
    refused = cli(tmp_path / "home", "import-traces", str(proto), "--dry-run")
    assert refused.returncode == 2 and "export with `format: json`" in refused.stderr


@pytest.mark.parametrize(
    "body", ['{"resourceSpans": null}', '{"resourceSpans": []}', '{"resourceSpans": [{"scopeSpans": null}]}\n']
)
def test_a_trace_file_without_a_single_span_says_so_and_fails_instead_of_importing_nothing(
    tmp_path: Path, body: str
) -> None:
    """`{"resourceSpans": null}` printed "0 traces, 0 with a failure" and exited 0, as if the import had worked."""
    empty = tmp_path / "traces.json"
    empty.write_text(body, encoding="utf-8")
    done = cli(tmp_path / "home", "import-traces", str(empty))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: traces.json: no spans in any request")
    assert "resourceSpans[].scopeSpans[].spans[]" in done.stderr
