"""Is the chromadb directory usable, and does it hold what the records say? Probed in a child process, because a
damaged directory can segfault the process that opens it or grow without bound (see the notes on chromadb 1.5.9
under SIGKILL): the child runs under a time limit and a file-size limit. A broken or mismatched index is rebuilt
in another child, into a fresh directory, from the vectors stored with the records, and swapped in by rename;
the old directory is moved aside (never deleted: it may be evidence). The children are store/index/probe.py."""

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

PROBE_SECONDS = 60
REBUILD_SECONDS = 1800
MAX_FILE_BYTES = 4 * 1024**3  # a healthy index file is far below this; a runaway HNSW file is stopped here
SAMPLE = 50  # vectors read back and self-queried by the probe
FOUND_SHARE = 0.9  # of sampled vectors that must find themselves nearest for an index to be trusted


def finds_itself(self_hits: int, sampled: int) -> bool:
    """Whether an index passed its read-back: enough sampled vectors found themselves nearest. HNSW is approximate:
    over tightly clustered vectors a healthy graph misses a few (on the benchmark corpus, near-copies of 1,412 real
    incidents, 4% at 100k vectors; docs/performance.md), and requiring every one made most changes of owner rebuild a
    healthy index. The damage seen in chromadb (vectors lost from the segment, a graph not reloaded) loses
    most of them, or raises."""
    return self_hits >= FOUND_SHARE * sampled


CHILD = [sys.executable, "-m", "agent_postmortem.store.index.probe"]  # store/index/probe.py


def _child_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "POSTMORTEM_PARENT_PID": str(os.getpid()),
        "POSTMORTEM_MAX_FILE_BYTES": str(MAX_FILE_BYTES),
        **extra,
    }


@dataclass(frozen=True)
class Probe:
    """What a child process found in the index directory."""

    ids: frozenset[int]
    sampled: int
    self_hits: int  # sampled vectors whose nearest neighbour is themselves

    @property
    def readable(self) -> bool:
        return finds_itself(self.self_hits, self.sampled)


def probe(path: Path, model_id: str, *, timeout: float = PROBE_SECONDS) -> Probe | None:
    """The index's ids and a read-back check, or None when the directory cannot be opened safely."""
    if not path.exists():
        return Probe(frozenset(), 0, 0)
    try:
        done = subprocess.run(
            [*CHILD, "probe", str(path), model_id, str(SAMPLE)],
            env=_child_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        logger.warning("the vector index did not open within %s s", timeout)
        return None
    if done.returncode != 0:
        logger.warning("the vector index failed to open (exit %s)", done.returncode)
        return None
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
        return Probe(frozenset(found["ids"]), int(found["sampled"]), int(found["self_hits"]))
    except (ValueError, IndexError, KeyError, TypeError):
        return None


def rebuild(path: Path, *, database_url: str, model_id: str, keep_old: bool, timeout: float = REBUILD_SECONDS) -> int:
    """Build a fresh index from the stored vectors in a child process, then swap it in for `path` by rename; the
    old directory is moved aside when `keep_old` (it was broken: evidence), else deleted. Returns the number of
    vectors indexed."""
    fresh = path.with_name(f"{path.name}.rebuilding")
    shutil.rmtree(fresh, ignore_errors=True)  # the leftover of a rebuild that was killed
    try:
        last = _child("rebuild", model_id, fresh, database_url, timeout, failed="rebuilding the vector index")
    except RuntimeError:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    if path.exists() and keep_old:
        quarantine(path)
    elif path.exists():
        stale = path.with_name(f"{path.name}.stale")
        shutil.rmtree(stale, ignore_errors=True)
        path.rename(stale)
        shutil.rmtree(stale, ignore_errors=True)
    fresh.rename(path)
    return int(last)


def drain(path: Path, *, database_url: str, model_id: str, timeout: float = REBUILD_SECONDS) -> tuple[int, int]:
    """Apply the outbox to the index at `path` in a child process: (rows done, vectors in the index after)."""
    found = json.loads(
        _child("drain", model_id, path, database_url, timeout, failed="applying the outbox to the vector index")
    )
    return int(found["done"]), int(found["count"])


def _child(command: str, model_id: str, path: Path, database_url: str, timeout: float, *, failed: str) -> str:
    """Run the index child's `command` on `path` and return the last line it printed; RuntimeError with its last
    error line when it fails. The URL (it may hold a password) goes in the environment: a command line is visible to
    `ps`."""
    done = subprocess.run(
        [*CHILD, command, model_id, str(path)],
        env=_child_env(POSTMORTEM_REBUILD_DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise RuntimeError(f"{failed} failed: {tail[0]}")
    return done.stdout.strip().splitlines()[-1]


def quarantine(path: Path, *, keep: int = 3) -> Path:
    """Move a broken index directory aside (the newest `keep` are kept, older ones deleted); returns where it went."""
    target = path.with_name(f"{path.name}.broken-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
    path.rename(target)
    for old in sorted(path.parent.glob(f"{path.name}.broken-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    logger.warning("moved the vector index to %s; it is rebuilt from the records", target)
    return target
