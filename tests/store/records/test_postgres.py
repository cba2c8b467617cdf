"""PostgreSQL's own parts: the store reads and writes its own schema only (public, or its team's), whatever the
environment (PGOPTIONS) or the role's defaults would make the session's search_path."""

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from agent_postmortem.store.errors import ForeignSchema
from agent_postmortem.store.records import db

pytestmark = pytest.mark.postgresql


def _run(url: str, *statements: str) -> None:
    """The statements, in autocommit, on `url`'s database (as its administrator)."""
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tables_in(url: str, schema: str) -> int:
    with psycopg.connect(_dsn(url)) as conn:
        found = conn.execute("select count(*) from pg_tables where schemaname = %s", (schema,)).fetchone()
    assert found is not None
    return int(found[0])


@pytest.fixture
def other_team(postgres_server: Any) -> Iterator[str]:
    """An empty database holding another team's schema, `other_team`; its URL."""
    url = postgres_server.create(migrated=False)
    _run(url, "create schema other_team")
    yield url


def test_a_search_path_set_by_pgoptions_is_refused_before_anything_is_created(
    other_team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGOPTIONS", "-c search_path=other_team")
    engine = db.make_engine(other_team)
    try:
        with pytest.raises(ForeignSchema) as refused:
            db.upgrade(engine)
    finally:
        engine.dispose()
    said = str(refused.value)
    assert "search_path (other_team) selects the schema other_team, not public" in said
    assert "PGOPTIONS" in said and "ALTER ROLE" in said
    monkeypatch.delenv("PGOPTIONS")
    assert _tables_in(other_team, "other_team") == 0 and _tables_in(other_team, "public") == 0


def test_a_search_path_the_role_defaults_to_is_refused(other_team: str) -> None:
    _run(
        other_team,
        "create role visiting login",
        "grant all on schema public, other_team to visiting",
        "alter role visiting set search_path = other_team, public",
    )
    try:
        engine = db.make_engine(make_url(other_team).set(username="visiting").render_as_string(hide_password=False))
        try:
            with pytest.raises(ForeignSchema, match="selects the schema other_team, not public"):
                db.upgrade(engine)
        finally:
            engine.dispose()
        assert _tables_in(other_team, "other_team") == 0
    finally:
        _run(other_team, "drop owned by visiting", "drop role visiting")


def test_a_team_keeps_its_own_schema_whatever_pgoptions_says(other_team: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The team's URL names its schema in its own options, which libpq takes instead of PGOPTIONS."""
    monkeypatch.setenv("PGOPTIONS", "-c search_path=other_team")
    url = db.team_url(other_team, "blue")
    db.ensure_schema(url)
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()
    monkeypatch.delenv("PGOPTIONS")
    assert _tables_in(other_team, "team_blue") > 0 and _tables_in(other_team, "other_team") == 0
