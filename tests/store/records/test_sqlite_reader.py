"""The quick reads of an SQLite home (store/records/sqlite_reader.py) read what the record store reads: the same
models, repaired the same way, from damaged, hostile and filtered rows; the columns they select are schema.py's, with
its types; and a database at any other schema revision is left to the record store."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean

from agent_postmortem.store.errors import CorruptRecord, IncidentNotFound
from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.models import SeedIncident
from agent_postmortem.store.records import columns, schema
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.records.sqlite_reader import SQLiteReader, Unreadable
from tests.factories import make_service

MARKUP = "Agent crashed [/bold] after [link=https://evil.example]retry[/link] [reference removed]"
CONTROLS = "Clipboard \x1b]52;c;aGk=\x07 then \x1b[2J screen \x9b31m red \u202eevil"


def _seed(n: int, **extra: Any) -> SeedIncident:
    day = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=n, minutes=n)
    agent = ("booker", "planner", None)[n % 3]
    row = {"title": f"Incident {n}: the flight search timed out", "created_at": day, "agent": agent, "tool": "search"}
    return SeedIncident.model_validate({**row, "status": ("open", "mitigated", "resolved")[n % 3], **extra})


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Incidents with timelines, analyses and action items, then rows no current write produces: hostile text stored
    by an older writer, values to repair, a row beyond repair and a time written without microseconds."""
    folder = tmp_path_factory.mktemp("reader")
    analysis = {"whys": [{"question": "Why [bold]?", "answer": "Because [/] it did"}], "root_cause": "Root [red]c"}
    rows = [_seed(n) for n in range(40)]
    rows.append(_seed(40, analysis=analysis, action_items=[{"title": "Guard [/red] it", "owner": "x[/b]"}] * 2))
    at = [datetime(2026, 2, 1, hour, tzinfo=UTC) for hour in (5, 3, 4)]  # not in the order they are stored
    timeline = [{"at": t, "kind": "detected", "description": f"paged at {t:%H}"} for t in at]
    rows.append(_seed(41, timeline=timeline, severity="SEV1"))
    rows.append(_seed(42, created_at=rows[20].created_at))  # a tie: the newer key first
    service = make_service(folder)
    service.import_incidents(rows)
    service.store.engine.dispose()
    with sqlite3.connect(folder / "postmortem.db") as conn:
        conn.execute("update incidents set title = ? where pk = 42", [CONTROLS])
        conn.execute(  # a newer analysis (a draft), to be shown over the older one
            "insert into analyses (incident_pk, created_at, body, state) select incident_pk, created_at, "
            "json_set(body, '$.root_cause', 'the newer draft', '$.state', 'draft'), 'draft' from analyses"
        )
        conn.execute("update incidents set title = ?, category = 'nope', severity = 'SEV9' where pk = 41", [MARKUP])
        conn.execute("update incidents set title = 'Refund' || char(0) || ' failed' where pk = 3")
        conn.execute("update incidents set body = json_set(body, '$.legacy', 1, '$.triage', 'x') where pk = 4")
        conn.execute("update incidents set title = X'FF' where pk = 5")  # not text: beyond repair
        conn.execute("update incidents set created_at = '2026-01-07 00:00:00', resolved_at = NULL where pk = 7")
        first = "(select min(pk) from timeline_events)"
        conn.execute(f"update timeline_events set description = 'paged' || char(0) where pk in {first}")
        conn.execute("update action_items set priority = 'P9', owner = char(0)")
        conn.execute("update analyses set body = json_set(body, '$.whys[0].answer', ?)", ["a" * 900])
    return folder


def _same(read: Any, store: IncidentStore, reader: SQLiteReader) -> None:
    def outcome(on: Any) -> Any:
        try:
            return read(on)
        except (CorruptRecord, IncidentNotFound) as e:
            return (type(e), str(e))

    expected = outcome(store)
    assert outcome(reader) == expected


def _stores(home: Path) -> tuple[IncidentStore, SQLiteReader]:
    from agent_postmortem.store.records import db

    reader = SQLiteReader.open(home / "postmortem.db")
    assert reader is not None
    return IncidentStore(db.make_engine(db.sqlite_url(home))), reader


FILTERS = [
    {},
    {"status": "open"},
    {"status": "resolved", "agent": "planner"},
    {"category": "timeout"},
    {"severity": "SEV1"},
    {"tool": "search", "model": "gpt"},
    {"since": datetime(2026, 1, 10, tzinfo=UTC)},
    {"since": datetime(2026, 1, 5, 0, 5, tzinfo=UTC), "until": datetime(2026, 1, 20, 0, 20, tzinfo=UTC)},
    # the row stored without microseconds sits on the bound: SQLite compares the text
    {"until": datetime(2026, 1, 7, tzinfo=UTC)},
    {"since": datetime(2026, 1, 7, tzinfo=UTC)},
]


@pytest.mark.parametrize("given", FILTERS)
@pytest.mark.parametrize(("limit", "offset"), [(200, 0), (5, 0), (7, 30), (3, 100)])
def test_a_list_reads_the_rows_the_record_store_reads(
    home: Path, given: dict[str, Any], limit: int, offset: int
) -> None:
    store, reader = _stores(home)
    filters = SearchFilters.of(**given)
    _same(lambda on: on.list_incidents(limit=limit, offset=offset, filters=filters), store, reader)
    assert len(reader.list_incidents(limit=200)) == 42  # the row beyond repair is left out, as by the store


def test_an_incident_reads_as_the_record_store_reads_it(home: Path) -> None:
    store, reader = _stores(home)
    for n in range(45):
        _same(lambda on, n=n: on.get_or_raise(f"INC-{n}"), store, reader)
    shown = reader.get_or_raise("INC-41")
    assert shown.title == MARKUP and shown.analysis is not None and len(shown.action_items) == 2
    assert shown.analysis.root_cause == "the newer draft"
    assert reader.get_or_raise("inc-42 ").title == CONTROLS
    assert [e.description for e in reader.get_or_raise("INC-42").timeline][:3] == [
        "paged at 03",
        "paged at 04",
        "paged",
    ]


def test_the_columns_read_are_schema_py_s_with_their_types() -> None:
    for table, names in columns.READ.items():
        declared = schema.metadata.tables[table].c
        for name in names:
            kind = declared[name].type
            assert (name in columns.TIME_COLUMNS) == isinstance(kind, schema.UTCDateTime), (table, name)
            assert (name in columns.BOOLEAN_COLUMNS) == isinstance(kind, Boolean), (table, name)
            assert (name in columns.JSON_COLUMNS) == isinstance(kind, JSON), (table, name)


def test_another_schema_revision_or_no_database_is_left_to_the_record_store(tmp_path: Path, home: Path) -> None:
    copy = tmp_path / "postmortem.db"
    with sqlite3.connect(home / "postmortem.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    assert SQLiteReader.open(copy) is not None
    for change in ("update alembic_version set version_num = '0007'", "drop table alembic_version"):
        with sqlite3.connect(copy) as conn:
            conn.execute(change)
        assert SQLiteReader.open(copy) is None
    assert SQLiteReader.open(tmp_path / "missing" / "postmortem.db") is None
    assert SQLiteReader.open(tmp_path / "nothing.db") is None and not (tmp_path / "nothing.db").exists()


def test_a_value_the_reader_cannot_convert_is_unreadable_not_a_wrong_answer(tmp_path: Path, home: Path) -> None:
    copy = tmp_path / "postmortem.db"
    with sqlite3.connect(home / "postmortem.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
        target.execute("update incidents set created_at = 'yesterday' where pk = 9")
    reader = SQLiteReader.open(copy)
    assert reader is not None
    with pytest.raises(Unreadable):
        reader.list_incidents(limit=50)
    with pytest.raises(Unreadable):
        reader.get_or_raise("INC-9")
    assert reader.get_or_raise("INC-8").id == "INC-8"
