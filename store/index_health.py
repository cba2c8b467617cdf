"""Is the chromadb directory usable? Probed in a child process, because a damaged directory can segfault the
process that opens it or grow without bound (see the notes on chromadb 1.5.9 under SIGKILL): the child runs under
a time limit and a file-size limit. A broken directory is moved aside (never deleted: it may be evidence) and
the index is rebuilt from the vectors stored with the records."""

import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

PROBE_SECONDS = 60
PROBE_MAX_FILE_BYTES = 4 * 1024**3  # a healthy probe writes almost nothing; a runaway HNSW file is stopped here
_PROBE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
from store.index import collection_name, open_persistent
client = open_persistent(sys.argv[1])
names = {c.name for c in client.list_collections()}
name = collection_name(sys.argv[2])
sys.stdout.write(str(client.get_collection(name).count() if name in names else 0))
"""


def probe(path: Path, model_id: str, *, timeout: float = PROBE_SECONDS) -> int | None:
    """The number of vectors in the model's collection, or None when the directory cannot be opened safely."""
    if not path.exists():
        return 0
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, str(path), model_id, str(PROBE_MAX_FILE_BYTES)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=Path(__file__).resolve().parent.parent,
        )
    except subprocess.TimeoutExpired:
        logger.warning("the vector index did not open within %s s", timeout)
        return None
    if done.returncode != 0:
        logger.warning("the vector index failed to open (exit %s)", done.returncode)
        return None
    try:
        return int(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def quarantine(path: Path) -> Path:
    """Move a broken index directory aside; returns where it went."""
    target = path.with_name(f"{path.name}.broken-{datetime.now(UTC):%Y%m%dT%H%M%S}")
    path.rename(target)
    logger.warning("moved the broken vector index to %s; it will be rebuilt from the records", target)
    return target
