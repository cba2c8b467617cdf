"""SIGKILL the capturing process at random points, round after round, on one data directory: the database stays
intact, nothing acknowledged is ever lost, and after recovery the vector index holds exactly the records.

Each round forks a process running `tests.crash_capture` (which takes the index as a server does: probe, rebuild if
needed, open), lets it capture for a random time, or kills it before it is even ready (during the probe or a
rebuild), and checks the database from this process with plain sqlite3. The child runs under a 1 GiB file-size
limit: a chromadb directory damaged by kills can grow without bound."""

import multiprocessing
import os
import random
import resource
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from agent_postmortem.config import Settings
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.records.idempotency import SECRET_NAME, digest
from agent_postmortem.store.search.embedding import Embedder
from tests import crash_capture

pytestmark = pytest.mark.slow
ROUNDS = int(os.environ.get("POSTMORTEM_CRASH_ROUNDS", "50"))


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024**3, 1024**3))


# The children are forked from a server process that imported what a capturing process needs once: a fresh
# interpreter per round spent about half of each round importing chromadb and ONNX Runtime before it touched the home
# (184 s for 50 rounds on CI). What is killed is still a whole process of its own that opens the home as a server does
# (its probe and rebuild still run in fresh interpreters); only the imports, which write nothing, happen before.
FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(["tests.system.test_crash", "chromadb", "onnxruntime", "tokenizers"])


def _capture(home: str, out: str, log: str, env: dict[str, str]) -> None:
    """In the forked child: `tests.crash_capture` on `home`, its lines written to `out` and its errors to `log`."""
    os.environ.clear()
    os.environ.update(env)
    _limit_files()
    for fd, path in ((1, out), (2, log)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - fd 1, closed with the process
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    crash_capture.main(home)


class Child:
    def __init__(self, home: Path, log: Path, out: Path) -> None:
        self.out = out
        self.proc = FORKS.Process(target=_capture, args=(str(home), str(out), str(log), dict(os.environ)))
        self.proc.start()
        self.found = "never ready"
        self.acks: list[tuple[str, str]] = []

    def _lines(self) -> list[list[str]]:
        """The whole lines the child wrote (a line cut by the kill is not an acknowledgement)."""
        text = self.out.read_text() if self.out.exists() else ""
        return [line.split() for line in text.splitlines(keepends=True) if line.endswith("\n")]

    def wait_ready(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not any(parts[:1] == ["READY"] for parts in self._lines()):
            if not self.proc.is_alive() or time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL
        self.proc.join()
        for parts in self._lines():
            if parts[:1] == ["READY"]:
                self.found = parts[1] + (" rebuilt" if parts[2] == "1" else "")
            elif parts[:1] == ["ACK"]:
                self.acks.append((parts[1], parts[2]))


def check_database(path: Path, acked: dict[str, str]) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        query = "select k.key, 'INC-' || i.pk from idempotency_keys k join incidents i on i.pk = k.incident_pk"
        keys = dict(conn.execute(query))  # keyed digests of the keys (store/idempotency.py)
        secret = conn.execute("select value from store_secrets where name = ?", (SECRET_NAME,)).fetchone()
    missing = [key for key, incident in acked.items() if keys.get(digest(secret[0], key)) != incident]
    assert not missing, f"{len(missing)} acknowledged captures missing, e.g. {missing[:3]}"


@pytest.mark.timeout(1200)  # 50 rounds of starting, checking and killing a process: minutes on 2 cores
def test_sigkill_during_capture_loses_nothing_acknowledged(tmp_path: Path, embedder: Embedder) -> None:
    """`embedder`: the one-time model export happens before the loop, not in a child about to be killed."""
    settings = Settings.from_env({**os.environ, "POSTMORTEM_HOME": str(tmp_path), "POSTMORTEM_LLM": "none"})
    rng = random.Random(20261127)
    acked: dict[str, str] = {}
    found: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        child = Child(tmp_path, tmp_path / "children.log", tmp_path / f"round-{round_}.out")
        if round_ % 5 == 4:  # every fifth round dies while opening: during the probe, a rebuild or the first capture
            time.sleep(rng.uniform(0.5, 4.0))
        else:
            if not child.wait_ready(120):
                child.kill()
                pytest.fail("the capturing process did not start:\n" + (tmp_path / "children.log").read_text()[-3000:])
            time.sleep(rng.uniform(0.0, 1.2))
        child.kill()
        found[child.found] += 1
        acked.update({key: incident for incident, key in child.acks})
        check_database(tmp_path / "postmortem.db", acked)

    # recovery, as the next server start does it
    service = build_service(settings, claim_index=True)
    index = service.knowledge.index
    assert index is not None and service.knowledge.claimed is not None
    assert service.store.feed.pending_pks() == set()
    assert index.ids() == service.store.feed.embedded_pks(model=service.knowledge.embedder.model_id)
    assert index.count() >= len(set(acked.values())) > 0
    sys.stderr.write(f"{ROUNDS} rounds, {len(acked)} acknowledged captures, index found at start: {dict(found)}\n")
