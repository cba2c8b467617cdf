"""On PostgreSQL one replica owns the vector index, decided in the database: replicas share no file."""

import os
from collections.abc import Iterator
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


@pytest.fixture
def pg(postgres_server: postgres.Databases) -> Iterator[HomeDatabases]:
    homes = HomeDatabases(postgres_server)
    yield homes
    homes.close()


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
