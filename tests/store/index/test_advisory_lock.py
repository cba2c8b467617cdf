"""On PostgreSQL one replica owns the vector index, decided in the database: replicas share no file."""

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from agent_postmortem.config import Settings
from agent_postmortem.evals import postgres
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.index.advisory_lock import AdvisoryIndexLock
from agent_postmortem.store.search.embedding import HashEmbedder
from tests.factories import HomeDatabases

pytestmark = pytest.mark.postgresql


def test_one_lock_holder_per_database_and_a_dead_session_frees_it(tmp_path: Path, pg: HomeDatabases) -> None:
    url = pg.url(tmp_path)
    first, second = AdvisoryIndexLock(url), AdvisoryIndexLock(url)
    try:
        assert first.try_acquire() and not second.try_acquire()
        assert second.holder() == os.getpid() and first.alive()
        with pg.engine(tmp_path).connect() as admin:  # the owner's session ends: a restart, a broken network
            admin.execute(
                text(
                    "select pg_terminate_backend(pid) from pg_stat_activity where application_name like "
                    "'postmortem index owner%'"
                )
            )
        assert not first.alive() and not first.held
        assert second.try_acquire() and second.holder() == os.getpid()
    finally:
        first.close()
        second.close()


def test_replicas_with_their_own_homes_on_one_database_elect_one_index_owner(tmp_path: Path, pg: HomeDatabases) -> None:
    url = pg.url(tmp_path / "shared")
    replicas = [
        build_service(
            Settings.from_env({"POSTMORTEM_HOME": str(tmp_path / name), "POSTMORTEM_DATABASE_URL": url}),
            embedder=HashEmbedder(),
            claim_index=True,
        )
        for name in ("host-a", "host-b")
    ]
    for replica in replicas:
        pg.keep(replica)
    assert [r.knowledge.owns_index for r in replicas] == [True, False]
    assert not (tmp_path / "host-a" / "chroma.lock").exists()  # the database decided, not a file
    replicas[0].knowledge.release_index()
    assert replicas[1].knowledge.claim_index()


def test_a_database_gone_from_under_the_index_owner_is_one_log_line_not_a_traceback(
    tmp_path: Path, pg: HomeDatabases, caplog: pytest.LogCaptureFixture
) -> None:
    """A PostgreSQL restart logged a 50-line traceback per team each time the owner tried to take or drain the
    index, burying the one line that said what happened."""
    url = pg.url(tmp_path)
    service = build_service(
        Settings.from_env({"POSTMORTEM_HOME": str(tmp_path / "home"), "POSTMORTEM_DATABASE_URL": url}),
        embedder=HashEmbedder(),
        claim_index=True,
    )
    pg.keep(service)
    assert service.knowledge.owns_index
    assert pg.server is not None
    name = url.rsplit("/", 1)[1]
    pg.server._admin("ALTER DATABASE {0} ALLOW_CONNECTIONS false", name)  # a restart: every session ends, none starts
    try:
        _end_sessions(pg.server, name)
        assert service.knowledge.sync_index() == 0
    finally:
        pg.server._admin("ALTER DATABASE {0} ALLOW_CONNECTIONS true", name)
    [record] = [r for r in caplog.records if "could not update the vector index" in r.getMessage()]
    assert record.exc_info is None and "not currently accepting connections" in record.getMessage(), record


def _end_sessions(server: postgres.Databases, name: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(server.admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
