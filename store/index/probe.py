"""The child processes of the index check (store/index/health.py), as a module they run:

    python -m agent_postmortem.store.index.probe probe PATH MODEL_ID SAMPLE     # ids and a read-back, as JSON
    python -m agent_postmortem.store.index.probe rebuild MODEL_ID PATH         # a fresh index; prints its count
    python -m agent_postmortem.store.index.probe drain MODEL_ID PATH           # apply the outbox; rows done, count

A damaged chromadb directory can crash the process that opens it or grow a file without bound, so these run apart
from the server, under a time limit (the parent's) and a file-size limit (`guard`), and die with their parent: a
probe or a rebuild that outlived a killed owner would race the next owner for the directory. The database URL of a
rebuild or a drain comes in the environment (POSTMORTEM_REBUILD_DATABASE_URL), never on the command line that `ps`
shows. A drain applies the outbox for an owner that does not keep the index open (search/knowledge.py `child_from`):
it runs while its parent holds the index lock, so it is the directory's only writer.
"""

import ctypes
import json
import os
import random
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_CHECK_SECONDS = 0.5


def guard(parent: int, max_file_bytes: int, *, platform: str = sys.platform) -> None:
    """Exit with the parent, and cap the size of any file written (never above a limit inherited). On Linux the
    kernel kills the child when its parent dies (PR_SET_PDEATHSIG); elsewhere (macOS) a thread checks the parent
    twice a second. A child whose parent is already gone exits at once."""
    import resource

    if platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_follow, args=(parent,), name="follow-parent", daemon=True).start()
    if os.getppid() != parent:
        sys.exit(3)
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    limit = max_file_bytes if hard == resource.RLIM_INFINITY else min(max_file_bytes, hard)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def _follow(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(3)  # the parent died: its child is re-parented, so getppid changed


def probe(path: str, model_id: str, sample: int) -> dict[str, object]:
    """The ids in the model's collection, and how many of `sample` stored vectors find themselves nearest."""
    from agent_postmortem.store.index.chroma import collection_name, open_persistent

    client = open_persistent(path)
    name = collection_name(model_id)
    if name not in {c.name for c in client.list_collections()}:
        return {"ids": [], "self_hits": 0, "sampled": 0}
    collection = client.get_collection(name)
    ids = collection.get(include=[])["ids"]
    chosen = random.Random(0).sample(ids, min(len(ids), sample))
    hits = 0
    if chosen:
        got = collection.get(ids=chosen, include=["embeddings"])
        found = collection.query(query_embeddings=got["embeddings"], n_results=1, include=["distances"])
        hits = sum(1 for d in found["distances"] or [] if d and d[0] < 1e-3)
    return {"ids": [int(i) for i in ids], "self_hits": hits, "sampled": len(chosen)}


def rebuild(model_id: str, path: str, database_url: str, *, batch: int = 2000) -> int:
    """A new index at `path` from the vectors stored with the records; the number of vectors in it."""
    import numpy as np

    from agent_postmortem.store.index.chroma import VectorIndex, open_persistent
    from agent_postmortem.store.records import db
    from agent_postmortem.store.records.feed import IndexFeed

    feed = IndexFeed(db.make_engine(database_url))
    index = VectorIndex(open_persistent(path), model_id=model_id)
    rows: list[tuple[int, np.ndarray, dict[str, object]]] = []
    for row in [*feed.index_rows(model=model_id), None]:
        if row is not None:
            rows.append(row)
        if rows and (row is None or len(rows) == batch):
            index.upsert([r[0] for r in rows], np.vstack([r[1] for r in rows]), [r[2] for r in rows])
            rows = []
    return index.count()


def drain(model_id: str, path: str, database_url: str) -> dict[str, int]:
    """Apply the outbox to the index at `path`: the rows done and the vectors in the index after."""
    from agent_postmortem.store.index.chroma import VectorIndex, open_persistent
    from agent_postmortem.store.index.outbox import apply_outbox
    from agent_postmortem.store.records import db
    from agent_postmortem.store.records.feed import IndexFeed

    index = VectorIndex(open_persistent(path), model_id=model_id)
    done = apply_outbox(IndexFeed(db.make_engine(database_url)), index, model_id)
    return {"done": done, "count": index.count()}


def main(argv: list[str]) -> int:
    guard(int(os.environ["POSTMORTEM_PARENT_PID"]), int(os.environ["POSTMORTEM_MAX_FILE_BYTES"]))
    match argv:
        case ["probe", path, model_id, sample]:
            sys.stdout.write(json.dumps(probe(path, model_id, int(sample))))
        case ["rebuild", model_id, path]:
            sys.stdout.write(str(rebuild(model_id, path, os.environ["POSTMORTEM_REBUILD_DATABASE_URL"])))
        case ["drain", model_id, path]:
            sys.stdout.write(json.dumps(drain(model_id, path, os.environ["POSTMORTEM_REBUILD_DATABASE_URL"])))
        case _:
            sys.stderr.write(__doc__ or "")
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
