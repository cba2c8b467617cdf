"""The vector index: a chromadb collection fed from the record store's outbox. A rebuildable cache.

Collections are created with `embedding_function=None` (chromadb's default would download a model)
and cosine space, with HNSW settings raised above chromadb's defaults, whose recall is poor.
"""

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from agent_postmortem.store.private import private_dir

logger = logging.getLogger(__name__)

HNSW = {"space": "cosine", "ef_construction": 200, "ef_search": 200, "max_neighbors": 32}
MAX_BATCH = 5000  # chromadb 1.5.9 refuses batches above 5461
HTTP_TIMEOUT = 60.0  # seconds for one request to a Chroma server


def collection_name(model_id: str) -> str:
    return "incidents-" + hashlib.sha256(model_id.encode()).hexdigest()[:12]


def where_clause(filters: dict[str, Any]) -> dict[str, Any] | None:
    parts = [{k: v} for k, v in filters.items() if v is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


class VectorIndex:
    """One chromadb collection of incident vectors, keyed by incident primary key."""

    def __init__(self, client: Any, *, model_id: str, name: str | None = None) -> None:
        """`name`: the collection (default: the model's; a Chroma server keeps generations, see index_remote)."""
        self.client = client
        self.name = name or collection_name(model_id)
        self.collection = client.get_or_create_collection(
            self.name, embedding_function=None, configuration={"hnsw": HNSW}, metadata={"model_id": model_id}
        )

    def upsert(self, pks: Sequence[int], vectors: np.ndarray, metadatas: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(pks), MAX_BATCH):
            end = start + MAX_BATCH
            self.collection.upsert(
                ids=[str(p) for p in pks[start:end]],
                embeddings=vectors[start:end],
                metadatas=list(metadatas[start:end]),
            )

    def delete(self, pks: Sequence[int]) -> None:
        if pks:
            self.collection.delete(ids=[str(p) for p in pks])

    def query(self, vector: np.ndarray, *, n: int, filters: dict[str, Any] | None = None) -> list[tuple[int, float]]:
        """(pk, cosine similarity) best first."""
        if n <= 0 or self.count() == 0:
            return []
        result = self.collection.query(
            query_embeddings=vector.reshape(1, -1),
            n_results=n,
            where=where_clause(filters or {}),
            include=["distances"],
        )
        return [(int(i), 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def count(self) -> int:
        return int(self.collection.count())

    def ids(self) -> set[int]:
        got = self.collection.get(include=[])
        return {int(i) for i in got["ids"]}

    def close(self) -> None:
        """Let go of the directory (chromadb stops its system when the last client on a path closes)."""
        close_client(self.client)

    def reset(self) -> None:
        """Drop and recreate the collection (used by reindex)."""
        self.client.delete_collection(self.name)
        model_id = self.collection.metadata.get("model_id") if self.collection.metadata else None
        self.collection = self.client.get_or_create_collection(
            self.name, embedding_function=None, configuration={"hnsw": HNSW}, metadata={"model_id": model_id}
        )


def open_persistent(path: str) -> Any:
    import chromadb
    from chromadb.config import Settings

    private_dir(Path(path))  # chromadb would create it with the umask's mode
    return chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))


def open_remote(url: str, *, database: str, timeout: float = HTTP_TIMEOUT) -> Any:
    """A client of a Chroma server (`chroma run`) at `url`, on `database` (created when missing)."""
    import chromadb
    import httpx
    from chromadb.config import Settings

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:  # the URL never repeated:
        raise ValueError("POSTMORTEM_CHROMA_URL must be http(s)://host:port, without a user name or password")
    ssl = parts.scheme == "https"
    host, port = parts.hostname, parts.port or (443 if ssl else 8000)
    databases = f"{parts.scheme}://{parts.netloc}/api/v2/tenants/default_tenant/databases"
    with httpx.Client(timeout=timeout) as http:  # chromadb's own AdminClient cannot be closed
        if http.get(f"{databases}/{database}").status_code == 404:
            created = http.post(databases, json={"name": database})
            if created.status_code != 409:  # another replica created it first
                created.raise_for_status()
    # a fresh Settings per client: HttpClient writes the host and port into the one it is given
    client = chromadb.HttpClient(
        host=host, port=port, ssl=ssl, database=database, settings=Settings(anonymized_telemetry=False)
    )
    # chromadb's HTTP session has no timeout at all: a stalled server would hang the owner's thread forever
    for session in _http_sessions(client):
        session.timeout = httpx.Timeout(timeout)
    return client


def close_client(client: Any) -> None:
    """Close a chromadb client, and its HTTP sessions if it has any (chromadb 1.5.9 leaves them open). chromadb's Rust
    side closes its SQLite connections a moment after `close()` returns (2.6 ms idle), so a check right after this
    can still see chroma.sqlite3 open (tests/store/index/test_chroma.py waits for it)."""
    client.close()
    for session in _http_sessions(client):
        session.close()


def _http_sessions(client: Any) -> list[Any]:
    """The httpx sessions of a chromadb HttpClient and of its admin client (private attributes: none found if they
    move); none for the embedded client."""
    import httpx

    found = []
    for part in (client, getattr(client, "_admin_client", None)):
        session = getattr(getattr(part, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            found.append(session)
    return found
