"""`postmortem bench rebuild`: what recovering the vector index costs.

A home with N incidents (the seed incidents embedded by the bundled model, the rest synthetic rows made from their
sentences, by bulk SQL) is indexed, then timed: the child-process probe of the healthy index, the rebuild from the
stored vectors (child process, fresh directory, rename swap), and a server start on a broken index (probe fails,
rebuild, open). The reference, measured in the same run, is the bare cost of the same upserts into a fresh
collection in this process: the ratio is what the safety (a child, a fresh directory, reading from the records)
adds.
"""

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from agent_postmortem.cli.demo import SEED
from agent_postmortem.config import Settings
from agent_postmortem.evals.perf_corpus import bulk_insert_synthetic
from agent_postmortem.ingest.jsonl import read_incidents
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.index import health as index_health
from agent_postmortem.store.index.chroma import VectorIndex, open_persistent
from agent_postmortem.store.index.owner import IndexOwner


def run(incidents: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="postmortem-rebuild-") as folder:
        home = Path(folder) / "home"
        service = build_service(
            Settings.from_env({"POSTMORTEM_HOME": str(home), "POSTMORTEM_LLM": "none"}), claim_index=True
        )
        seeds = read_incidents(SEED)
        service.import_incidents(seeds)
        sentences = [s for r in seeds for s in (r.title, r.description or "") if len(s.split()) >= 4]
        bulk_insert_synthetic(service.store, incidents - service.store.count(), np.random.default_rng(7), sentences)
        knowledge, model = service.knowledge, service.knowledge.embedder.model_id
        knowledge.sync()
        assert knowledge.owner is not None and knowledge.index is not None
        rows = list(service.store.feed.index_rows(model=model))

        t = time.perf_counter()
        scratch = VectorIndex(open_persistent(str(Path(folder) / "reference")), model_id=model)
        scratch.upsert([r[0] for r in rows], np.vstack([r[1] for r in rows]), [r[2] for r in rows])
        reference_s = time.perf_counter() - t
        scratch.close()

        owner = knowledge.owner
        assert isinstance(owner, IndexOwner), "the benchmark measures the embedded index"
        path = owner.path
        t = time.perf_counter()
        probed = index_health.probe(path, model)
        probe_s = time.perf_counter() - t

        t = time.perf_counter()
        knowledge.index = knowledge.owner.rebuild(knowledge.index)
        rebuild_s = time.perf_counter() - t
        rebuilt = knowledge.index.count()

        knowledge.release_index()
        (path / "chroma.sqlite3").write_bytes(b"\x00not a database" * 1000)
        t = time.perf_counter()
        claimed = knowledge.claim_index()
        broken_start_s = time.perf_counter() - t
        assert knowledge.claimed is not None
        result = {
            "incidents": service.store.count(),
            "indexed_reference_in_process_s": round(reference_s, 2),
            "probe_healthy_s": round(probe_s, 2),
            "probe_found": len(probed.ids) if probed else None,
            "rebuild_s": round(rebuild_s, 2),
            "rebuild_over_reference": round(rebuild_s / reference_s, 2),
            "rebuilt_vectors": rebuilt,
            "start_on_broken_index_s": round(broken_start_s, 2),
            "start_on_broken_index_found": knowledge.claimed.found,
            "start_on_broken_index_rebuilt": knowledge.claimed.rebuilt and claimed,
            "index_equals_records": knowledge.index is not None
            and knowledge.index.ids() == service.store.feed.embedded_pks(model=model),
        }
        knowledge.release_index()
        shutil.rmtree(folder, ignore_errors=True)
        return result
