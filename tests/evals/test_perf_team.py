"""`bench team` on a small knowledge base, against a real throwaway PostgreSQL cluster and a real Chroma server: the
records and vectors land there, both dense paths are measured with their recall, and nothing is left running. No
timing thresholds: the numbers come from the full benchmark."""

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from agent_postmortem.evals import postgres
from agent_postmortem.evals.perf_corpus import AIID
from agent_postmortem.evals.perf_team import run
from tests.factories import NO_POSTGRES, missing_tool

pytestmark = [pytest.mark.slow, pytest.mark.postgresql, pytest.mark.timeout(900)]

SIZE = 300


def _leftovers(root: Path) -> set[Path]:
    """The folders of a run: its PostgreSQL cluster, and its home with the Chroma server's data."""
    return {*root.glob("postmortem-pg-*"), *root.glob("postmortem-team-*")}


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    if not postgres.installed():
        missing_tool(NO_POSTGRES)
    if not (AIID / "incidents.jsonl").is_file():
        pytest.skip(f"the AIID data is not at {AIID}")
    # the run's folders go to a temporary directory of its own: other tests' clusters, started by other workers
    # meanwhile in the shared one, were taken for the run's own left behind (short: the cluster's socket is in it)
    own = Path(tempfile.mkdtemp(prefix="pm-team-"))
    own.chmod(0o711)  # run as root, the cluster is the postgres user's: it must get through to its own folder
    shared, tempfile.tempdir = tempfile.tempdir, str(own)
    stages: list[str] = []
    try:
        figures = run(size=SIZE, queries=12, progress=lambda stage, done, total: stages.append(stage))
    finally:
        tempfile.tempdir = shared
    assert not _leftovers(own), "the cluster or the Chroma server's data was left behind"
    own.rmdir()  # nothing else in it either
    assert {"records", "filling the Chroma server", "search", "memory"} <= set(stages)
    return figures


def test_the_result_is_json(result: dict[str, Any]) -> None:
    assert json.loads(json.dumps(result)) == result
    assert result["size"] == SIZE and result["queries"] == 12
    assert result["machine"]["versions"]["postgresql"].split(".")[0].isdigit()


def test_the_records_and_vectors_are_in_postgresql_and_on_the_chroma_server(result: dict[str, Any]) -> None:
    build = result["build"]
    assert build["records"] == build["chroma_vectors"] == SIZE
    assert build["index_owner"] == "RemoteIndexOwner"
    assert build["index_found_on_claim"] == "mismatch"  # an empty server, records with vectors: filled by the owner
    assert build["records_per_s"] > 0 and build["chroma_vectors_per_s"] > 0
    assert build["postgres_database_mb"] > 0 and build["chroma_disk_mb"] >= 0


def test_both_dense_paths_are_measured_against_exact(result: dict[str, Any]) -> None:
    search = result["search"]
    configured, hnsw = search["as_configured"], search["chroma_hnsw_path"]
    assert configured["dense"]["dense_path"].startswith("exact")
    assert configured["dense"]["recall_at_10_vs_exact_float32"] == 1.0
    assert hnsw["dense"]["dense_path"] == "chromadb HNSW"
    assert hnsw["dense"]["recall_at_10_vs_exact_float32"] >= 0.9
    for path in (configured, hnsw):
        assert 0 < path["end_to_end"]["p50_ms"] <= path["end_to_end"]["p95_ms"]
    assert search["chroma_index_alone"]["exact_numpy"]["recall_at_10"] == 1.0
    assert search["chroma_index_alone"]["index_n100"]["recall_at_10"] >= 0.9


def test_memory_of_the_replicas_and_the_chroma_server(result: dict[str, Any]) -> None:
    memory = result["memory"]
    owner, reader = memory["replica_owner"], memory["replica_reader"]
    for replica in (owner, reader):
        assert replica["peak_rss_mb"] >= replica["rss_mb_after_searches"] > 0
    assert owner["first_search_hits"] == reader["first_search_hits"] and owner["first_search_hits"]
    assert 0 < memory["chroma_server_after_search"]["rss_mb"] <= memory["chroma_server_at_end"]["peak_rss_mb"]


def test_without_the_index_the_server_stays_empty_and_the_replicas_search_alone() -> None:
    if not postgres.installed():
        missing_tool(NO_POSTGRES)
    if not (AIID / "incidents.jsonl").is_file():
        pytest.skip(f"the AIID data is not at {AIID}")
    stages: list[str] = []
    figures = run(size=SIZE, queries=6, index=False, progress=lambda stage, done, total: stages.append(stage))
    assert "filling the Chroma server" not in stages and "chroma_vectors" not in figures["build"]
    assert figures["build"]["records"] == SIZE
    assert set(figures["search"]) == {"as_configured"}
    assert figures["search"]["as_configured"]["dense"]["recall_at_10_vs_exact_float32"] == 1.0
    assert set(figures["memory"]) == {"replica_reader", "chroma_server_after_search", "chroma_server_at_end"}
