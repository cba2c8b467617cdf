"""Import: past incidents (with their timeline, analysis and action items) bulk-loaded as a capture stores one,
redacted and embedded in batches, without classification by neighbours (their novelty is history); exact duplicates
are skipped."""

from collections.abc import Callable, Iterable
from datetime import datetime

import numpy as np

from agent_postmortem.analysis.categorize import categorize
from agent_postmortem.analysis.classify import decide
from agent_postmortem.analysis.policy import TriagePolicy
from agent_postmortem.service.capture import new_incident
from agent_postmortem.service.results import ImportResult
from agent_postmortem.store.models import Analysis, SeedIncident, search_text
from agent_postmortem.store.records.incidents import IncidentStore
from agent_postmortem.store.records.rows import NewIncident, content_hash
from agent_postmortem.store.redact import redact_model
from agent_postmortem.store.search.knowledge import KnowledgeBase

IMPORT_BATCH = 512  # rows embedded and written per transaction: big enough for efficient embedding batches


class Importer:
    def __init__(
        self,
        *,
        store: IncidentStore,
        knowledge: KnowledgeBase,
        policy: TriagePolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.knowledge = knowledge
        self.policy = policy
        self.clock = clock

    def import_incidents(
        self,
        rows: Iterable[SeedIncident],
        *,
        batch: int = IMPORT_BATCH,
        progress: Callable[[int], None] = lambda n: None,
    ) -> ImportResult:
        """Bulk-load past incidents (with their timeline, analysis and action items); exact duplicates are skipped."""
        imported: list[str] = []
        skipped = 0
        chunk: list[SeedIncident] = []
        for row in [*rows, None]:
            if row is not None:
                chunk.append(row)
                if len(chunk) < batch:
                    continue
            new, dup = self._import_chunk(chunk)
            imported += new
            skipped += dup
            progress(len(chunk))
            chunk = []
        self.knowledge.sync()
        return ImportResult(imported=len(imported), skipped_duplicates=skipped, ids=imported)

    def _import_chunk(self, chunk: list[SeedIncident]) -> tuple[list[str], int]:
        redacted = [redact_model(r) for r in chunk]
        chunk = [r for r, _ in redacted]
        counts = [dict(c) for _, c in redacted]
        texts = [search_text(r) for r in chunk]
        hashes = [content_hash(t) for t in texts]
        known = self.store.existing_hashes(hashes)
        fresh = [i for i, h in enumerate(hashes) if h not in known and h not in hashes[:i]]
        if not fresh:
            return [], len(chunk)
        vectors = self.knowledge.embed_documents([texts[i] for i in fresh])
        model_id = self.knowledge.embedder.model_id
        new = [self._imported(chunk[i], vector, model_id, counts[i]) for i, vector in zip(fresh, vectors, strict=True)]
        return self.store.create_many(new), len(chunk) - len(fresh)

    def _imported(
        self, row: SeedIncident, vector: np.ndarray, model_id: str, redactions: dict[str, int]
    ) -> NewIncident:
        # past incidents: their novelty is history, and a category they carry is taken as recorded, unchecked
        picked = None if row.category is not None else categorize(row, [], vector=vector, model_id=model_id)
        decided = decide(row, [], novel=False, policy=self.policy, picked=picked)
        created = row.created_at or row.occurred_at or self.clock()
        incident = new_incident(row, decided, created_at=created).model_copy(
            update={
                "status": row.status,
                "resolved_at": row.resolved_at,
                "postmortem_completed": row.analysis is not None,
                "redactions": redactions,
            }
        )
        analysis = None
        if row.analysis is not None:
            analysis = Analysis(
                **row.analysis.model_dump(),
                determinism=row.determinism,
                generated_by="imported",
                state="accepted",
                created_at=row.resolved_at or created,
            )
        return NewIncident(incident, vector, model_id, row.timeline, analysis, row.action_items)
