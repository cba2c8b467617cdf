"""SIGKILL the capturing process at random points, round after round, on one data directory: the database stays
intact, nothing acknowledged is ever lost, and after recovery the vector index holds exactly the records.

Each round starts `tests.crash_capture` (which takes the index as a server does: probe, rebuild if needed, open),
lets it capture for a random time, or kills it before it is even ready (during the probe or a rebuild), and
checks the database from this process with plain sqlite3. The child runs under a 1 GiB file-size limit: a chromadb
directory damaged by kills can grow without bound."""

import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from agent_postmortem.config import Settings
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.records.idempotency import SECRET_NAME, digest
from agent_postmortem.store.search.embedding import Embedder
from tests.factories import ROOT

pytestmark = pytest.mark.slow
ROUNDS = int(os.environ.get("POSTMORTEM_CRASH_ROUNDS", "50"))


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024**3, 1024**3))


class Child:
    def __init__(self, home: Path, log: Path) -> None:
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.crash_capture", str(home)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            preexec_fn=_limit_files,
        )
        self.ready = threading.Event()
        self.found = "never ready"
        self.acks: list[tuple[str, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            parts = line.split()
            if parts[:1] == ["READY"]:
                self.found = parts[1] + (" rebuilt" if parts[2] == "1" else "")
                self.ready.set()
            elif parts[:1] == ["ACK"]:
                self.acks.append((parts[1], parts[2]))

    def wait_ready(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self.ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return False
        return True

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._reader.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.log.close()


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
        child = Child(tmp_path, tmp_path / "children.log")
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
