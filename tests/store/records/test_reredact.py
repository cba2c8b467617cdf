"""Today's redaction rules applied to records stored before them (`postmortem redact`), on both stores."""

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.store.models import ActionItemCreate, IncidentCreate
from agent_postmortem.store.models.actions import owner_key
from agent_postmortem.store.records import schema
from agent_postmortem.store.records.rows import content_hash
from tests.factories import CAPTURE, HomeDatabases, make_service
from tests.http_server import serve_process
from tests.processes import postmortem

KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"


def stored_before_the_rule(engine: Engine, incident_pk: int) -> None:
    """What an older version kept: the key in the title, the body, a timeline event, an item and its history."""
    incidents, events = schema.incidents, schema.timeline_events
    with engine.begin() as conn:
        body = conn.execute(select(incidents.c.body).where(incidents.c.pk == incident_pk)).scalar_one()
        body = {**body, "description": f"curl -u admin:Sup3rS3cret! https://pay.example and {KEY}"}
        conn.execute(update(incidents).values(title=incidents.c.title + f" {KEY}", body=body))
        conn.execute(update(events).values(description=events.c.description + f" {KEY}"))
        conn.execute(update(schema.action_items).values(owner=f"ops {KEY}", owner_key=owner_key(f"ops {KEY}")))
        conn.execute(update(schema.action_item_changes).values(new=f"ops {KEY}"))


def seen(service: PostmortemService, incident_id: str) -> str:
    items = service.list_action_items(incident_id=incident_id).items
    return service.get_incident(incident_id).model_dump_json() + json.dumps(
        [service.get_action_item(a.id).model_dump(mode="json") for a in items]
    )


def test_a_count_changes_nothing_and_apply_replaces_every_stored_copy(tmp_path: Path, database: HomeDatabases) -> None:
    service = make_service(tmp_path)
    incident = service.capture_incident(IncidentCreate(**CAPTURE))
    item = service.add_action_item(incident.id, ActionItemCreate(title="Add jittered backoff", owner="platform"))
    service.update_action_item(item.id, owner="payments")
    stored_before_the_rule(database.engine(tmp_path), int(incident.id.removeprefix("INC-")))
    assert KEY in seen(service, incident.id)

    counted = service.redact_stored(apply=False)
    assert counted.found["curl_credentials"] == 1 and counted.found["openai_key"] == 2 + sum(counted.rows.values()) - 1
    assert set(counted.rows) == {"incidents", "timeline_events", "action_items", "action_item_changes"}
    assert KEY in seen(service, incident.id)  # counting changed nothing

    applied = service.redact_stored(apply=True)
    assert applied.found == counted.found and applied.incidents == {int(incident.id.removeprefix("INC-"))}
    after = seen(service, incident.id)
    assert KEY not in after and "Sup3rS3cret" not in after and "[REDACTED:openai_key]" in after
    with database.engine(tmp_path).connect() as conn:  # its vector came from the old text: embedded again
        row = conn.execute(select(schema.incidents.c.embedding, schema.incidents.c.content_hash)).one()
    assert row.embedding is None and row.content_hash == content_hash(service.get_incident(incident.id).search_text())
    assert service.redact_stored(apply=True).found == {}  # nothing left to replace
    assert service.list_action_items(owner="OPS [redacted:openai_key]").total == 1  # the owner filter's key follows


def test_postmortem_redact_counts_without_values_then_applies_and_reindexes(tmp_path: Path) -> None:
    """Records stored before a rule kept the secret in every view; the only way out was export and restore."""
    captured = postmortem("capture", "--json", "--title", "Refund agent timed out", home=tmp_path)
    incident = json.loads(captured.stdout)["id"]
    databases = HomeDatabases()
    try:
        stored_before_the_rule(databases.engine(tmp_path), int(incident.removeprefix("INC-")))
    finally:
        databases.close()
    counted = postmortem("redact", home=tmp_path)
    assert counted.returncode == 0 and b"openai_key 3 in 2 rows" in counted.stderr and b"--apply" in counted.stderr
    assert KEY.encode() not in counted.stdout + counted.stderr  # counts, never values
    applied = json.loads(postmortem("redact", "--apply", "--json", home=tmp_path).stdout)
    assert applied["applied"] and applied["incidents"] == 1 and applied["reindexed"] == 1
    shown = postmortem("show", incident, "--json", home=tmp_path).stdout
    assert KEY.encode() not in shown and b"[REDACTED:openai_key]" in shown
    found = json.loads(postmortem("search", "refund agent timed out", "--json", home=tmp_path).stdout)
    assert [hit["id"] for hit in found["hits"]] == [incident]  # embedded again from the redacted text


def test_a_body_that_is_not_json_neither_stops_redact_nor_show(tmp_path: Path) -> None:
    """One incident's body edited into text that is not JSON failed the whole `redact` (and `show` of it) with the
    JSON decoder's message: nothing was replaced anywhere, and the key stayed in the other incident."""
    titles = ["Refund agent timed out", "Fares tool returned 429 on every search"]
    ids = [json.loads(postmortem("capture", "--json", "--title", t, home=tmp_path).stdout)["id"] for t in titles]
    databases = HomeDatabases()
    try:
        engine = databases.engine(tmp_path)
        stored_before_the_rule(engine, int(ids[0].removeprefix("INC-")))
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE incidents SET body = '{not json' WHERE pk = ?", (int(ids[1][4:]),))
    finally:
        databases.close()
    applied = postmortem("redact", "--apply", "--json", home=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["replaced"]["openai_key"] >= 1
    assert KEY.encode() not in postmortem("show", ids[0], "--json", home=tmp_path).stdout
    damaged = postmortem("show", ids[1], "--json", home=tmp_path)
    assert damaged.returncode == 0 and json.loads(damaged.stdout)["title"].startswith(titles[1])
    assert b"not JSON" in damaged.stderr and b"not json" not in damaged.stderr  # logged, the value never shown


def test_redact_apply_beside_a_running_server_says_the_server_takes_the_change(tmp_path: Path) -> None:
    """With a server on the home, `redact --apply` replaced everything, then failed 'unexpected IndexBusy' (exit 1):
    the user could not tell that the records had changed, nor what to do."""
    home = tmp_path / "home"
    incident = json.loads(postmortem("capture", "--json", "--title", "Refund agent timed out", home=home).stdout)["id"]
    databases = HomeDatabases()
    try:
        stored_before_the_rule(databases.engine(home), int(incident.removeprefix("INC-")))
    finally:
        databases.close()
    with serve_process(home):
        deadline = time.monotonic() + 60
        while json.loads(postmortem("check", "--json", home=home).stdout)["owner_pid"] is None:
            assert time.monotonic() < deadline, "the server did not take the index"
            time.sleep(0.5)
        applied = postmortem("redact", "--apply", home=home)
        assert applied.returncode == 0, applied.stderr
        assert b"replaced" in applied.stderr and b"a server on this home takes the changed incidents" in applied.stderr
        shown = postmortem("show", incident, "--json", home=home)
        assert KEY.encode() not in shown.stdout
        reindex = postmortem("reindex", home=home)
        assert reindex.returncode == 1 and b"stop the server on this home" in reindex.stderr
        assert b"unexpected" not in reindex.stderr


def test_a_run_interrupted_after_replacing_leaves_the_changes_queued_and_a_second_run_embeds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C after the incidents' text was replaced (their vectors dropped) but before the end of the run: the
    outbox rows were written only at the end, so the vector index was never told of the changed incidents (and a
    second run, finding nothing to replace, queued nothing either)."""
    from agent_postmortem.store.records import reredact as module

    home = tmp_path / "home"
    incident = json.loads(postmortem("capture", "--json", "--title", "Refund agent timed out", home=home).stdout)["id"]
    databases = HomeDatabases()
    try:
        engine = databases.engine(home)
        stored_before_the_rule(engine, int(incident.removeprefix("INC-")))
        with engine.begin() as conn:
            conn.execute(schema.index_outbox.delete())
        real = module._redacted

        def interrupted(row: object, columns: tuple[str, ...], found: object) -> object:
            if columns == module.TEXT_COLUMNS["timeline_events"]:
                raise KeyboardInterrupt
            return real(row, columns, found)  # type: ignore[arg-type]

        monkeypatch.setattr(module, "_redacted", interrupted)
        with pytest.raises(KeyboardInterrupt):
            module.reredact(engine, apply=True)
        with engine.connect() as conn:
            queued = conn.execute(select(schema.index_outbox.c.incident_pk)).scalars().all()
            assert conn.execute(select(schema.incidents.c.embedding)).scalar_one() is None
    finally:
        databases.close()
    assert queued == [int(incident.removeprefix("INC-"))]
    again = postmortem("redact", "--apply", "--json", home=home)
    assert again.returncode == 0, again.stderr
    databases = HomeDatabases()
    try:
        with databases.engine(home).connect() as conn:
            assert conn.execute(select(schema.incidents.c.embedding)).scalar_one() is not None
    finally:
        databases.close()
    dense = postmortem("search", "agent did not answer in time", "--mode", "dense", "--json", home=home)
    found = json.loads(dense.stdout)
    assert [hit["id"] for hit in found["hits"]][:1] == [incident]


def test_postmortem_redact_on_clean_records_says_there_is_nothing_to_redact(tmp_path: Path) -> None:
    """On a home of clean incidents `redact` said "found nothing in 0 rows of 0 incidents", as if it held none."""
    postmortem("capture", "--title", "Refund agent timed out", home=tmp_path)
    for args in (("redact",), ("redact", "--apply")):
        said = postmortem(*args, home=tmp_path)
        assert said.returncode == 0 and b"nothing to redact" in said.stderr, said.stderr
        assert b"0 incidents" not in said.stderr and b"--apply" not in said.stderr
