"""Schema and migrations: the Alembic history builds exactly the schema the code declares, on SQLite and on
PostgreSQL."""

from datetime import timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from agent_postmortem.store.models import Incident, IncidentCreate
from agent_postmortem.store.records import db, schema
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.records.rows import NewIncident
from tests.factories import FIXED_NOW, FIXTURES, HomeDatabases
from tests.old_rows import WRITTEN_AT, rows_at


def test_migrations_build_the_declared_schema_and_are_idempotent(tmp_path: Path, database: HomeDatabases) -> None:
    engine = database.engine(tmp_path, migrated=False)
    db.upgrade(engine, lock_dir=tmp_path)
    db.upgrade(engine, lock_dir=tmp_path)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
        version = conn.execute(text("select version_num from alembic_version")).scalar()
        named = (
            "select name from sqlite_master where type = 'index'"
            if engine.dialect.name == "sqlite"
            else ("select indexname from pg_indexes where schemaname = current_schema()")
        )
        indexes = set(conn.execute(text(named)).scalars())
    assert diff == []
    assert (
        "ix_action_items_owner_key" in indexes and "ix_action_items_owner_lower" not in indexes
    )  # 0014 replaced 0012's
    assert version == "0017"
    assert {"incidents", "timeline_events", "analyses", "action_items", "action_item_changes", "index_outbox"} <= set(
        inspect(engine).get_table_names()
    )


def test_sqlite_runs_in_wal_with_full_sync(tmp_path: Path) -> None:
    engine = db.make_engine(db.sqlite_url(tmp_path))
    with engine.connect() as conn:
        assert conn.execute(text("pragma journal_mode")).scalar() == "wal"
        assert conn.execute(text("pragma synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("pragma foreign_keys")).scalar() == 1


def test_a_database_made_by_the_first_schema_upgrades_and_keeps_its_incidents(
    tmp_path: Path, database: HomeDatabases
) -> None:
    engine = database.engine(tmp_path, migrated=False)
    body = '{"description": "from v0.1", "triage": "full", "category_confidence": 1.0}'
    rows_at(  # a row exactly as version 0001 of the code wrote it
        engine,
        tmp_path,
        "0001",
        incidents=[{"title": "Old failure", "agent": None, "tool": None, "model": None, "body": body}],
        index_outbox=[{"incident_pk": 1, "op": "upsert"}],
    )
    db.upgrade(engine, lock_dir=tmp_path)
    old = IncidentStore(engine).get_or_raise("INC-1")
    assert (old.title, old.description, old.occurrences, old.signature) == ("Old failure", "from v0.1", 1, None)
    assert old.created_at.tzinfo is not None


def test_keys_stored_before_0011_are_told_a_repeats_from_the_timeline(tmp_path: Path, database: HomeDatabases) -> None:
    """0011: a key stored at a time other than its incident's creation counted an occurrence, the n-th being one
    more than the "Occurred again" notes up to then; so a retry after the upgrade answers as a repeat."""
    from agent_postmortem.store.records.idempotency import SECRET_NAME, digest
    from tests.factories import make_service

    engine = database.engine(tmp_path, migrated=False)
    db.upgrade(engine, lock_dir=tmp_path, revision="0010")
    times = ["2026-01-02 03:04:05.000000", "2026-01-02 04:00:00.000000", "2026-01-02 05:00:00.000000"]
    with engine.begin() as conn:  # rows exactly as the code at schema 0010 wrote them
        secret = conn.execute(text("select value from store_secrets where name = :n"), {"n": SECRET_NAME}).scalar()
        conn.execute(
            text(
                "insert into incidents (title, category, severity, status, agent, tool, created_at, "
                "postmortem_completed, content_hash, signature, occurrences, body) values ('Planner timed out', "
                "'timeout', 'SEV3', 'open', 'bot', 'fares', :at, false, 'abc', 'sig', 3, :body)"
            ),
            {"at": times[0], "body": '{"description": "", "triage": "full", "triage_reasons": ["novel"]}'},
        )
        for n, at in enumerate(times):
            kind, note = ("detected", "Captured: Planner timed out") if n == 0 else ("note", "Occurred again: Planner")
            conn.execute(
                text("insert into timeline_events (incident_pk, at, kind, description) values (1, :at, :k, :d)"),
                {"at": at, "k": kind, "d": note},
            )
            conn.execute(
                text("insert into idempotency_keys values (:key, 1, :at)"),
                {"key": digest(str(secret), f"retry-key-{n}"), "at": at},
            )
    db.upgrade(engine, lock_dir=tmp_path)
    with engine.connect() as conn:
        counted = conn.execute(text("select occurrence from idempotency_keys order by created_at")).scalars().all()
    assert counted == [None, 2, 3]
    service = make_service(tmp_path)
    first, third = (
        service.capture_incident(IncidentCreate(title="Planner timed out", idempotency_key=f"retry-key-{n}"))
        for n in (0, 2)
    )
    assert first.replayed and not first.deduplicated
    assert third.replayed and third.deduplicated and third.occurrences == 3 and not third.novel


def test_a_database_made_by_the_previous_schema_version_upgrades_with_its_data(tmp_path: Path) -> None:
    """tests/fixtures/postmortem-0003.db was written by the code at schema 0003 (incident, timeline, analysis,
    an action item with its history); keep one such fixture per released schema."""
    import shutil

    from agent_postmortem.store.records.actions import ActionStore
    from tests.factories import FIXED_NOW

    shutil.copy(FIXTURES / "postmortem-0003.db", tmp_path / "postmortem.db")
    engine = db.make_engine(db.sqlite_url(tmp_path))
    db.upgrade(engine, lock_dir=tmp_path)
    with engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == "0017"
        assert conn.execute(text("pragma integrity_check")).scalar() == "ok"
    store = IncidentStore(engine)
    old = store.get_or_raise("INC-1")
    assert old.title.startswith("Support bot promised") and old.analysis is not None
    assert old.analysis.hypotheses == [] and old.analysis.checks == []  # written before they existed
    assert [e.description for e in old.timeline] == ["Customer complaint"]
    item = ActionStore(store).get("AI-1", now=FIXED_NOW)
    assert item.status == "completed" and [(h.field, h.by) for h in item.history] == [
        ("created", "dana"),
        ("status", "lee"),
    ]
    assert store.find_by_key("any-key-at-all") is None  # the table added by 0004 is there


def test_a_restore_keeping_ids_leaves_room_for_the_next_capture(tmp_path: Path, database: HomeDatabases) -> None:
    """PostgreSQL's key sequence does not move past explicitly inserted keys as SQLite's rowid does."""
    engine = database.engine(tmp_path)
    db.upgrade(engine, lock_dir=tmp_path)
    store = IncidentStore(engine)
    restored = Incident(
        id="INC-41",
        title="Restored from an export",
        category="timeout",
        severity="SEV4",
        triage="full",
        created_at=FIXED_NOW,
    )
    store.create_many([NewIncident(restored, None, None, keep_id=True)])
    fresh = restored.model_copy(update={"title": "Captured after the restore", "created_at": FIXED_NOW + timedelta(1)})
    assert store.create(fresh, embedding=None, embedding_model=None).id == "INC-42"


def test_a_title_that_redaction_lengthens_is_stored_whole(tmp_path: Path, database: HomeDatabases) -> None:
    engine = database.engine(tmp_path)
    db.upgrade(engine, lock_dir=tmp_path)
    store = IncidentStore(engine)
    title = "Mailer leaked " + "ops@x.io " * 20  # 194 characters, 20 e-mail addresses
    leaky = Incident.model_validate(
        {"id": "INC-0", "title": title, "agent": title, "category": "timeout", "severity": "SEV4", "triage": "full"}
        | {"created_at": FIXED_NOW}
    )
    stored = store.create(leaky, embedding=None, embedding_model=None)
    assert len(stored.title) > 200 and stored.title == stored.agent and "ops@x.io" not in stored.title


def test_change_authors_stored_raw_before_0007_are_redacted_by_the_upgrade(
    tmp_path: Path, database: HomeDatabases
) -> None:
    """`action_item_changes.by` was written as given (MCP `by`, CLI `--by`): 0007 redacts what is there."""
    engine = database.engine(tmp_path, migrated=False)
    db.upgrade(engine, lock_dir=tmp_path, revision="0005")
    store = IncidentStore(engine)
    leaky = Incident(
        id="INC-0", title="Refund", category="timeout", severity="SEV4", triage="full", created_at=FIXED_NOW
    )
    incident = store.create(leaky, embedding=None, embedding_model=None)
    with engine.begin() as conn:  # as the code at 0005 wrote them
        conn.execute(
            text(
                "insert into action_items (incident_pk, title, priority, status, created_at) "
                "values (1, 'Fix it', 'P1', 'open', '2026-01-02 03:04:05.000000')"
            )
        )
        for by in ("dana alice@example.com", "lee", None):
            conn.execute(
                text(
                    'insert into action_item_changes (action_pk, at, field, new, "by") '
                    "values (1, '2026-01-02 03:04:05.000000', 'created', 'Fix it', :by)"
                ),
                {"by": by},
            )
    db.upgrade(engine, lock_dir=tmp_path)
    with engine.connect() as conn:
        authors = [b for (b,) in conn.execute(text('select "by" from action_item_changes order by pk'))]
    assert authors == ["dana [REDACTED:email]", "lee", None] and incident.id == "INC-1"


def test_analyses_accepted_before_0008_stay_accepted_and_feed_search_hits(
    tmp_path: Path, database: HomeDatabases
) -> None:
    """0008 copies each analysis' review state from its body into the `state` column that the knowledge queries use."""
    import json

    engine = database.engine(tmp_path, migrated=False)
    made = {"whys": [], "generated_by": "x", "created_at": "2026-01-02T03:04:05Z"}
    bodies = [json.dumps(made | {"root_cause": f"cause {n}", "state": s}) for n, s in ((1, "accepted"), (2, "draft"))]
    analyses = [{"incident_pk": n, "created_at": WRITTEN_AT, "body": body} for n, body in enumerate(bodies, 1)]
    incidents = [{"title": "Old failure", "status": "resolved", "content_hash": f"h{n}"} for n in (1, 2)]
    rows_at(engine, tmp_path, "0007", incidents=incidents, analyses=analyses)  # the state in the body only
    db.upgrade(engine, lock_dir=tmp_path)
    store = IncidentStore(engine)
    hits = store.summaries([1, 2])
    assert hits[1].analysis is not None and hits[1].analysis.root_cause == "cause 1"
    assert hits[2].analysis is None  # a draft is not what is known about a past incident
    assert store.get_or_raise("INC-2").analysis is not None and store.analysed_pks(limit=5) == [1]


def test_a_migration_cut_short_by_a_full_disk_leaves_nothing_and_runs_again_once_there_is_room(tmp_path: Path) -> None:
    """A home's first migration on a full disk created some tables and failed before it recorded its version: every
    later command failed with "table incidents already exists", even once space was freed."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    engine = db.make_engine(db.sqlite_url(tmp_path))
    full = True

    @event.listens_for(engine, "connect")
    def _small_disk(dbapi_conn: object, _record: object) -> None:
        if full:  # SQLite's own "database or disk is full", as on a full filesystem
            dbapi_conn.execute("PRAGMA max_page_count=8")  # type: ignore[attr-defined]

    try:
        db.upgrade(engine, lock_dir=tmp_path)
    except OperationalError as error:
        assert "full" in str(error)
    else:
        raise AssertionError("the migration fitted in 8 pages")
    engine.dispose()
    assert inspect(engine).get_table_names() == []
    full = False
    engine.dispose()
    db.upgrade(engine, lock_dir=tmp_path)
    assert db.at_head(engine)


def test_owners_stored_before_0014_are_found_by_the_owner_filter_ignoring_case(
    tmp_path: Path, database: HomeDatabases
) -> None:
    """0014 keys each stored owner without case (`owner_key`), which the owner filter now compares in place of SQL's
    lower(owner) (ASCII only on SQLite): items stored before the upgrade must be found as those added after."""
    from agent_postmortem.store.models import ActionItemCreate
    from tests.factories import make_service

    engine = database.engine(tmp_path, migrated=False)
    items = [{"title": f"Follow-up {n}", "owner": owner} for n, owner in enumerate(("Ärne", "ärne", None, "lee"))]
    rows_at(engine, tmp_path, "0013", incidents=[{}], action_items=items)  # as the code at schema 0013 wrote them
    db.upgrade(engine, lock_dir=tmp_path)
    service = make_service(tmp_path)
    service.add_action_item("INC-1", ActionItemCreate(title="Follow-up 4", owner="ÄRNE"))
    assert [service.list_action_items(owner=o).total for o in ("ärne", "LEE", "")] == [3, 1, 1]
    assert {o: c.items for o, c in service.action_item_stats().by_owner.items()} == {
        "(none)": 1,
        "lee": 1,
        "ÄRNE": 3,
    }


def test_owners_stored_with_runs_of_spaces_before_0015_are_one_owner(tmp_path: Path, database: HomeDatabases) -> None:
    """An owner typed "Dana  Smith" (or broken over two lines by a client) was another owner than "Dana Smith" for
    the filter and the completion per owner; 0015 writes the stored keys again with a run of white space as one."""
    from agent_postmortem.store.models import ActionItemCreate
    from tests.factories import make_service

    engine = database.engine(tmp_path, migrated=False)
    items = [
        {"title": f"Follow-up {n}", "owner": owner, "owner_key": owner.strip().casefold()}
        for n, owner in enumerate(("Dana  Smith", "dana\nsmith"))
    ]
    rows_at(engine, tmp_path, "0014", incidents=[{}], action_items=items)  # as the code at schema 0014 wrote them
    db.upgrade(engine, lock_dir=tmp_path)
    service = make_service(tmp_path)
    service.add_action_item("INC-1", ActionItemCreate(title="Follow-up 2", owner="Dana Smith"))
    assert service.list_action_items(owner="dana smith").total == 3
    assert service.list_action_items(owner=" Dana   SMITH ").total == 3
    assert {c.items for c in service.action_item_stats().by_owner.values()} == {3}
