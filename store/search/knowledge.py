"""The knowledge base: embeds incidents, keeps the indexes in line with the records, finds similar ones.

Search is hybrid: the dense candidates (chromadb, cosine) and the lexical candidates (BM25) are pooled,
every candidate gets both its exact cosine similarity (from the stored vector) and its BM25 score, each
score is z-normalised over the pool, and the ranking uses ALPHA * dense + (1 - ALPHA) * lexical.
ALPHA = 0.7 was chosen by 5-fold cross-validation on the AIID development queries (docs/search.md): MRR
was flat for 0.6-0.8, and fell for lexical-heavy weights.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from agent_postmortem.store.filters import SearchFilters
from agent_postmortem.store.index.chroma import VectorIndex
from agent_postmortem.store.index.owner import Claim, IndexBusy, Ownership, owned_elsewhere
from agent_postmortem.store.records.feed import IndexFeed
from agent_postmortem.store.search.embedding import Embedder
from agent_postmortem.store.search.exact import EXACT_LIMIT, ExactIndex
from agent_postmortem.store.search.exact import signature as vectors_signature
from agent_postmortem.store.search.fusion import z_scores
from agent_postmortem.store.search.index_holder import IndexHolder
from agent_postmortem.store.search.lexical import LexicalIndex
from agent_postmortem.store.search.lexical import signature as words_signature
from agent_postmortem.store.search.persisted import PersistedCache
from agent_postmortem.store.search.pools import ForkSafePool

ALPHA = 0.7
POOL = 100
# From this many vectors, while exact search serves, the owner applies the outbox in a short-lived child process and
# never opens the index itself: chromadb loads the whole HNSW graph into the process that touches it (207 MB at 100k
# incidents, with 66 MB of imports: the owner held 546 MB against 282 MB for a process without the index).
CHILD_FROM = 20_000
Mode = Literal["hybrid", "dense", "lexical"]
_RANKING = ForkSafePool(max_workers=4, thread_name_prefix="bm25")  # one per search in flight, up to 4


@dataclass(frozen=True)
class Hit:
    pk: int
    dense: float  # cosine similarity to the query
    lexical: float  # BM25 score
    relevance: float  # what the ranking used


class KnowledgeBase:
    def __init__(
        self,
        *,
        feed: IndexFeed,
        embedder: Embedder,
        owner: Ownership | None = None,
        exact_limit: int = EXACT_LIMIT,
        cache_dir: Path | None = None,
        child_from: int = CHILD_FROM,
    ) -> None:
        """Searches work without the vector index (exactly, from the stored vectors); `owner` lets this process
        take the index when no other process has it (`claim_index`). Up to `exact_limit` incidents, dense search
        is exact even in the owner (tests set 0 to query the index). `cache_dir`: where the in-memory indexes are
        saved for the next process (None: rebuilt by each process). `child_from`: see CHILD_FROM."""
        self.feed = feed
        self.exact_limit = exact_limit
        self.child_from = child_from
        self.embedder = embedder
        self.owner = owner
        self.holder = IndexHolder(feed=feed, owner=owner, apart=self._apart)
        model = embedder.model_id
        self.lexical = LexicalIndex(feed.lexical_rows, cache=self._cache(cache_dir, "lexical.bm25", words_signature()))
        self.exact = ExactIndex(
            lambda after, gaps: feed.vector_rows(model=model, after_pk=after, gaps=gaps),
            embedder.dimension,
            vectors=lambda pks: feed.vectors(pks, model=model),
            cache=self._cache(
                cache_dir,
                f"vectors-{hashlib.sha256(model.encode()).hexdigest()[:12]}.int8",
                vectors_signature(model, embedder.dimension),
            ),
        )

    def _cache(self, folder: Path | None, name: str, signature: dict[str, Any]) -> PersistedCache | None:
        return (
            None
            if folder is None
            else PersistedCache(folder / name, signature=signature, fingerprints=self.feed.fingerprints)
        )

    @property
    def owns_index(self) -> bool:
        return self.holder.owned

    @property
    def drains_apart(self) -> bool:
        """This process owns the index but leaves it closed: child processes apply the outbox (CHILD_FROM)."""
        return self.holder.owned and self.holder.opened is None

    @property
    def claimed(self) -> Claim | None:
        """How this process took the index (None before it did)."""
        return self.holder.claimed

    @property
    def index(self) -> VectorIndex | None:
        """The vector index, opened in this process on first use when it owns it; None when it does not."""
        return self.holder.index

    @index.setter
    def index(self, opened: VectorIndex | None) -> None:  # the rebuild benchmark swaps one in
        self.holder.opened = opened

    def indexed(self) -> int | None:
        """Vectors in the index (None when another process owns it)."""
        return self.holder.indexed()

    def _apart(self) -> bool:
        """Whether this owner leaves the index to child processes (see CHILD_FROM)."""
        return self.child_from <= self.exact.count() <= self.exact_limit

    def claim_index(self) -> bool:
        """Own the vector index unless another process does: check it (rebuilding what cannot be trusted), open
        it and apply the outbox. True when this process owns it."""
        if self.holder.claim():
            self.sync()
            return True
        return self.holder.owned

    def release_index(self) -> None:
        """Apply what the outbox still holds (captures leave it to the index keeper: `written`), close the index and
        let another process own it."""
        self.holder.release(self.embedder.model_id)

    def warm(self) -> None:
        """Load the in-memory indexes now (the server calls this in the background at start)."""
        self.exact.refresh(force=True)
        self.lexical.refresh(force=True)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed(texts, kind="document")

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embedder.embed([text], kind="query")[0]
        return vector

    def sync(self) -> int:
        """Drain the outbox into the index when this process owns it; idempotent, so a crash between steps only
        replays. A failing index write is logged and left queued: the records are already safe. Returns rows done."""
        done = self.sync_index()
        # this process's own writes are visible to its next search at once, owner or not
        self.exact.refresh(force=True)
        self.lexical.refresh(force=True)
        return done

    def written(self) -> int:
        """After a write in a request (a capture): this process's next search finds it (the in-memory caches read
        it now), and the vector index is updated now only where it serves this process's searches (above
        `exact_limit`). Otherwise the server's index keeper applies the outbox within a second, off the request:
        chromadb's upsert was half of a capture's time (47 of 94 ms p50 at 10k incidents, `bench perf`)."""
        if self.holder.opened is not None and self.exact.count() > self.exact_limit:
            return self.sync()
        self.exact.refresh(force=True)
        self.lexical.refresh(force=True)
        return 0

    def sync_index(self) -> int:
        """Drain the outbox into the index now, if this process owns it; a failing write stays queued."""
        return self.holder.sync(self.embedder.model_id)

    def reembed_stale(self) -> int:
        """Embed, with the current model, every incident whose stored vector came from another model."""
        done = 0
        while stale := self.feed.stale_embeddings(model=self.embedder.model_id):
            vectors = self.embed_documents([text for _, text in stale])
            self.feed.set_embeddings(
                dict(zip([pk for pk, _ in stale], vectors, strict=True)), model=self.embedder.model_id
            )
            done += len(stale)
        return done

    def reindex(self) -> int:
        """Rebuild the index from the vectors stored with the records (re-embedding those of another model), in a
        child process, and swap it in. Needs ownership (IndexBusy otherwise). Returns the number indexed."""
        self.reembed_stale()
        took = self.owner is not None and self.holder.claim()
        if took:
            self.sync()
        elif self.owner is None or not self.holder.owned:
            pid = self.owner.lock.holder() if self.owner else None
            raise IndexBusy(owned_elsewhere(pid))
        claimed = self.holder.claimed
        if took and claimed is not None and claimed.rebuilt:  # taking it has just rebuilt it from the stored vectors
            total = self.holder.indexed() or 0
        else:
            total = self.holder.rebuild()
        self.lexical.reset()
        self.exact.reset()
        self.sync()  # rows written during the rebuild are still queued: replaying them is idempotent
        return total

    def search(
        self,
        *,
        text: str,
        vector: np.ndarray | None,
        limit: int,
        filters: SearchFilters | None = None,
        exclude: set[int] | None = None,
        mode: Mode = "hybrid",
        alpha: float = ALPHA,
    ) -> list[Hit]:
        """Hits best first under `mode`; `exclude` never appears. `vector`: None to embed `text` as a query here."""
        exclude = exclude or set()
        filters = filters or SearchFilters()
        pool = max(POOL, limit) + len(exclude)
        # BM25 ranks on another thread while the query is embedded and the dense candidates found: numpy and ONNX
        # Runtime release the GIL, so on two cores most of its 2 ms at 100k incidents is hidden (docs/performance.md)
        ranking = None if mode == "dense" else _RANKING.submit(self.lexical.rank, text, k=pool * (3 if filters else 1))
        vector = self.embed_query(text) if vector is None else vector
        dense = dict(self._dense(vector, pool, filters)) if mode != "lexical" else {}
        best: list[tuple[int, float]] = []
        dense_lexical = np.zeros(len(dense))
        if ranking is not None:
            first = ranking.result()
            best, dense_lexical = first.best, self.lexical.scores_of(first, list(dense))
        lexical = self._lexical_pool(best, filters)
        candidates = [pk for pk in dict.fromkeys([*dense, *lexical]) if pk not in exclude]
        if not candidates:
            return []
        dense_scores = self._exact_cosines(vector, candidates, dense)
        bm25 = dict(zip(dense, dense_lexical.tolist(), strict=True)) | dict(best)
        lexical_scores = np.array([bm25.get(pk, 0.0) for pk in candidates], dtype=np.float64)
        if mode == "dense":
            relevance = dense_scores
        elif mode == "lexical":
            relevance = lexical_scores
        else:
            relevance = alpha * z_scores(dense_scores) + (1 - alpha) * z_scores(lexical_scores)
        order = np.argsort(-relevance, kind="stable")[:limit]
        return [
            Hit(candidates[i], float(dense_scores[i]), float(lexical_scores[i]), float(relevance[i])) for i in order
        ]

    def _dense(self, vector: np.ndarray, n: int, filters: SearchFilters) -> list[tuple[int, float]]:
        """Exact search below EXACT_LIMIT incidents (faster and exact there), chromadb's HNSW above it."""
        if self.exact.count() <= self.exact_limit or not self.claim_index():
            allowed = np.fromiter(self.feed.pks_matching(filters), dtype=np.int64) if filters else None
            return self.exact.query(vector, n=n, allowed=allowed)
        # chromadb keeps a few columns as metadata: filter on those there, the rest on the records
        where = filters.indexed()
        index = self.index
        assert index is not None
        found = index.query(vector, n=n * (1 if filters.only_indexed() else 3), filters=where)
        if not filters.only_indexed():
            keep = self.feed.filter_pks([pk for pk, _ in found], filters)
            found = [hit for hit in found if hit[0] in keep][:n]
        return found

    def _lexical_pool(self, best: list[tuple[int, float]], filters: SearchFilters) -> dict[int, float]:
        found = dict(best)
        if filters and found:
            keep = self.feed.filter_pks(list(found), filters)
            found = {pk: v for pk, v in found.items() if pk in keep}
        return found

    def _exact_cosines(self, vector: np.ndarray, candidates: list[int], known: dict[int, float]) -> np.ndarray:
        missing = [pk for pk in candidates if pk not in known]
        exact = self.exact.cosines(vector, missing) if missing else {}
        stored = self.feed.vectors([pk for pk in missing if pk not in exact], model=self.embedder.model_id)
        exact.update({pk: float(np.dot(v, vector)) for pk, v in stored.items() if v.shape == vector.shape})
        return np.array([known.get(pk, exact.get(pk, 0.0)) for pk in candidates], dtype=np.float64)
