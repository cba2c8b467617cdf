"""A new trace of an open incident's failure is counted on that incident: the import says which one."""

import json
from pathlib import Path
from typing import Any

from agent_postmortem.ingest.otlp import group_traces, parse_request
from agent_postmortem.ingest.traces import import_traces
from agent_postmortem.service.facade import PostmortemService
from tests.factories import FIXTURES

TRIP = "4bf92f3577b34da6a3ce929d0e0e4736"


def _trip(trace_id: str = TRIP) -> dict[str, Any]:
    """The fixture's failed trip-planner trace, under another trace id: the same failure, another run of it."""
    first = (FIXTURES / "otlp" / "genai_traces.jsonl").read_text().splitlines()[0]
    return json.loads(first.replace(TRIP, trace_id))


def test_the_incident_a_trace_was_counted_on_is_named(service: PostmortemService) -> None:
    """`import-traces` said "2 counted on an open incident" and `--json` had `incident_ids: []`: which incident the
    new runs of its failure went to was said nowhere."""
    [created] = import_traces(service, group_traces(parse_request(_trip()))).incident_ids
    again = import_traces(service, group_traces(parse_request(_trip("1" * 32))))
    assert (again.created, again.occurrences, again.incident_ids) == (0, 1, [])
    assert again.counted_on == [created]
    assert service.get_incident(created).occurrences == 2


def test_the_command_names_the_incident_the_traces_were_counted_on(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first, later = tmp_path / "first.jsonl", tmp_path / "later.jsonl"
    first.write_text(json.dumps(_trip()) + "\n")
    later.write_text(json.dumps(_trip("2" * 32)) + "\n" + json.dumps(_trip("3" * 32)) + "\n")
    assert cli("import-traces", str(first)).exit_code == 0
    shown = cli("import-traces", str(later))
    assert shown.exit_code == 0, shown.stdout
    assert "2 counted on an open incident" in shown.stdout
    assert "counted on: INC-1" in shown.stdout, shown.stdout


def test_importing_again_the_traces_counted_on_an_incident_counts_nothing(service: PostmortemService) -> None:
    """The same file imported twice said "1 counted on an open incident" the second time too, while nothing was
    counted (the trace id is the capture's idempotency key): the second import is "already imported"."""
    [created] = import_traces(service, group_traces(parse_request(_trip()))).incident_ids
    later = group_traces(parse_request(_trip("4" * 32)))
    assert import_traces(service, later).occurrences == 1
    again = import_traces(service, later)
    assert (again.occurrences, again.duplicates, again.counted_on) == (0, 1, [])
    assert service.get_incident(created).occurrences == 2
