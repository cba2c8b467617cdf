"""An index owner whose searches are exact does not hold the vector index: from `child_from` vectors, a child process
applies the outbox, and the owner's process never imports chromadb (whose HNSW graph, loaded by the process that
touches the collection, was 207 of the owner's 546 MB at 100k incidents)."""

import json
import subprocess
import sys
from pathlib import Path

from agent_postmortem.store.index import health
from agent_postmortem.store.search.onnx_embedding import INT8_MODEL_ID
from tests.processes import server_env

OWNER = """
import json, sys
from agent_postmortem.config import Settings
from agent_postmortem.service.runtime import build_service
from agent_postmortem.store.models import IncidentCreate

settings = Settings.from_env({"POSTMORTEM_HOME": sys.argv[1], "POSTMORTEM_LLM": "none"})
service = build_service(settings)
service.knowledge.child_from = int(sys.argv[2])
service.knowledge.claim_index()
for title in ("Fares API answered 429", "CRM sync wrote negative balances", "Agent deleted the staging bucket"):
    service.capture_incident(IncidentCreate(title=title))
service.knowledge.sync()  # what the index keeper does every second
stats = service.knowledge_stats()
found = {"owner": stats.index_owner, "indexed": stats.indexed, "pending": stats.index_pending}
found["chromadb_imported"] = "chromadb" in sys.modules
service.knowledge.release_index()
print(json.dumps(found))
"""


def _owner(home: Path, child_from: int) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", OWNER, str(home), str(child_from)],
        env=server_env(home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_an_owner_above_child_from_leaves_the_index_to_a_child_and_never_loads_chromadb(tmp_path: Path) -> None:
    home = tmp_path / "home"
    found = _owner(home, child_from=0)
    assert found == {"owner": True, "indexed": 3, "pending": 0, "chromadb_imported": False}
    probed = health.probe(home / "chroma", INT8_MODEL_ID)
    assert probed is not None and probed.readable and probed.ids == {1, 2, 3}  # the child's work, read back


def test_below_child_from_the_owner_keeps_the_index_open_itself(tmp_path: Path) -> None:
    found = _owner(tmp_path / "home", child_from=1_000_000)
    assert found == {"owner": True, "indexed": 3, "pending": 0, "chromadb_imported": True}
