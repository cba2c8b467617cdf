"""`postmortem bench perf`, the knowledge bases it searches: real query texts, the seed and AIID incidents imported
with precomputed vectors, and synthetic incidents made from them, written by bulk SQL up to each size."""

import os
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, insert, select

from agent_postmortem.config import Settings
from agent_postmortem.evals.retrieval import read_jsonl
from agent_postmortem.service.facade import PostmortemService
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import SeedIncident
from agent_postmortem.store.records import schema
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.records.rows import content_hash
from agent_postmortem.store.redact import redact
from agent_postmortem.store.search.embedding import Embedder, Kind

AIID = Path(os.environ.get("POSTMORTEM_AIID") or Path(__file__).resolve().parents[2] / "shared" / "data" / "aiid")
SEED = Path(__file__).resolve().parents[1] / "store" / "seed" / "incidents.jsonl"


NOISE = (0.3, 0.9)  # synthetic vector = normalise(base + sigma * N(0, I/d)), sigma uniform in this range


def pick_queries(data: Path, seeds: list[SeedIncident], n: int, rng: random.Random) -> list[str]:
    """Real query texts: the AIID development queries (news-report excerpts) and the seed incidents' titles."""
    pool = [q["text"][:2000] for q in read_jsonl(data / "queries_dev.jsonl")] + [s.title for s in seeds]
    return rng.sample(pool, min(n, len(pool)))


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentence_pool(rows: list[SeedIncident]) -> list[str]:
    """Every sentence of four words or more in the AIID texts: the material synthetic incidents are made of."""
    return [s for r in rows for s in _SENTENCE.split(r.description) if len(s.split()) >= 4]


def _first_sentence(text: str) -> str:
    return _SENTENCE.split(text.strip(), maxsplit=1)[0][:400]


class Precomputed:
    """An embedder answering from vectors computed earlier, so that loading a knowledge base times the store."""

    def __init__(self, model_id: str, dimension: int, table: dict[str, np.ndarray]) -> None:
        self.model_id = model_id
        self.dimension = dimension
        self.table = table | {redact(text): vector for text, vector in table.items()}  # what the service embeds

    def embed(self, texts: list[str], *, kind: Kind) -> np.ndarray:
        return np.vstack([self.table[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)


def bench_service(home: Path, embedder: Embedder, *, claim: bool = True) -> PostmortemService:
    settings = Settings.from_env({"POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none"})
    return build_service(settings, embedder=embedder, claim_index=claim)


def load_knowledge_base(
    service: PostmortemService,
    n: int,
    real: list[SeedIncident],
    vectors: dict[str, np.ndarray],
    rng: np.random.Generator,
    sentences: list[str],
) -> dict[str, Any]:
    """The real rows through `import_incidents` (vectors precomputed), the rest synthetic by bulk SQL, then the
    index sync (chromadb) and the BM25 build, each timed."""
    model = service.knowledge.embedder
    service.knowledge.embedder = Precomputed(model.model_id, model.dimension, vectors)
    t = time.perf_counter()
    try:
        imported = service.import_incidents(real[:n]).imported
    finally:
        service.knowledge.embedder = model
    import_s = time.perf_counter() - t
    synthetic = n - service.store.count()
    t = time.perf_counter()
    cosine_to_base = bulk_insert_synthetic(service.store, synthetic, rng, sentences)
    insert_s = time.perf_counter() - t
    kb = service.knowledge
    built = {}
    for name, cache in (("int8_vectors", kb.exact), ("bm25", kb.lexical)):
        t = time.perf_counter()
        cache.refresh(force=True)
        built[f"{name}_build_s"] = round(time.perf_counter() - t, 2)
        built[f"{name}_build_per_s"] = round(n / max(time.perf_counter() - t, 1e-9), 1)
        t = time.perf_counter()
        cache.save()
        built[f"{name}_save_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    synced = kb.sync() if kb.index is not None else 0  # only the owner fills chromadb
    sync_s = time.perf_counter() - t
    return {
        "real_rows": imported,
        "synthetic_rows": synthetic,
        "real_rows_import_s": round(import_s, 2),
        "import_without_embedding_per_s": round(imported / import_s, 1),
        "import_without_embedding_100k_extrapolated_s": round(100_000 * import_s / max(imported, 1), 1),
        "synthetic_bulk_insert_s": round(insert_s, 2),
        "synthetic_bulk_insert_per_s": round(synthetic / insert_s, 1) if synthetic else None,
        "synthetic_mean_cosine_to_base": cosine_to_base,
        "index_sync_rows": synced,
        "index_sync_s": round(sync_s, 2),
        "index_insert_per_s": round(synced / sync_s, 1) if synced else None,
        **built,
    }


def bulk_insert_synthetic(store: IncidentStore, n: int, rng: np.random.Generator, sentences: list[str]) -> float | None:
    """BENCHMARK SHORTCUT: inserts `n` synthetic incidents (and their outbox rows) straight into the SQLAlchemy tables
    in one transaction, because `IncidentStore.create` commits (and fsyncs) once per incident. Returns the mean
    cosine of the synthetic vectors to the real vectors they were made from."""
    if n <= 0:
        return None
    cosines: list[float] = []
    with store.engine.begin() as conn:
        templates = [dict(r._mapping) for r in conn.execute(select(schema.incidents).order_by(schema.incidents.c.pk))]
        start = int(conn.execute(select(func.max(schema.incidents.c.pk))).scalar_one()) + 1
        for chunk in synthetic_rows(templates, n, start, rng, sentences):
            rows, cosine = chunk
            cosines.append(cosine * len(rows))
            _insert_rows(conn, rows)
    return round(sum(cosines) / n, 4)


def _insert_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(schema.incidents), rows)
    conn.execute(insert(schema.index_outbox), [{"incident_pk": r["pk"], "op": "upsert"} for r in rows])


def synthetic_rows(
    templates: list[dict[str, Any]],
    n: int,
    start_pk: int,
    rng: np.random.Generator,
    sentences: list[str],
    chunk: int = 10_000,
) -> Iterator[tuple[list[dict[str, Any]], float]]:
    """Synthetic incidents made from real ones. Each picks a real incident (its base) at random and copies its columns
    (category, severity, status, agent, tool, dates); its vector is the base's vector plus Gaussian noise
    (sigma uniform in NOISE, per dimension sigma/sqrt(d)) renormalised to unit length; its title is the first 6-12
    words of a random AIID sentence and its description the base's first sentence followed by two random AIID
    sentences. Yields chunks of table rows with their mean cosine to the base."""
    base = np.vstack([np.frombuffer(t["embedding"], dtype=np.float32) for t in templates])
    firsts = [_first_sentence(t["body"].get("description") or t["title"]) for t in templates]
    dim = base.shape[1]
    for offset in range(0, n, chunk):
        m = min(chunk, n - offset)
        which = rng.integers(0, len(templates), m)
        sigma = rng.uniform(*NOISE, size=(m, 1)).astype(np.float32)
        noisy = base[which] + sigma * rng.standard_normal((m, dim), dtype=np.float32) / np.float32(np.sqrt(dim))
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        cosine = float(np.einsum("ij,ij->i", noisy, base[which]).mean())
        picks = rng.integers(0, len(sentences), (m, 3))
        lengths = rng.integers(6, 13, m)
        rows = []
        for i in range(m):
            pk = start_pk + offset + i
            template = templates[which[i]]
            title = " ".join(sentences[picks[i, 0]].split()[: lengths[i]])[:200]
            description = " ".join([firsts[which[i]], sentences[picks[i, 1]], sentences[picks[i, 2]]])
            body = {**template["body"], "description": description, "source_id": f"synthetic-{pk}"}
            parts = [title, description, body.get("error_type"), body.get("error_message")]
            text = "\n".join(p for p in [*parts, template["agent"], template["tool"]] if p)
            rows.append(
                {
                    **template,
                    "pk": pk,
                    "title": title,
                    "body": body,
                    "content_hash": content_hash(text),
                    "signature": None,
                    "occurrences": 1,
                    "last_seen_at": template["created_at"],
                    "embedding": noisy[i].tobytes(),
                }
            )
        yield rows, cosine
