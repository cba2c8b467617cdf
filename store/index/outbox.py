"""Applying the index outbox: the changes the records made, replayed into the vector index. Idempotent, so a crash
between steps only replays. Run by the index owner in its own process (search/knowledge.py), or in a short-lived
child when the owner does not keep the index open (store/index/probe.py `drain`)."""

import numpy as np

from agent_postmortem.store.index.chroma import VectorIndex
from agent_postmortem.store.records.feed import IndexFeed

BATCH = 1000


def apply_outbox(feed: IndexFeed, index: VectorIndex, model_id: str) -> int:
    """Upsert and delete what the outbox holds, acknowledging each batch once applied; the rows done."""
    done = 0
    while batch := feed.pending_outbox(limit=BATCH):
        upserts = sorted({pk for _, pk, op in batch if op == "upsert"})
        deletes = sorted({pk for _, pk, op in batch if op == "delete"})
        rows = list(feed.index_rows(model=model_id, pks=upserts))
        if rows:
            index.upsert([r[0] for r in rows], np.vstack([r[1] for r in rows]), [r[2] for r in rows])
        index.delete(deletes)
        feed.ack_outbox([b[0] for b in batch])
        done += len(batch)
    return done
