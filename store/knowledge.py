"""The knowledge base: embeds incidents, keeps the vector index in line with the records, finds similar ones."""

import logging
from typing import Any

import numpy as np

from store.embedding import Embedder
from store.index import VectorIndex
from store.records import IncidentStore

logger = logging.getLogger(__name__)


class KnowledgeBase:
    def __init__(self, *, store: IncidentStore, index: VectorIndex, embedder: Embedder) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed(texts, kind="document")

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embedder.embed([text], kind="query")[0]
        return vector

    def sync(self) -> int:
        """Drain the outbox into the index; idempotent, so a crash between steps only replays. Returns rows done."""
        done = 0
        while batch := self.store.pending_outbox(limit=1000):
            upserts = sorted({pk for _, pk, op in batch if op == "upsert"})
            deletes = sorted({pk for _, pk, op in batch if op == "delete"})
            rows = list(self.store.index_rows(upserts))
            if rows:
                self.index.upsert([r[0] for r in rows], np.vstack([r[1] for r in rows]), [r[2] for r in rows])
            self.index.delete(deletes)
            self.store.ack_outbox([b[0] for b in batch])
            done += len(batch)
        return done

    def reindex(self) -> int:
        """Rebuild the index from the vectors stored with the records. Returns the number indexed."""
        replayed = [b[0] for b in self.store.pending_outbox(limit=1_000_000)]
        self.index.reset()
        total = 0
        pks: list[int] = []
        vectors: list[np.ndarray] = []
        metas: list[dict[str, Any]] = []
        for pk, vector, meta in self.store.index_rows():
            pks.append(pk)
            vectors.append(vector)
            metas.append(meta)
            if len(pks) >= 2000:
                total += self._flush(pks, vectors, metas)
        total += self._flush(pks, vectors, metas)
        self.store.ack_outbox(replayed)  # rows written during the rebuild stay queued for the next sync
        return total

    def _flush(self, pks: list[int], vectors: list[np.ndarray], metas: list[dict[str, Any]]) -> int:
        if not pks:
            return 0
        self.index.upsert(list(pks), np.vstack(vectors), list(metas))
        n = len(pks)
        pks.clear()
        vectors.clear()
        metas.clear()
        return n

    def similar(
        self, vector: np.ndarray, *, limit: int, filters: dict[str, Any] | None = None, exclude: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """(pk, cosine similarity), best first, never including `exclude`."""
        exclude = exclude or set()
        hits = self.index.query(vector, n=limit + len(exclude), filters=filters)
        return [(pk, score) for pk, score in hits if pk not in exclude][:limit]
