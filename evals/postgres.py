"""A throwaway PostgreSQL cluster for the store contract tests and the engines benchmark, and a fresh database per home.

The cluster is Debian's PostgreSQL (`make test` installs it as root: tests/install-tools.sh): `initdb` into a
temporary directory, started with `pg_ctl` on a free loopback port, its unix socket in that directory, trust
authentication for 127.0.0.1 only, and no fsync (it is thrown away at the end of the session). initdb refuses to run
as root, so as root the server runs as the `postgres` user. POSTMORTEM_TEST_DATABASE_URL points at an existing
server instead (a role that may create databases). Every database is a copy of a migrated template: CREATE DATABASE
... TEMPLATE takes milliseconds where the migrations take a second.
"""

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from agent_postmortem.evals.replicas import free_port
from agent_postmortem.store.records import db

TEMPLATE = "postmortem_template"


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise FileNotFoundError(f"{name} not found: install PostgreSQL (Debian: apt-get install postgresql)")
    return found


def installed() -> bool:
    try:
        _binary("initdb"), _binary("pg_ctl")
    except FileNotFoundError:
        return False
    return True


@contextlib.contextmanager
def cluster(*, durable: bool = False) -> Iterator[str]:
    """Start a cluster; yields the URL of its `postgres` database (as the `postgres` superuser). Without fsync unless
    `durable` (a benchmark compares it with SQLite's synchronous=FULL)."""
    folder = Path(tempfile.mkdtemp(prefix="postmortem-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()
    run = [*as_user, _binary("pg_ctl"), "-D", str(data), "-w"]
    try:
        subprocess.run(
            [*as_user, _binary("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
        )
        (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n", encoding="utf-8")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=300"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run([*run, "-o", options, "-l", str(folder / "log"), "start"], check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*run, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


class Databases:
    """Fresh databases on one server, each a copy of the migrated template; dropped again by `drop_all`."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self._names = (f"postmortem_test_{os.getpid()}_{n}" for n in itertools.count())
        self._made: list[str] = []
        self._admin("DROP DATABASE IF EXISTS {0} WITH (FORCE)", TEMPLATE)
        self._admin("CREATE DATABASE {0}", TEMPLATE)
        engine = db.make_engine(self.url_of(TEMPLATE))
        db.upgrade(engine)
        engine.dispose()

    def url_of(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def create(self, *, migrated: bool = True) -> str:
        """A new database: migrated (from the template), or empty."""
        name = next(self._names)
        self._admin("CREATE DATABASE {0} TEMPLATE {1}", name, TEMPLATE if migrated else "template0")
        self._made.append(name)
        return self.url_of(name)

    def drop_all(self) -> None:
        for name in self._made:
            self._admin("DROP DATABASE IF EXISTS {0} WITH (FORCE)", name)
        self._made.clear()

    def _admin(self, statement: str, *names: str) -> None:
        dsn = make_url(self.admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL(statement).format(*map(psycopg.sql.Identifier, names)))
