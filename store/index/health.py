"""Is the chromadb directory usable, and does it hold what the records say? Probed in a child process, because a
damaged directory can segfault the process that opens it or grow without bound (see the notes on chromadb 1.5.9
under SIGKILL): the child runs under a time limit and a file-size limit. A broken or mismatched index is rebuilt
in another child, into a fresh directory, from the vectors stored with the records, and swapped in by rename;
the old directory is moved aside (never deleted: it may be evidence)."""

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
_ROOT = Path(__file__).resolve().parent.parent

# Both children ask the kernel to kill them when their parent dies (a probe or a rebuild must not outlive a killed
# owner: it would race the next owner for the directory), exit if the parent is already gone, and cap the size of
# any file they write (never above a limit they inherited).
_PRELUDE = """
import ctypes, os, resource, signal, sys
ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != int(os.environ["POSTMORTEM_PARENT_PID"]):
    sys.exit(3)
wanted, hard = int(os.environ["POSTMORTEM_MAX_FILE_BYTES"]), resource.getrlimit(resource.RLIMIT_FSIZE)[1]
limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
"""
_PROBE = (
    _PRELUDE
    + """
import json, random
from agent_postmortem.store.index.chroma import collection_name, open_persistent
client = open_persistent(sys.argv[1])
name = collection_name(sys.argv[2])
if name not in {c.name for c in client.list_collections()}:
    sys.stdout.write(json.dumps({"ids": [], "self_hits": 0, "sampled": 0}))
    sys.exit(0)
collection = client.get_collection(name)
ids = collection.get(include=[])["ids"]
sample = random.Random(0).sample(ids, min(len(ids), int(sys.argv[3])))
hits = 0
if sample:
    got = collection.get(ids=sample, include=["embeddings"])
    found = collection.query(query_embeddings=got["embeddings"], n_results=1, include=["distances"])
    hits = sum(1 for d in found["distances"] if d and d[0] < 1e-3)
sys.stdout.write(json.dumps({"ids": [int(i) for i in ids], "self_hits": hits, "sampled": len(sample)}))
"""
)

_REBUILD = (
    _PRELUDE
    + """
import numpy as np
from agent_postmortem.store.records import db
from agent_postmortem.store.index.chroma import VectorIndex, open_persistent
from agent_postmortem.store.records.incidents import IncidentStore
store = IncidentStore(db.make_engine(os.environ["POSTMORTEM_REBUILD_DATABASE_URL"]))
index = VectorIndex(open_persistent(sys.argv[2]), model_id=sys.argv[1])
batch = []
for row in store.index_rows(model=sys.argv[1]):
    batch.append(row)
    if len(batch) == 2000:
        index.upsert([r[0] for r in batch], np.vstack([r[1] for r in batch]), [r[2] for r in batch])
        batch = []
if batch:
    index.upsert([r[0] for r in batch], np.vstack([r[1] for r in batch]), [r[2] for r in batch])
sys.stdout.write(str(index.count()))
"""
)


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
        return self.self_hits == self.sampled


def probe(path: Path, model_id: str, *, timeout: float = PROBE_SECONDS) -> Probe | None:
    """The index's ids and a read-back check, or None when the directory cannot be opened safely."""
    if not path.exists():
        return Probe(frozenset(), 0, 0)
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, str(path), model_id, str(SAMPLE)],
            env=_child_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=_ROOT,
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
    done = subprocess.run(
        [sys.executable, "-c", _REBUILD, model_id, str(fresh)],
        # the URL (it may hold a password) goes in the environment: the command line is visible to `ps`
        env=_child_env(POSTMORTEM_REBUILD_DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=_ROOT,
    )
    if done.returncode != 0:
        shutil.rmtree(fresh, ignore_errors=True)
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise RuntimeError(f"rebuilding the vector index failed: {tail[0]}")
    if path.exists() and keep_old:
        quarantine(path)
    elif path.exists():
        stale = path.with_name(f"{path.name}.stale")
        shutil.rmtree(stale, ignore_errors=True)
        path.rename(stale)
        shutil.rmtree(stale, ignore_errors=True)
    fresh.rename(path)
    return int(done.stdout.strip().splitlines()[-1])


def quarantine(path: Path, *, keep: int = 3) -> Path:
    """Move a broken index directory aside (the newest `keep` are kept, older ones deleted); returns where it went."""
    target = path.with_name(f"{path.name}.broken-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
    path.rename(target)
    for old in sorted(path.parent.glob(f"{path.name}.broken-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    logger.warning("moved the vector index to %s; it is rebuilt from the records", target)
    return target
