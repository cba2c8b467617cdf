"""`/readyz` (can this replica serve?) beside `/healthz` (is it alive?): `/healthz` said ok while the database was
down, so a load balancer kept sending requests to a replica that could only answer 503."""

import os
import pwd
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from agent_postmortem.evals import postgres
from agent_postmortem.http.ready import NO_ANSWER, Readiness
from agent_postmortem.service.lazy import LazyService
from agent_postmortem.store.search.embedding import HashEmbedder
from tests.factories import make_service
from tests.http_server import serving


def test_readyz_refuses_while_the_sqlite_home_is_gone_and_healthz_still_says_alive(tmp_path: Path) -> None:
    home, away = tmp_path / "home", tmp_path / "unmounted"
    lazy = LazyService(lambda: make_service(home), keep_index=False)
    readiness = Readiness(lambda: [lazy], every=0)
    with serving(lazy.get(), readiness=readiness) as base:
        ready = httpx.get(base + "/readyz")
        home.rename(away)  # the volume unmounted: a pooled connection would still answer `select 1`
        gone, live = httpx.get(base + "/readyz"), httpx.get(base + "/healthz")
        away.rename(home)
        back = httpx.get(base + "/readyz")
    lazy.close()
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert gone.status_code == 503 and gone.json() == {"status": "not ready", "reason": NO_ANSWER}
    assert str(tmp_path) not in gone.text and gone.headers["retry-after"]
    assert live.status_code == 200 and back.status_code == 200


def test_an_answer_is_kept_for_a_while_and_the_embedding_model_is_never_waited_for(tmp_path: Path) -> None:
    loading = threading.Event()

    class SlowModel(HashEmbedder):
        def load(self) -> None:
            loading.wait(60)  # a model still loading: the database is open meanwhile

    probes: list[int] = []
    lazy = LazyService(lambda: make_service(tmp_path, embedder=SlowModel()), keep_index=False)
    readiness = Readiness(lambda: probes.append(1) or [lazy], every=3600)
    lazy.start()
    try:
        deadline = time.monotonic() + 60
        while lazy._service is None and time.monotonic() < deadline:  # the database opened; the model not loaded
            time.sleep(0.01)
        assert readiness.problem() is None and readiness.problem() is None
    finally:
        loading.set()
        lazy.close()
    assert len(probes) == 1


def test_a_database_that_does_not_answer_in_time_is_not_ready(tmp_path: Path) -> None:
    stuck = threading.Event()

    class Hanging:
        def get(self, timeout: float = 0) -> Any:
            stuck.wait(60)

    readiness = Readiness(lambda: [Hanging()], timeout=0.2)  # type: ignore[list-item]
    started = time.monotonic()
    try:
        assert readiness.problem() == NO_ANSWER
    finally:
        stuck.set()
    assert time.monotonic() - started < 5


@pytest.mark.postgresql
def test_readyz_refuses_once_the_postgresql_cluster_is_stopped(tmp_path: Path) -> None:
    if not postgres.installed():
        pytest.skip("PostgreSQL is not installed")
    with postgres.cluster() as admin:
        url = postgres.Databases(admin).create()
        lazy = LazyService(lambda: make_service(tmp_path, env={"POSTMORTEM_DATABASE_URL": url}), keep_index=False)
        try:
            lazy.get()
            readiness = Readiness(lambda: [lazy], every=0)
            ready = readiness.problem()
            _stop(admin)
            stopped = readiness.problem()
        finally:
            lazy.close()
    assert ready is None and stopped == NO_ANSWER


def _stop(admin: str) -> None:
    """Stop the cluster behind `admin` (a fast shutdown, as an operator's `pg_ctl stop` or a crashed host)."""
    engine = create_engine(admin.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        data = str(conn.execute(text("show data_directory")).scalar())
    engine.dispose()
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 and pwd.getpwnam("postgres") else []
    subprocess.run(
        [*as_user, postgres._binary("pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"], check=True, capture_output=True
    )
